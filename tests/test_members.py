"""Members: create, read, update, erase, filters and pagination."""

from __future__ import annotations

import asyncio

from conftest import Tenant, problem
from scrm.kernel import Kernel
from scrm.schemas import MemberRef


async def test_create_read_update_erase(tenant: Tenant) -> None:
    created = await tenant.member(
        external_id="u-1",
        display_name="Li Wei",
        identities={"email": "li@example.com"},
        attributes={"city": "Shanghai", "visits": 3},
        tags=["vip", "new"],
    )
    assert created["status"] == "active"
    assert created["tags"] == ["new", "vip"]
    got = (await tenant.get(f"/api/v1/members/{created['id']}")).json()
    assert got == created
    by_ext = await tenant.get("/api/v1/members/by-external-id/u-1")
    assert by_ext.json()["id"] == created["id"]

    patched = await tenant.patch(
        f"/api/v1/members/{created['id']}",
        {
            "display_name": "Li W.",
            "status": "blocked",
            "attributes": {"visits": 4, "city": None, "tier": "gold"},
        },
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["display_name"] == "Li W."
    assert body["status"] == "blocked"
    assert body["attributes"] == {"visits": 4, "tier": "gold"}
    assert body["identities"] == {"email": "li@example.com"}
    assert body["updated_at"] > created["updated_at"]

    erased = await tenant.delete(f"/api/v1/members/{created['id']}")
    assert erased.status_code == 204
    after = (await tenant.get(f"/api/v1/members/{created['id']}")).json()
    assert after["status"] == "erased"
    assert after["external_id"] is None
    assert after["display_name"] == ""
    assert after["identities"] == {}
    assert after["attributes"] == {}
    assert after["tags"] == []
    problem(await tenant.delete(f"/api/v1/members/{created['id']}"), 404, "not-found")
    problem(await tenant.patch(f"/api/v1/members/{created['id']}", {"display_name": "x"}), 404, "not-found")


async def test_duplicate_external_id_is_409(tenant: Tenant) -> None:
    await tenant.member(external_id="dup")
    body = problem(await tenant.post("/api/v1/members", {"external_id": "dup"}), 409, "conflict")
    assert body["errors"][0]["field"] == "external_id"
    other = await tenant.member(external_id="dup-2")
    problem(await tenant.patch(f"/api/v1/members/{other['id']}", {"external_id": "dup"}), 409, "conflict")


async def test_external_id_is_per_workspace(tenant: Tenant, other: Tenant) -> None:
    await tenant.member(external_id="same")
    await other.member(external_id="same")


async def test_concurrent_creates_with_one_external_id(tenant: Tenant) -> None:
    responses = await asyncio.gather(
        *(tenant.post("/api/v1/members", {"external_id": "race", "display_name": f"n{i}"}) for i in range(2))
    )
    assert sorted(r.status_code for r in responses) == [201, 409]
    listing = (await tenant.get("/api/v1/members", params={"q": "race"})).json()
    assert len(listing["items"]) == 1


async def test_filters(tenant: Tenant) -> None:
    a = await tenant.member(external_id="f-a", display_name="Anna", attributes={"city": "Paris"}, tags=["vip", "tea"])
    b = await tenant.member(external_id="f-b", display_name="Ben", attributes={"city": "Berlin"}, tags=["vip"])
    c = await tenant.member(external_id="f-c", display_name="anne", attributes={"city": "Paris", "visits": 7})

    async def ids(**params: object) -> list[int]:
        response = await tenant.get("/api/v1/members", params=params)
        assert response.status_code == 200, response.text
        return [m["id"] for m in response.json()["items"]]

    assert await ids(tag="vip") == [a["id"], b["id"]]
    assert await ids(tag=["vip", "tea"]) == [a["id"]]
    assert await ids(tag="no-such-tag") == []
    assert await ids(attribute="city:Paris") == [a["id"], c["id"]]
    assert await ids(attribute=["city:Paris", "visits:7"]) == [c["id"]]
    assert await ids(attribute="city:Paris", tag="vip") == [a["id"]]
    assert await ids(q="ann") == [a["id"], c["id"]]
    assert await ids(q="f-b") == [b["id"]]
    await tenant.patch(f"/api/v1/members/{b['id']}", {"status": "blocked"})
    assert await ids(status="blocked") == [b["id"]]
    assert await ids(created_after=a["created_at"]) == [a["id"], b["id"], c["id"]]
    assert await ids(created_before=a["created_at"]) == []


async def test_q_finds_a_channel_identity(tenant: Tenant) -> None:
    a = await tenant.member(display_name="Ann", identities={"email": "ann@example.com", "phone": "+8613800000000"})
    b = await tenant.member(display_name="Bo", identities={"wecom": "ann@example.com"})
    await tenant.member(display_name="Cy", identities={"email": "cy@example.com"}, external_id="+8613800000000x")

    async def ids(q: str) -> list[int]:
        response = await tenant.get("/api/v1/members", params={"q": q})
        assert response.status_code == 200, response.text
        return [m["id"] for m in response.json()["items"]]

    assert await ids("ann@example.com") == [a["id"], b["id"]]  # under any channel
    assert await ids("+8613800000000") == [a["id"]]  # exact: neither a prefix of a value nor an external id
    assert await ids("ann@") == []
    assert await ids("email") == []  # a channel's name is not a value
    assert await ids('x" || @ == "y') == []  # the value cannot escape its quotes


async def test_pagination_is_stable_under_inserts(tenant: Tenant) -> None:
    first = [(await tenant.member(external_id=f"p-{i}"))["id"] for i in range(7)]
    seen: list[int] = []
    cursor = None
    inserted = []
    while True:
        params: dict[str, object] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await tenant.get("/api/v1/members", params=params)).json()
        seen += [m["id"] for m in page["items"]]
        # rows inserted between pages land after the cursor, never shift or repeat a page
        inserted.append((await tenant.member(external_id=f"p-new-{len(inserted)}"))["id"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen[: len(first)] == first
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen)


async def test_bad_cursor_and_limits(tenant: Tenant) -> None:
    problem(await tenant.get("/api/v1/members", params={"cursor": "not-a-cursor"}), 400, "invalid-cursor")
    problem(await tenant.get("/api/v1/tags", params={"group": "x" * 101}), 422, "validation-error")
    body = problem(await tenant.get("/api/v1/members", params={"limit": 0}), 422, "validation-error")
    assert body["errors"][0]["field"] == "limit"
    problem(await tenant.get("/api/v1/members", params={"limit": 501}), 422, "validation-error")
    problem(await tenant.get("/api/v1/members", params={"created_after": "yesterday"}), 422, "validation-error")
    problem(await tenant.get("/api/v1/members", params={"attribute": "no-colon"}), 422, "validation-error")
    problem(await tenant.get("/api/v1/members", params={"attribute": "bad key:1"}), 422, "validation-error")


async def test_tag_names_are_the_workspaces_own_sorted(kernel: Kernel, tenant: Tenant, other: Tenant) -> None:
    await tenant.member(tags=["zeta", "alpha"])
    await other.member(tags=["theirs"])
    assert await kernel.tags.names(await kernel.workspaces.ref(tenant.slug)) == ["alpha", "zeta"]


async def test_lookup_reads_members_by_either_reference_in_one_workspace(
    kernel: Kernel, tenant: Tenant, other: Tenant
) -> None:
    mine = await tenant.member(external_id="look-1", tags=["vip"])
    plain = await tenant.member(display_name="No external id")
    theirs = await other.member(external_id="look-2")
    ws = await kernel.workspaces.ref(tenant.slug)
    refs = [
        MemberRef(external_id="look-1"),
        MemberRef(member_id=theirs["id"]),
        MemberRef(member_id=plain["id"]),
        MemberRef(external_id="look-2"),
        MemberRef(member_id=mine["id"]),
        MemberRef(external_id="nobody"),
    ]
    found = await kernel.members.lookup(ws, refs)
    assert [m.id if m else None for m in found] == [mine["id"], None, plain["id"], None, mine["id"], None]
    assert found[0] == await kernel.members.get(ws, mine["id"])
    assert found[0] is not None
    assert found[0].tags == ["vip"]
    assert await kernel.members.lookup(ws, []) == []
