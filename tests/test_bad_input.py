"""Bad input on every write route (and the list parameters): a 4xx problem document naming the
field, never a 500, and nothing written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from conftest import FIRST_PARTY, Tenant, problem
from scrm.kernel import Kernel

BIG = 2**63  # one past the largest 64-bit id
HUGE = 10**30
LONG_ATTRIBUTES = {"blob": "x" * 16_400}
TOO_MANY_TAGS = [f"t{i}" for i in range(101)]
TABLES = ("scrm_workspace", "scrm_member", "scrm_tag", "scrm_member_tag", "scrm_api_key", "scrm_workspace_plugin")
CONSENT_TABLES = ("scrm_consent", "scrm_consent_chain", "scrm_consent_purpose")
CONSENT = {"external_id": "w-1", "purpose": "marketing.email", "status": "granted"}  # valid for the world's member
UNSET: Any = object()


@dataclass
class World:
    tenant: Tenant
    operator: str
    member: int
    key_id: int


@pytest.fixture
async def world(tenant: Tenant, operator_key: str) -> World:
    member = await tenant.member(
        external_id="w-1",
        display_name="Wendy",
        identities={"email": "w@example.com"},
        attributes={"a": 1},
        tags=["vip"],
    )
    await tenant.post("/api/v1/tags", {"name": "spare", "group": "g"})
    keys = (await tenant.get("/api/v1/keys")).json()
    return World(tenant=tenant, operator=operator_key, member=member["id"], key_id=keys[0]["id"])


async def snapshot(kernel: Kernel, tenant: Tenant) -> dict[str, Any]:
    """Row counts of every core table and the tenant's own rows, to compare before and after."""
    state: dict[str, Any] = {}
    for table in (*TABLES, *CONSENT_TABLES):
        state[table] = (await kernel.db.fetch(f"SELECT COUNT(*) AS n FROM {table}"))[0]["n"]
    state["workspace"] = await kernel.db.fetch("SELECT * FROM scrm_workspace WHERE id = {}", tenant.id)
    for table in (
        "scrm_member",
        "scrm_tag",
        "scrm_member_tag",
        "scrm_api_key",
        "scrm_workspace_plugin",
        *CONSENT_TABLES,
    ):
        state[f"{table}:rows"] = await kernel.db.fetch(
            f"SELECT * FROM {table} WHERE workspace = {{}} ORDER BY id", tenant.id
        )
    return state


async def send(
    world: World, method: str, path: str, json: Any = UNSET, content: bytes | None = None, operator: bool = False
) -> httpx.Response:
    key = world.operator if operator else world.tenant.key
    headers = world.tenant.headers(key)
    if operator:
        headers["X-Scrm-Workspace"] = world.tenant.slug
    path = path.format(member=world.member, slug=world.tenant.slug, key=world.key_id)
    kwargs: dict[str, Any] = {}
    if json is not UNSET:
        kwargs["json"] = json
    elif content is not None:
        kwargs["content"] = content
        headers["Content-Type"] = "application/json"
    response = await world.tenant.client.request(method, path, headers=headers, **kwargs)
    assert response.status_code < 500, response.text
    return response


# --- bodies -----------------------------------------------------------------------------------

