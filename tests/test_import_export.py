"""Bulk import (NDJSON and CSV, streamed, batched) and export of members."""

from __future__ import annotations

import csv
import io
import json
import types
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import scrm
from conftest import Tenant, problem
from scrm.kernel import Kernel
from scrm.services import importer

NDJSON = "application/x-ndjson"
CSV = "text/csv"
PROFILE = ("external_id", "display_name", "status", "identities", "attributes", "tags")


def ndjson(*rows: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


async def upload(tenant: Tenant, body: Any, content_type: str = NDJSON) -> Any:
    return await tenant.client.post(
        "/api/v1/members/import",
        content=body,
        headers=tenant.headers(**{"Content-Type": content_type}),
    )


async def imported(tenant: Tenant, body: Any, content_type: str = NDJSON) -> dict[str, Any]:
    response = await upload(tenant, body, content_type)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def by_ext(tenant: Tenant, external_id: str) -> dict[str, Any]:
    response = await tenant.get(f"/api/v1/members/by-external-id/{external_id}")
    assert response.status_code == 200, response.text
    member: dict[str, Any] = response.json()
    return member


async def all_members(tenant: Tenant) -> list[dict[str, Any]]:
    members: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        response = await tenant.get("/api/v1/members", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        members += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return members


async def tag_names(tenant: Tenant) -> list[str]:
    return [t["name"] for t in (await tenant.get("/api/v1/tags")).json()]


def profile(member: dict[str, Any]) -> dict[str, Any]:
    return {k: member[k] for k in PROFILE}


# --- NDJSON -----------------------------------------------------------------------------------


async def test_ndjson_creates_then_updates(tenant: Tenant) -> None:
    result = await imported(
        tenant,
        ndjson(
            {"external_id": "n-1", "display_name": "Ann", "identities": {"email": "ann@example.com"}},
            {"external_id": "n-2", "display_name": "Bo", "attributes": {"city": "Paris", "visits": 2}, "tags": ["vip"]},
            {"external_id": "n-3", "status": "blocked"},
        ),
    )
    assert result == {
        "rows": 3,
        "created": 3,
        "updated": 0,
        "failed_rows": 0,
        "failed_batches": [],
        "errors": [],
        "errors_truncated": False,
    }
    n1, n2, n3 = [await by_ext(tenant, f"n-{i}") for i in (1, 2, 3)]
    assert profile(n1) == {
        "external_id": "n-1",
        "display_name": "Ann",
        "status": "active",
        "identities": {"email": "ann@example.com"},
        "attributes": {},
        "tags": [],
    }
    assert n2["attributes"] == {"city": "Paris", "visits": 2}
    assert n2["tags"] == ["vip"]
    assert n3["status"] == "blocked"
    assert n3["display_name"] == ""

    # second pass: one update, one create; fields left out keep what is stored
    result = await imported(
        tenant,
        ndjson(
            {"external_id": "n-2", "display_name": "Bo B.", "tags": ["tea"]},
            {"external_id": "n-4", "display_name": "Dee"},
        ),
    )
    assert (result["rows"], result["created"], result["updated"]) == (2, 1, 1)
    after = await by_ext(tenant, "n-2")
    assert after["id"] == n2["id"]
    assert after["display_name"] == "Bo B."
    assert after["attributes"] == {"city": "Paris", "visits": 2}
    assert after["identities"] == {}
    assert after["status"] == "active"
    assert after["tags"] == ["tea", "vip"]  # import adds tags, never removes them
    assert after["updated_at"] > n2["updated_at"]
    assert await by_ext(tenant, "n-1") == n1  # untouched rows are untouched
    assert len(await all_members(tenant)) == 4


async def test_upsert_replaces_only_given_fields(tenant: Tenant) -> None:
    member = await tenant.member(
        external_id="u-1",
        display_name="Original",
        status="blocked",
        identities={"email": "o@example.com", "phone": "+1"},
        attributes={"city": "Rome"},
        tags=["old"],
    )
    result = await imported(tenant, ndjson({"external_id": "u-1", "attributes": {"tier": "gold"}}))
    assert (result["created"], result["updated"]) == (0, 1)
    after = await by_ext(tenant, "u-1")
    assert after["id"] == member["id"]
    assert after["display_name"] == "Original"
    assert after["status"] == "blocked"
    assert after["identities"] == {"email": "o@example.com", "phone": "+1"}
    assert after["attributes"] == {"tier": "gold"}  # a given object replaces the stored one
    assert after["tags"] == ["old"]
    assert after["created_at"] == member["created_at"]

    # a row with only the external_id changes nothing but is still an update
    result = await imported(tenant, ndjson({"external_id": "u-1"}))
    assert (result["created"], result["updated"]) == (0, 1)
    again = await by_ext(tenant, "u-1")
    assert profile(again) == profile(after)


async def test_blank_lines_and_missing_final_newline(tenant: Tenant) -> None:
    body = b'\n{"external_id": "b-1"}\n\n  \n{"external_id": "b-2", "display_name": "Two"}'
    result = await imported(tenant, body)
    assert (result["rows"], result["created"], result["failed_rows"]) == (2, 2, 0)
    assert (await by_ext(tenant, "b-2"))["display_name"] == "Two"


async def test_repeated_external_id_in_one_file(tenant: Tenant) -> None:
    result = await imported(
        tenant,
        ndjson(
            {"external_id": "r-1", "display_name": "first", "attributes": {"n": 1}},
            {"external_id": "r-2"},
            {"external_id": "r-1", "display_name": "second"},
        ),
    )
    assert result["failed_rows"] == 0
    assert result["rows"] == 3
    assert result["created"] == 2
    members = await all_members(tenant)
    assert [m["external_id"] for m in members].count("r-1") == 1
    assert len(members) == 2
    assert (await by_ext(tenant, "r-1"))["display_name"] == "second"  # the later row wins


async def test_ndjson_bad_rows_are_reported_by_line_and_field(tenant: Tenant) -> None:
    await tenant.member(external_id="keep", display_name="Keep")
    body = (
        ndjson(
            {"external_id": "ok-1"},
            {"external_id": "x" * 201},
            {"external_id": "ok-2", "status": "gone"},
            {"external_id": "ok-3", "identities": {"email": ""}},
            {"external_id": "ok-4", "tags": ["has,comma"]},
            {"external_id": "ok-5", "attributes": {"blob": "x" * 17_000}},
            {"external_id": "keep", "display_name": "Changed"},
        )
        + b'{"external_id": "ok-6", \n{"display_name": "no id"}\n{"external_id": "ok-7", "nickname": "x"}\n'
    )
    result = await imported(tenant, body)
    assert result["created"] == 0
    assert result["updated"] == 0
    assert result["failed_batches"] == [1]
    assert result["rows"] == 10
    assert result["failed_rows"] == 8
    errors = {e["line"]: e for e in result["errors"]}
    assert sorted(errors) == [2, 3, 4, 5, 6, 8, 9, 10]
    assert errors[2]["field"] == "external_id"
    assert errors[3]["field"] == "status"
    assert errors[4]["field"] == "identities[...]"  # msgspec names no dict key in its message
    assert errors[5]["field"] == "tags[0]"
    assert errors[6]["field"] == "attributes"
    assert errors[9]["field"] == "external_id"
    assert errors[10]["field"] == "nickname"
    assert all(e["message"] for e in result["errors"])
    # nothing from the batch was written: not the good rows, not the update
    assert [m["external_id"] for m in await all_members(tenant)] == ["keep"]
    assert (await by_ext(tenant, "keep"))["display_name"] == "Keep"


async def test_bad_row_fails_only_its_own_batch(tenant: Tenant) -> None:
    size = importer.BATCH_SIZE
    total = size + 500
    bad_line = size + 7  # in the second batch
    rows = [
        {"external_id": f"big-{i:05d}", "display_name": f"Member {i}", "tags": ["bulk"] if i % 2 else []}
        for i in range(1, total + 1)
    ]
    rows[bad_line - 1] = {"external_id": f"big-{bad_line:05d}", "display_name": 42}
    result = await imported(tenant, ndjson(*rows))
    assert result["rows"] == total
    assert result["created"] == size
    assert result["updated"] == 0
    assert result["failed_batches"] == [2]
    assert result["failed_rows"] == 1
    assert result["errors"] == [{"line": bad_line, "field": "display_name", "message": result["errors"][0]["message"]}]
    members = await all_members(tenant)
    assert [m["external_id"] for m in members] == [f"big-{i:05d}" for i in range(1, size + 1)]
    tag = (await tenant.get("/api/v1/tags/bulk")).json()
    assert tag["member_count"] == size // 2

    # the first batch failing and the second succeeding is the mirror image
    rows[bad_line - 1] = {"external_id": f"big-{bad_line:05d}"}
    rows[0] = {"external_id": "big-00001", "unknown": True}
    result = await imported(tenant, ndjson(*rows))
    assert result["failed_batches"] == [1]
    assert (result["created"], result["updated"]) == (total - size, 0)
    assert [(e["line"], e["field"]) for e in result["errors"]] == [(1, "unknown")]
    assert len(await all_members(tenant)) == total


async def test_body_streamed_in_odd_chunks(tenant: Tenant) -> None:
    rows = [
        {"external_id": f"s-{i}", "display_name": f"Stream é {i}", "attributes": {"note": "ü" * (i % 7)}}
        for i in range(1, 301)
    ]
    body = ndjson(*rows)

    async def chunks() -> AsyncIterator[bytes]:
        sizes = [1, 7, 13, 64, 3, 1000, 2]
        offset = 0
        n = 0
        while offset < len(body):
            size = sizes[n % len(sizes)]
            yield body[offset : offset + size]  # splits lines and multi-byte characters
            offset += size
            n += 1

    result = await imported(tenant, chunks())
    assert (result["rows"], result["created"], result["failed_rows"]) == (300, 300, 0)
    member = await by_ext(tenant, "s-299")
    assert member["display_name"] == "Stream é 299"
    assert member["attributes"] == {"note": "ü" * (299 % 7)}


async def test_import_with_a_tagging_row_creates_the_tags(tenant: Tenant) -> None:
    result = await imported(tenant, ndjson({"external_id": "t-1", "tags": ["alpha", "beta"]}, {"external_id": "t-2"}))
    assert result["created"] == 2
    assert await tag_names(tenant) == ["alpha", "beta"]
    assert (await by_ext(tenant, "t-2"))["tags"] == []


# --- content types ----------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "multipart/form-data; boundary=x"])
async def test_wrong_content_type_is_415(tenant: Tenant, content_type: str) -> None:
    body = problem(await upload(tenant, ndjson({"external_id": "w-1"}), content_type), 415, "unsupported-media-type")
    assert content_type.split(";")[0] in body["detail"]
    assert await all_members(tenant) == []


async def test_missing_content_type_is_415(tenant: Tenant) -> None:
    response = await tenant.client.post(
        "/api/v1/members/import", content=ndjson({"external_id": "w-1"}), headers=tenant.headers()
    )
    problem(response, 415, "unsupported-media-type")
    assert await all_members(tenant) == []


@pytest.mark.parametrize(
    "content_type", ["application/ndjson", "application/jsonl", "Application/X-NDJSON; charset=utf-8"]
)
async def test_ndjson_aliases(tenant: Tenant, content_type: str) -> None:
    result = await imported(tenant, ndjson({"external_id": "alias"}), content_type)
    assert result["created"] == 1


async def test_import_needs_members_write(tenant: Tenant) -> None:
    key = await tenant.new_key("members:read")
    response = await tenant.client.post(
        "/api/v1/members/import",
        content=ndjson({"external_id": "nope"}),
        headers=tenant.headers(key, **{"Content-Type": NDJSON}),
    )
    problem(response, 403, "missing-scope")
    assert await all_members(tenant) == []


# --- CSV --------------------------------------------------------------------------------------


async def test_csv_columns(tenant: Tenant) -> None:
    body = (
        b"external_id,display_name,status,tags,identity.email,identity.phone,attr.city,identities,attributes\n"
        b'c-1,Ann,active,vip|tea,ann@example.com,+1555,Paris,,"{""visits"": 3, ""vip"": true}"\n'
        b'c-2,Bo,blocked, espresso | ,,,,"{""wecom"": ""bo-w""}",\n'
        b"c-3,,,,,,,,\n"
    )
    result = await imported(tenant, body, CSV)
    assert (result["rows"], result["created"], result["failed_rows"]) == (3, 3, 0), result
    c1, c2, c3 = [await by_ext(tenant, f"c-{i}") for i in (1, 2, 3)]
    assert profile(c1) == {
        "external_id": "c-1",
        "display_name": "Ann",
        "status": "active",
        "identities": {"email": "ann@example.com", "phone": "+1555"},
        "attributes": {"city": "Paris", "visits": 3, "vip": True},
        "tags": ["tea", "vip"],
    }
    assert profile(c2) == {
        "external_id": "c-2",
        "display_name": "Bo",
        "status": "blocked",
        "identities": {"wecom": "bo-w"},
        "attributes": {},
        "tags": ["espresso"],
    }
    assert profile(c3) == {
        "external_id": "c-3",
        "display_name": "",
        "status": "active",
        "identities": {},
        "attributes": {},
        "tags": [],
    }
    assert await tag_names(tenant) == ["espresso", "tea", "vip"]

    # an empty cell means "not given": the stored value stays
    result = await imported(tenant, b"external_id,display_name,attr.city\nc-1,,Rome\n", CSV)
    assert (result["created"], result["updated"]) == (0, 1)
    after = await by_ext(tenant, "c-1")
    assert after["display_name"] == "Ann"
    assert after["attributes"] == {"city": "Rome"}
    assert after["identities"] == c1["identities"]
    assert after["tags"] == ["tea", "vip"]


async def test_csv_quoted_fields_with_commas_and_newlines(tenant: Tenant) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["external_id", "display_name", "attr.note"])
    writer.writerow(["q-1", "Smith, Anna", 'said "hi"\nthen left,\nquickly'])
    writer.writerow(["q-2", "Line\r\nBreak", "plain"])
    writer.writerow(["q-3", "", ""])
    body = "\ufeff" + out.getvalue()  # with a byte-order mark, as spreadsheet programs write
    result = await imported(tenant, body.encode(), CSV)
    assert (result["rows"], result["created"], result["failed_rows"]) == (3, 3, 0), result
    q1 = await by_ext(tenant, "q-1")
    assert q1["display_name"] == "Smith, Anna"
    assert q1["attributes"] == {"note": 'said "hi"\nthen left,\nquickly'}
    q2 = await by_ext(tenant, "q-2")
    assert "Line" in q2["display_name"]
    assert "Break" in q2["display_name"]
    assert q2["attributes"] == {"note": "plain"}


async def test_csv_without_external_id_header_is_422(tenant: Tenant) -> None:
    response = await upload(tenant, b"id,display_name\n1,Ann\n", CSV)
    problem(response, 422, "csv-header")
    assert await all_members(tenant) == []


async def test_csv_bad_rows_are_reported_by_line_and_field(tenant: Tenant) -> None:
    body = (
        "external_id,display_name,status,tags,identities\n"  # line 1
        "ok-1,Fine,,,\n"  # line 2
        '"ok-2","multi\nline",wrong,,\n'  # lines 3-4: bad status, reported at its first line
        "ok-3,Too,many,cells,here,!\n"  # line 5
        f"ok-4,{'n' * 201},,,\n"  # line 6
        ",Nobody,,,\n"  # line 7: no external_id
        'ok-5,,,,"{""email"": 5}"\n'  # line 8
    ).encode()
    result = await imported(tenant, body, CSV)
    assert result["created"] == 0
    assert result["failed_batches"] == [1]
    errors = {e["line"]: e["field"] for e in result["errors"]}
    assert errors == {3: "status", 5: "", 6: "display_name", 7: "external_id", 8: "identities[...]"}
    assert result["failed_rows"] == 5
    assert await all_members(tenant) == []


async def test_csv_not_utf8_is_a_bad_row(tenant: Tenant) -> None:
    body = "external_id,display_name\nok-1,Ann\nok-2,Bj\xf6rn\n".encode("latin-1")
    result = await imported(tenant, body, CSV)
    assert result["created"] == 0
    assert [e["line"] for e in result["errors"]] == [3]
    assert await all_members(tenant) == []


async def test_csv_repeated_external_id(tenant: Tenant) -> None:
    result = await imported(tenant, b"external_id,display_name\nd-1,One\nd-1,Two\n", CSV)
    assert result["failed_rows"] == 0
    assert result["created"] == 1
    assert [m["display_name"] for m in await all_members(tenant)] == ["Two"]


# --- export -----------------------------------------------------------------------------------


async def seed_for_export(tenant: Tenant) -> list[dict[str, Any]]:
    await tenant.member(
        external_id="e-1",
        display_name="Smith, Anna",
        identities={"email": "anna@example.com"},
        attributes={"city": "Paris", "note": 'multi\nline "quoted"', "visits": 3, "vip": True, "x": None},
        tags=["vip", "tea"],
    )
    await tenant.member(external_id="e-2", display_name="Bo", status="blocked")
    await tenant.member(external_id="e-3", display_name="Chloé 陈", attributes={"nested": {"a": [1, 2]}}, tags=["vip"])
    result = await imported(tenant, ndjson(*({"external_id": f"e-bulk-{i}", "tags": ["bulk"]} for i in range(40))))
    assert result["created"] == 40
    return await all_members(tenant)


async def export(tenant: Tenant, fmt: str) -> Any:
    response = await tenant.get("/api/v1/members/export", params={"format": fmt})
    assert response.status_code == 200, response.text
    return response


async def test_export_ndjson(tenant: Tenant, other: Tenant) -> None:
    members = await seed_for_export(tenant)
    await other.member(external_id="e-1", display_name="Other workspace")
    response = await export(tenant, "ndjson")
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = response.text.splitlines()
    assert [json.loads(line) for line in lines] == members  # every member, in id order, as the API shows them
    assert [m["id"] for m in members] == sorted(m["id"] for m in members)
    assert len(members) == 43
    default = await tenant.get("/api/v1/members/export")
    assert default.text == response.text


async def test_export_csv(tenant: Tenant) -> None:
    members = await seed_for_export(tenant)
    response = await export(tenant, "csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == importer.EXPORT_COLUMNS
    assert [int(r["id"]) for r in rows] == [m["id"] for m in members]
    for row, member in zip(rows, members, strict=True):
        assert row["external_id"] == member["external_id"]
        assert row["display_name"] == member["display_name"]
        assert row["status"] == member["status"]
        assert row["tags"] == "|".join(member["tags"])
        assert json.loads(row["identities"]) == member["identities"]
        assert json.loads(row["attributes"]) == member["attributes"]


async def test_export_empty_workspace(tenant: Tenant) -> None:
    assert (await export(tenant, "ndjson")).text == ""
    assert (await export(tenant, "csv")).text.splitlines() == [",".join(importer.EXPORT_COLUMNS)]


async def test_export_bad_format_and_scope(tenant: Tenant) -> None:
    body = problem(await tenant.get("/api/v1/members/export", params={"format": "xml"}), 422, "validation-error")
    assert body["errors"][0]["field"] == "format"
    key = await tenant.new_key("tags:read")
    problem(await tenant.get("/api/v1/members/export", key=key), 403, "missing-scope")


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
async def test_export_import_round_trip(tenant: Tenant, other: Tenant, fmt: str) -> None:
    members = await seed_for_export(tenant)
    file = (await export(tenant, fmt)).content
    result = await imported(other, file, NDJSON if fmt == "ndjson" else CSV)
    assert result["failed_rows"] == 0, result["errors"][:3]
    assert (result["rows"], result["created"], result["updated"]) == (len(members), len(members), 0)
    copies = await all_members(other)
    assert [profile(m) for m in copies] == [profile(m) for m in members]
    assert await tag_names(other) == await tag_names(tenant)
    # importing the same export again is an update of everything and changes nothing
    again = await imported(other, file, NDJSON if fmt == "ndjson" else CSV)
    assert (again["created"], again["updated"]) == (0, len(members))
    assert [profile(m) for m in await all_members(other)] == [profile(m) for m in members]


async def test_export_of_a_large_workspace_is_complete(tenant: Tenant) -> None:
    total = 2_345  # more than one export batch
    result = await imported(tenant, ndjson(*({"external_id": f"L-{i}"} for i in range(total))))
    assert result["created"] == total
    lines = (await export(tenant, "ndjson")).text.splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    assert len(ids) == total
    assert ids == sorted(ids)
    assert [json.loads(line)["external_id"] for line in lines] == [f"L-{i}" for i in range(total)]


# --- isolation --------------------------------------------------------------------------------


async def test_import_never_touches_another_workspace(tenant: Tenant, other: Tenant) -> None:
    theirs = await other.member(external_id="shared", display_name="Theirs", attributes={"city": "Oslo"}, tags=["b"])
    result = await imported(
        tenant,
        ndjson({"external_id": "shared", "display_name": "Mine", "attributes": {"city": "Lima"}, "tags": ["a"]}),
    )
    assert (result["created"], result["updated"]) == (1, 0)
    mine = await by_ext(tenant, "shared")
    assert mine["id"] != theirs["id"]
    assert profile(mine)["tags"] == ["a"]
    assert await by_ext(other, "shared") == theirs
    assert await tag_names(other) == ["b"]
    assert await tag_names(tenant) == ["a"]

    result = await imported(tenant, b"external_id,display_name\nshared,Mine again\n", CSV)
    assert (result["created"], result["updated"]) == (0, 1)
    assert await by_ext(other, "shared") == theirs
    assert [m["id"] for m in await all_members(other)] == [theirs["id"]]
    exported = [json.loads(line) for line in (await export(other, "ndjson")).text.splitlines()]
    assert exported == [theirs]


@pytest.fixture
def spy(kernel: Kernel) -> Iterator[list[tuple[str, Any]]]:
    """A throwaway plugin recording the domain hooks an import calls, registered for one test."""
    calls: list[tuple[str, Any]] = []
    module = types.ModuleType("scrm_spy_plugin")
    module.scrm_manifest = scrm.hookimpl(lambda: scrm.Manifest(name="spy", version="1"))  # type: ignore[attr-defined]

    @scrm.hookimpl
    def scrm_member_updated(member: dict[str, Any], changed: list[str]) -> None:
        calls.append(("updated", (member["external_id"], changed)))

    @scrm.hookimpl
    def scrm_tags_changed(member_id: int, added: list[str], removed: list[str]) -> None:
        calls.append(("tags", (member_id, sorted(added), removed)))

    module.scrm_member_updated = scrm_member_updated  # type: ignore[attr-defined]
    module.scrm_tags_changed = scrm_tags_changed  # type: ignore[attr-defined]
    kernel.plugins.register(module)
    try:
        yield calls
    finally:
        kernel.plugins.unregister("spy")
        kernel.forget_cached()


async def test_import_calls_update_and_tag_hooks(tenant: Tenant, spy: list[tuple[str, Any]]) -> None:
    enabled = await tenant.post("/api/v1/plugins", {"name": "spy", "enabled": True})
    assert enabled.status_code == 200, enabled.text
    existing = await tenant.member(external_id="h-1", display_name="Old", tags=["a"])
    spy.clear()
    body = b'{"external_id":"h-1","display_name":"New","tags":["a","b"]}\n{"external_id":"h-2"}\n'
    assert (await imported(tenant, body))["updated"] == 1
    assert ("updated", ("h-1", ["display_name"])) in spy
    assert ("tags", (existing["id"], ["b"], [])) in spy  # only the tag actually added
    assert [c for c in spy if c[0] == "updated" and c[1][0] == "h-2"] == []