# (method, path, operator key?, body, field the error names)
INVALID_BODIES = [
    # members
    ("POST", "/api/v1/members", False, {"external_id": "n", "nickname": "x"}, "nickname"),
    ("POST", "/api/v1/members", False, {"external_id": 5}, "external_id"),
    ("POST", "/api/v1/members", False, {"display_name": ["a"]}, "display_name"),
    ("POST", "/api/v1/members", False, {"status": "erased"}, "status"),
    ("POST", "/api/v1/members", False, {"external_id": ""}, "external_id"),
    ("POST", "/api/v1/members", False, {"external_id": "x" * 201}, "external_id"),
    ("POST", "/api/v1/members", False, {"display_name": "x" * 201}, "display_name"),
    ("POST", "/api/v1/members", False, {"tags": ["x" * 101]}, "tags[0]"),
    ("POST", "/api/v1/members", False, {"tags": ["ok", "has,comma"]}, "tags[1]"),
    ("POST", "/api/v1/members", False, {"tags": "vip"}, "tags"),
    ("POST", "/api/v1/members", False, {"tags": TOO_MANY_TAGS}, "tags"),
    ("POST", "/api/v1/members", False, {"attributes": LONG_ATTRIBUTES}, "attributes"),
    ("POST", "/api/v1/members", False, {"attributes": [1]}, "attributes"),
    ("POST", "/api/v1/members", False, {"identities": {"Email": "x@example.com"}}, "identities"),
    ("POST", "/api/v1/members", False, {"identities": {"email": 5}}, "identities[...]"),
    ("POST", "/api/v1/members", False, {"identities": {"email": "x" * 321}}, "identities[...]"),
    ("POST", "/api/v1/members", False, [], ""),
    ("POST", "/api/v1/members", False, "member", ""),
    ("PATCH", "/api/v1/members/{member}", False, {"nickname": "x"}, "nickname"),
    ("PATCH", "/api/v1/members/{member}", False, {"display_name": None}, "display_name"),
    ("PATCH", "/api/v1/members/{member}", False, {"external_id": "x" * 201}, "external_id"),
    ("PATCH", "/api/v1/members/{member}", False, {"display_name": "x" * 201}, "display_name"),
    ("PATCH", "/api/v1/members/{member}", False, {"status": "erased"}, "status"),
    ("PATCH", "/api/v1/members/{member}", False, {"attributes": LONG_ATTRIBUTES}, "attributes"),
    ("PATCH", "/api/v1/members/{member}", False, {"attributes": "a=1"}, "attributes"),
    ("PATCH", "/api/v1/members/{member}", False, {"identities": {"email": 1}}, "identities[...]"),
    ("PATCH", "/api/v1/members/{member}", False, {"tags": ["new"]}, "tags"),
    # member tags
    ("POST", "/api/v1/members/{member}/tags", False, {"tags": []}, "tags"),
    ("POST", "/api/v1/members/{member}/tags", False, {"tags": ["x" * 101]}, "tags[0]"),
    ("POST", "/api/v1/members/{member}/tags", False, {"tags": TOO_MANY_TAGS}, "tags"),
    ("POST", "/api/v1/members/{member}/tags", False, {"tags": "vip"}, "tags"),
    ("POST", "/api/v1/members/{member}/tags", False, {"tags": [" lead-space"]}, "tags[0]"),
    ("POST", "/api/v1/members/{member}/tags", False, {"tags": ["ok"], "extra": 1}, "extra"),
    ("POST", "/api/v1/members/{member}/tags", False, {}, "tags"),
    ("POST", "/api/v1/members/bulk-tags", False, {"member_ids": [BIG], "add": ["x"]}, "member_ids[0]"),
    ("POST", "/api/v1/members/bulk-tags", False, {"member_ids": [0], "add": ["x"]}, "member_ids[0]"),
    ("POST", "/api/v1/members/bulk-tags", False, {"member_ids": ["one"], "add": ["x"]}, "member_ids[0]"),
    ("POST", "/api/v1/members/bulk-tags", False, {"member_ids": [1.5], "add": ["x"]}, "member_ids[0]"),
    ("POST", "/api/v1/members/bulk-tags", False, {"member_ids": list(range(1, 1002)), "add": ["x"]}, "member_ids"),
    ("POST", "/api/v1/members/bulk-tags", False, {"external_ids": ["x" * 201], "add": ["x"]}, "external_ids[0]"),
    ("POST", "/api/v1/members/bulk-tags", False, {"external_ids": ["w-1"], "add": ["x" * 101]}, "add[0]"),
    ("POST", "/api/v1/members/bulk-tags", False, {"external_ids": ["w-1"], "add": TOO_MANY_TAGS}, "add"),
    ("POST", "/api/v1/members/bulk-tags", False, {"external_ids": ["w-1"], "remove": TOO_MANY_TAGS}, "remove"),
    ("POST", "/api/v1/members/bulk-tags", False, {"external_ids": ["w-1"], "tags": ["x"]}, "tags"),
    # tags
    ("POST", "/api/v1/tags", False, {"name": "x" * 101}, "name"),
    ("POST", "/api/v1/tags", False, {"name": ""}, "name"),
    ("POST", "/api/v1/tags", False, {"name": "a,b"}, "name"),
    ("POST", "/api/v1/tags", False, {"name": 7}, "name"),
    ("POST", "/api/v1/tags", False, {"name": "ok", "group": "g" * 101}, "group"),
    ("POST", "/api/v1/tags", False, {"name": "ok", "description": "d" * 2001}, "description"),
    ("POST", "/api/v1/tags", False, {"name": "ok", "colour": "red"}, "colour"),
    ("POST", "/api/v1/tags", False, {}, "name"),
    ("PATCH", "/api/v1/tags/vip", False, {"group": ""}, "group"),
    ("PATCH", "/api/v1/tags/vip", False, {"description": 5}, "description"),
    ("PATCH", "/api/v1/tags/vip", False, {"name": "renamed"}, "name"),
    # keys
    ("POST", "/api/v1/keys", False, {"scopes": []}, "scopes"),
    ("POST", "/api/v1/keys", False, {"scopes": "*"}, "scopes"),
    ("POST", "/api/v1/keys", False, {"scopes": ["members read"]}, "scopes[0]"),
    ("POST", "/api/v1/keys", False, {"scopes": ["members:read"], "name": "n" * 201}, "name"),
    ("POST", "/api/v1/keys", False, {"scopes": ["members:read"], "expires": "never"}, "expires"),
    ("POST", "/api/v1/keys", False, {"scopes": ["members:read"] * 101}, "scopes"),
    ("POST", "/api/v1/keys", False, {}, "scopes"),
    # plugins
    ("POST", "/api/v1/plugins", False, {"name": "testplugin"}, "enabled"),
    ("POST", "/api/v1/plugins", False, {"name": "testplugin", "enabled": "yes"}, "enabled"),
    ("POST", "/api/v1/plugins", False, {"name": "testplugin", "enabled": True, "settings": []}, "settings"),
    ("POST", "/api/v1/plugins", False, {"name": "testplugin", "enabled": True, "extra": 1}, "extra"),
    ("POST", "/api/v1/plugins", False, {"name": "p" * 101, "enabled": True}, "name"),
    # consents: one record names its fields, a batch names the item ([1].purpose); all or nothing
    ("POST", "/api/v1/consents", False, {**CONSENT, "status": "maybe"}, "status"),
    ("POST", "/api/v1/consents", False, {**CONSENT, "purpose": "Marketing"}, "purpose"),
    ("POST", "/api/v1/consents", False, {**CONSENT, "purpose": "no.such.purpose"}, "purpose"),
    ("POST", "/api/v1/consents", False, {**CONSENT, "external_id": "nobody"}, "external_id"),
    ("POST", "/api/v1/consents", False, {**CONSENT, "member_id": 1}, "member_id"),
    ("POST", "/api/v1/consents", False, {"member_id": BIG, "purpose": "profiling", "status": "granted"}, "member_id"),
    ("POST", "/api/v1/consents", False, {"member_id": 0, "purpose": "profiling", "status": "granted"}, "member_id"),
    ("POST", "/api/v1/consents", False, {"purpose": "profiling", "status": "granted"}, "member_id"),
    ("POST", "/api/v1/consents", False, {**CONSENT, "occurred_at": "2026-01-01T00:00:00"}, "occurred_at"),
    ("POST", "/api/v1/consents", False, {**CONSENT, "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
    ("POST", "/api/v1/consents", False, {**CONSENT, "occurred_at": "soon"}, "occurred_at"),
    ("POST", "/api/v1/consents", False, {**CONSENT, "evidence": LONG_ATTRIBUTES}, "evidence"),
    ("POST", "/api/v1/consents", False, {**CONSENT, "evidence": [1]}, "evidence"),
    ("POST", "/api/v1/consents", False, {**CONSENT, "source": ""}, "source"),
    ("POST", "/api/v1/consents", False, {**CONSENT, "policy_version": "v" * 65}, "policy_version"),
    ("POST", "/api/v1/consents", False, {**CONSENT, "seq": 1}, "seq"),
    ("POST", "/api/v1/consents", False, [CONSENT, {**CONSENT, "purpose": "no.such.purpose"}], "[1].purpose"),
    ("POST", "/api/v1/consents", False, [CONSENT, {**CONSENT, "external_id": "nobody"}], "[1].external_id"),
    ("POST", "/api/v1/consents", False, [CONSENT] * 1001, ""),
    ("POST", "/api/v1/consents", False, [], ""),
    ("POST", "/api/v1/consents", False, "consent", ""),
    ("POST", "/api/v1/consents/purposes", False, {"name": "Bad Name"}, "name"),
    ("POST", "/api/v1/consents/purposes", False, {"name": "x" * 65}, "name"),
    ("POST", "/api/v1/consents/purposes", False, {"name": "ok.name", "description": "d" * 2001}, "description"),
    ("POST", "/api/v1/consents/purposes", False, {"name": "ok.name", "extra": 1}, "extra"),
    ("POST", "/api/v1/consents/purposes", False, {}, "name"),
    # workspaces (operator)
    ("POST", "/api/v1/workspaces", True, {"slug": "Bad Slug", "name": "Bad"}, "slug"),
    ("POST", "/api/v1/workspaces", True, {"slug": "s" * 64, "name": "Long"}, "slug"),
    ("POST", "/api/v1/workspaces", True, {"slug": "fine-slug", "name": ""}, "name"),
    ("POST", "/api/v1/workspaces", True, {"slug": "fine-slug", "name": "n" * 201}, "name"),
    ("POST", "/api/v1/workspaces", True, {"slug": "fine-slug", "name": "N", "time_zone": "Mars/Base"}, "time_zone"),
    ("POST", "/api/v1/workspaces", True, {"slug": "fine-slug", "name": "N", "owner": "me"}, "owner"),
    ("POST", "/api/v1/workspaces", True, {"slug": "fine-slug"}, "name"),
    ("PATCH", "/api/v1/workspaces/{slug}", True, {"name": ""}, "name"),
    ("PATCH", "/api/v1/workspaces/{slug}", True, {"time_zone": "Nowhere/Town"}, "time_zone"),
    ("PATCH", "/api/v1/workspaces/{slug}", True, {"slug": "renamed"}, "slug"),
]


@pytest.mark.parametrize(
    ("method", "path", "operator", "body", "field"),
    INVALID_BODIES,
    ids=[f"{m} {p} {f or 'body'} {i}" for i, (m, p, _, _, f) in enumerate(INVALID_BODIES)],
)
async def test_invalid_body_is_422_naming_the_field(
    kernel: Kernel, world: World, method: str, path: str, operator: bool, body: Any, field: str
) -> None:
    before = await snapshot(kernel, world.tenant)
    response = await send(world, method, path, json=body, operator=operator)
    doc = problem(response, 422, "validation-error")
    assert doc["errors"], doc
    assert doc["errors"][0]["field"] == field, doc
    assert doc["errors"][0]["message"]
    assert await snapshot(kernel, world.tenant) == before


JSON_WRITES = [
    ("POST", "/api/v1/members", False),
    ("PATCH", "/api/v1/members/{member}", False),
    ("POST", "/api/v1/members/{member}/tags", False),
    ("POST", "/api/v1/members/bulk-tags", False),
    ("POST", "/api/v1/tags", False),
    ("PATCH", "/api/v1/tags/vip", False),
    ("POST", "/api/v1/keys", False),
    ("POST", "/api/v1/plugins", False),
    ("POST", "/api/v1/events", False),
    ("POST", "/api/v1/consents", False),
    ("POST", "/api/v1/consents/purposes", False),
    ("POST", "/api/v1/workspaces", True),
    ("PATCH", "/api/v1/workspaces/{slug}", True),
]
MALFORMED = [b'{"external_id": ', b"{'a': 1}", b"{,}", b'{"a": 1} trailing', b"\xff\xfe", b"nul"]


@pytest.mark.parametrize(("method", "path", "operator"), JSON_WRITES, ids=[f"{m} {p}" for m, p, _ in JSON_WRITES])
@pytest.mark.parametrize("body", MALFORMED, ids=range(len(MALFORMED)))
async def test_malformed_json_is_400(
    kernel: Kernel, world: World, method: str, path: str, operator: bool, body: bytes
) -> None:
    before = await snapshot(kernel, world.tenant)
    response = await send(world, method, path, content=body, operator=operator)
    problem(response, 400, "malformed-body")
    assert await snapshot(kernel, world.tenant) == before


@pytest.mark.parametrize(("method", "path", "operator"), JSON_WRITES, ids=[f"{m} {p}" for m, p, _ in JSON_WRITES])
async def test_empty_body_is_400(kernel: Kernel, world: World, method: str, path: str, operator: bool) -> None:
    before = await snapshot(kernel, world.tenant)
    response = await send(world, method, path, content=b"", operator=operator)
    doc = problem(response, 400, "malformed-body")
    assert "empty" in doc["detail"]
    assert await snapshot(kernel, world.tenant) == before


@pytest.mark.parametrize(("method", "path", "operator"), JSON_WRITES, ids=[f"{m} {p}" for m, p, _ in JSON_WRITES])
async def test_null_body_is_422(kernel: Kernel, world: World, method: str, path: str, operator: bool) -> None:
    before = await snapshot(kernel, world.tenant)
    response = await send(world, method, path, content=b"null", operator=operator)
    problem(response, 422, "validation-error")
    assert await snapshot(kernel, world.tenant) == before


# --- path parameters --------------------------------------------------------------------------

ID_ROUTES = [
    ("GET", "/api/v1/members/{id}", None),
    ("PATCH", "/api/v1/members/{id}", {"display_name": "x"}),
    ("DELETE", "/api/v1/members/{id}", None),
    ("GET", "/api/v1/members/{id}/tags", None),
    ("POST", "/api/v1/members/{id}/tags", {"tags": ["x"]}),
    ("DELETE", "/api/v1/members/{id}/tags/vip", None),
    ("DELETE", "/api/v1/keys/{id}", None),
    ("GET", "/api/v1/events/{id}", None),
    ("GET", "/api/v1/members/{id}/events", None),
    ("GET", "/api/v1/members/{id}/consents", None),
    ("GET", "/api/v1/members/{id}/can-contact?purpose=marketing.email", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ID_ROUTES, ids=[f"{m} {p}" for m, p, _ in ID_ROUTES])
@pytest.mark.parametrize("bad", [str(BIG), str(HUGE), "0", "-1"])
async def test_out_of_range_path_id_is_422(
    kernel: Kernel, world: World, method: str, path: str, body: Any, bad: str
) -> None:
    before = await snapshot(kernel, world.tenant)
    response = await send(world, method, path.replace("{id}", bad), json=body if body is not None else UNSET)
    doc = problem(response, 422, "validation-error")
    assert doc["errors"][0]["source"] == "path"
    assert doc["errors"][0]["field"] in ("member_id", "key_id", "event_id")
    assert await snapshot(kernel, world.tenant) == before


@pytest.mark.parametrize(("method", "path", "body"), ID_ROUTES, ids=[f"{m} {p}" for m, p, _ in ID_ROUTES])
@pytest.mark.parametrize("bad", ["abc", "1.5", "1e3", "0x10", "%20"])
async def test_non_integer_path_id_is_404(
    kernel: Kernel, world: World, method: str, path: str, body: Any, bad: str
) -> None:
    before = await snapshot(kernel, world.tenant)
    response = await send(world, method, path.replace("{id}", bad), json=body if body is not None else UNSET)
    assert response.status_code in (404, 405), response.text
    problem(response, response.status_code, "not-found" if response.status_code == 404 else "method-not-allowed")
    assert await snapshot(kernel, world.tenant) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/workspaces/{w}"),
        ("PATCH", "/api/v1/workspaces/{w}"),
        ("DELETE", "/api/v1/workspaces/{w}"),
    ],
)
@pytest.mark.parametrize("bad", [str(BIG), str(HUGE), "0", "no-such-workspace", "x" * 300])
async def test_unknown_workspace_in_path_is_404(kernel: Kernel, world: World, method: str, path: str, bad: str) -> None:
    before = await snapshot(kernel, world.tenant)
    body = {"name": "x"} if method == "PATCH" else UNSET
    response = await send(world, method, path.replace("{w}", bad), json=body, operator=True)
    problem(response, 404, "not-found")
    assert await snapshot(kernel, world.tenant) == before


@pytest.mark.parametrize("bad", [str(BIG), str(HUGE), "no-such-workspace", "x" * 300])
async def test_unknown_workspace_header_is_404(kernel: Kernel, world: World, bad: str) -> None:
    before = await snapshot(kernel, world.tenant)
    response = await world.tenant.client.post(
        "/api/v1/members",
        json={"external_id": "header"},
        headers={"Authorization": f"Bearer {world.operator}", "X-Scrm-Workspace": bad},
    )
    problem(response, 404, "not-found")
    assert await snapshot(kernel, world.tenant) == before


async def test_unknown_names_in_paths(kernel: Kernel, world: World) -> None:
    before = await snapshot(kernel, world.tenant)
    problem(await send(world, "PATCH", "/api/v1/tags/nope", json={"description": "d"}), 404, "not-found")
    problem(await send(world, "DELETE", "/api/v1/tags/nope"), 404, "not-found")
    problem(await send(world, "DELETE", "/api/v1/tags/" + "x" * 300), 404, "not-found")
    problem(await send(world, "GET", "/api/v1/members/by-external-id/" + "x" * 300), 404, "not-found")
    problem(await send(world, "DELETE", f"/api/v1/members/{BIG - 1}"), 404, "not-found")
    problem(await send(world, "DELETE", f"/api/v1/keys/{BIG - 1}"), 404, "not-found")
    doc = problem(
        await send(world, "POST", "/api/v1/plugins", json={"name": "nope", "enabled": True}), 404, "not-found"
    )
    assert doc["errors"][0]["field"] == "name"
    problem(
        await send(world, "POST", "/api/v1/members/bulk-tags", json={"member_ids": [BIG - 1], "add": ["x"]}),
        404,
        "not-found",
    )
    problem(
        await send(world, "POST", "/api/v1/members/bulk-tags", json={"external_ids": ["nobody"], "add": ["x"]}),
        404,
        "not-found",
    )
    assert await snapshot(kernel, world.tenant) == before


async def test_over_long_tag_name_in_path_removes_nothing(kernel: Kernel, world: World) -> None:
    before = await snapshot(kernel, world.tenant)
    response = await send(world, "DELETE", "/api/v1/members/{member}/tags/" + "x" * 300)
    assert response.status_code == 204, response.text  # removing a tag the member lacks is a no-op
    assert await snapshot(kernel, world.tenant) == before


# --- query parameters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"limit": str(HUGE)}, "limit"),
        ({"cursor": "c" * 201}, "cursor"),
        ({"status": "deleted"}, "status"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"q": ""}, "q"),
        ({"q": "q" * 321}, "q"),  # longer than any identity value
    ],
)
async def test_bad_list_parameters_are_422(world: World, params: dict[str, str], field: str) -> None:
    response = await world.tenant.get("/api/v1/members", params=params)
    doc = problem(response, 422, "validation-error")
    assert doc["errors"][0]["field"] == field
    assert doc["errors"][0]["source"] == "query"


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor", "", "eyJhZnRlciI6IDF9", "a.b", "x" * 200, "%00", "members.1.deadbeef"],
)
async def test_bad_cursor_is_400(world: World, cursor: str) -> None:
    response = await world.tenant.get("/api/v1/members", params={"cursor": cursor})
    if cursor == "":  # an empty cursor means the first page
        assert response.status_code == 200, response.text
        return
    problem(response, 400, "invalid-cursor")


def test_every_issued_cursor_is_accepted(kernel: Kernel) -> None:
    """A cursor's MAC is binary and may contain the separator byte; every cursor the server
    issues must decode back to its id (and only for its own listing)."""
    for last_id in [*range(1, 3_000), BIG - 1]:
        cursor = kernel.cursors.encode("members", last_id)
        assert kernel.cursors.decode("members", cursor) == last_id, (last_id, cursor)
    with pytest.raises(Exception, match="not one this server issued"):
        kernel.cursors.decode("tags", kernel.cursors.encode("members", 5))


async def test_cursor_from_another_workspace_or_tampered(world: World, other: Tenant) -> None:
    for i in range(3):
        await other.member(external_id=f"o-{i}")
    page = (await other.get("/api/v1/members", params={"limit": 1})).json()
    cursor = page["next_cursor"]
    assert cursor
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    problem(await other.get("/api/v1/members", params={"cursor": tampered}), 400, "invalid-cursor")
    # a valid cursor used in another workspace never reveals that workspace's members
    response = await world.tenant.get("/api/v1/members", params={"cursor": cursor})
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []  # the tenant's only member precedes the cursor's id


# --- the import route -------------------------------------------------------------------------


async def test_import_line_too_long_is_a_bad_row(kernel: Kernel, world: World) -> None:
    from scrm.services.importer import MAX_LINE_BYTES

    before = await snapshot(kernel, world.tenant)
    body = (
        b'{"external_id": "fine"}\n{"external_id": "'
        + b"x" * (MAX_LINE_BYTES + 10_000)
        + b'"}\n{"external_id": "also-fine"}\n{"external_id": "bad", "x": 1}\n'
    )

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    headers = world.tenant.headers(**{"Content-Type": "application/x-ndjson"})
    # streamed in pieces (the line is dropped as it arrives) or sent in one piece: the same report
    for content in (chunks(), body):
        response = await world.tenant.client.post("/api/v1/members/import", content=content, headers=headers)
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["rows"], result["created"], result["updated"]) == (4, 0, 0)
        assert result["failed_batches"] == [1]
        assert [(e["line"], e["field"]) for e in result["errors"]] == [(2, ""), (4, "x")]
        assert str(MAX_LINE_BYTES) in result["errors"][0]["message"]
        assert await snapshot(kernel, world.tenant) == before


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", ""])
async def test_import_wrong_content_type_is_415(kernel: Kernel, world: World, content_type: str) -> None:
    before = await snapshot(kernel, world.tenant)
    headers = world.tenant.headers()
    if content_type:
        headers["Content-Type"] = content_type
    response = await world.tenant.client.post(
        "/api/v1/members/import", content=b'{"external_id": "x"}\n', headers=headers
    )
    problem(response, 415, "unsupported-media-type")
    assert await snapshot(kernel, world.tenant) == before


# --- a sweep over every route -----------------------------------------------------------------

JUNK_BODIES: list[bytes] = [b"", b"{", b"[]", b'{"zzz": 1}', b"null", b'"text"', b"1e999", b"\x00\xff"]
JUNK_SEGMENTS = [str(HUGE), str(BIG), "abc", "x" * 300, "%25", "-1"]


def _api_routes(app: Any) -> list[tuple[str, str]]:
    routes = []
    for route in app.routes:
        if not route.path.startswith("/api/v1"):
            continue
        for method in sorted(route.methods):
            if method not in ("HEAD", "OPTIONS"):
                routes.append((method, route.path))
    return routes


async def test_no_route_answers_500_to_junk(kernel: Kernel, world: World, app: Any) -> None:
    import re

    routes = _api_routes(app)
    assert len(routes) >= 20
    before = await snapshot(kernel, world.tenant)
    checked = 0
    for method, template in routes:
        params = re.findall(r"\{[^}]+\}", template)
        fills = JUNK_SEGMENTS if params else [""]
        for segment in fills:
            path = template
            for param in params:
                path = path.replace(param, segment)
            bodies = JUNK_BODIES if method in ("POST", "PATCH", "PUT") else [b""]
            for body in bodies:
                for operator in (False, True):
                    key = world.operator if operator else world.tenant.key
                    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
                    if operator:
                        headers["X-Scrm-Workspace"] = world.tenant.slug
                    if template.endswith("/import"):
                        headers["Content-Type"] = "application/x-ndjson"
                    response = await world.tenant.client.request(method, path, content=body, headers=headers)
                    checked += 1
                    where = f"{method} {path[:80]} body={body[:20]!r} operator={operator}"
                    assert response.status_code < 500, f"{where}: {response.text}"
                    if response.status_code >= 400:
                        assert response.headers["content-type"].startswith("application/problem+json"), where
                        doc = response.json()
                        assert doc["type"].startswith("urn:scrm:problem:"), where
                        assert doc["status"] == response.status_code, where
    assert checked > 500
    after = await snapshot(kernel, world.tenant)
    # the sweep's only possible writes are import rows of junk bodies, which must all be rejected
    assert after == before


ABSENT_IDS = [2**31, 6612068358, 2**63 - 1]  # 64-bit ids no row has


async def test_absent_64_bit_ids_are_404_on_every_route(world: World, app: Any) -> None:
    """Ids are 64-bit everywhere, in plugin tables too: an id in range that no row has is a 404 (or a
    422 for a body that is not valid), never the database refusing a value its column cannot hold."""
    import re

    for name in FIRST_PARTY:
        await world.tenant.enable(name)
    not_found = 0
    for method, template in _api_routes(app):
        params = re.findall(r"\{[^}]+:int\}", template)
        if not params:
            continue
        for absent in ABSENT_IDS:
            path = template
            for param in params:
                path = path.replace(param, str(absent))
            path = re.sub(r"\{[^}]+\}", "x", path)  # any other segment: a name no row has
            response = await world.tenant.client.request(method, path, json={}, headers=world.tenant.headers())
            # 422: a body or a required query parameter that is not valid, checked before the id
            assert response.status_code in (404, 422), f"{method} {path}: {response.status_code} {response.text}"
            not_found += response.status_code == 404
    assert not_found > 30
