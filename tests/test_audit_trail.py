"""The audit trail: every write through the API (the core's and a plugin's routes), the console and the
CLI is recorded in its own transaction with who, what, when and from where; nothing is recorded for a
read or a refused write; records are hash-chained per workspace, racing writes form one chain, and
tampering with any record is named by ``GET /audit/verify`` and ``scrm audit verify`` (exit 1)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from conftest import Tenant, make_tenant, problem
from scrm.kernel import Kernel
from scrm.services.audit import AuditContext, begin, begin_batch, end, end_batch
from scrm.settings import Settings
from test_consents import run_cli

API = "/api/v1"


async def records(tenant: Tenant, **query: str) -> list[dict[str, Any]]:
    response = await tenant.get(f"{API}/audit", params={"limit": "200", **query})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def key_id(kernel: Kernel, tenant: Tenant) -> str:
    principal = await kernel.principal(tenant.key)
    assert principal is not None
    return str(principal.key_id)


async def test_a_write_is_recorded_with_who_what_and_where(kernel: Kernel, tenant: Tenant) -> None:
    created = await tenant.client.post(
        f"{API}/members",
        json={"external_id": "au-1", "display_name": "Secret Name", "identities": {"email": "au1@example.com"}},
        headers={**tenant.headers(), "User-Agent": "audit-test/1.0"},
    )
    assert created.status_code == 201, created.text
    mid = created.json()["id"]
    [record] = await records(tenant)
    assert record["action"] == "createMember"
    assert record["channel"] == "api"
    assert record["actor"] == {"kind": "api_key", "id": await key_id(kernel, tenant), "label": "test"}  # the key's name
    assert (record["target_type"], record["target_id"]) == ("member", str(mid))
    assert record["summary"]["fields"] == ["external_id", "display_name", "identities"]
    assert record["user_agent"] == "audit-test/1.0"
    assert record["address"]
    assert record["seq"] == 1
    # the trail holds no personal values: it outlives an erasure untouched
    text = json.dumps(record)
    assert "Secret Name" not in text
    assert "au1@example.com" not in text

    blocked = await tenant.patch(f"{API}/members/{mid}", {"status": "blocked", "display_name": "Other"})
    assert blocked.status_code == 200
    latest = (await records(tenant))[0]
    assert latest["action"] == "updateMember"
    assert latest["summary"] == {"changed": ["display_name", "status"], "status": ["active", "blocked"]}
    assert latest["prev_hash"] == record["hash"]


async def test_reads_and_refused_writes_are_not_recorded(tenant: Tenant) -> None:
    await tenant.get(f"{API}/members")
    problem(await tenant.post(f"{API}/members", {"external_id": ""}), 422, "validation-error")
    problem(await tenant.patch(f"{API}/members/999999999", {"display_name": "x"}), 404, "not-found")
    assert await records(tenant) == []


async def test_secrets_never_reach_the_trail(tenant: Tenant) -> None:
    response = await tenant.post(f"{API}/keys", {"scopes": ["members:read"], "name": "reader"})
    assert response.status_code == 201, response.text
    key = response.json()["key"]
    [record] = await records(tenant)
    assert record["action"] == "createKey"
    assert key not in json.dumps(record)


async def test_plugin_writes_are_recorded_by_the_same_layer(tenant: Tenant) -> None:
    """A plugin's route (the points check-in) is recorded without the plugin doing anything."""
    await tenant.enable("points")
    mid = (await tenant.member(external_id="au-pts"))["id"]
    checked = await tenant.post(f"{API}/points/checkins", {"member_id": mid})
    assert checked.status_code in (200, 201), checked.text
    actions = [r["action"] for r in await records(tenant)]
    assert actions[0] == "pointsCheckIn"
    assert "createMember" in actions


async def test_filters_cursor_and_isolation(kernel: Kernel, tenant: Tenant, other: Tenant) -> None:
    ids = [(await tenant.member(external_id=f"au-f{i}"))["id"] for i in range(3)]
    await tenant.patch(f"{API}/members/{ids[1]}", {"status": "blocked"})
    await other.member(external_id="au-other")
    assert [r["target_id"] for r in await records(tenant, target=f"member:{ids[1]}")] == [str(ids[1])] * 2
    assert len(await records(tenant, action="createMember")) == 3
    assert len(await records(tenant, actor=f"api_key:{await key_id(kernel, tenant)}")) == 4
    assert await records(tenant, actor="operator") == []
    first = await tenant.get(f"{API}/audit", params={"limit": "3"})
    assert [r["seq"] for r in first.json()["items"]] == [4, 3, 2]
    rest = await tenant.get(f"{API}/audit", params={"limit": "3", "cursor": first.json()["next_cursor"]})
    assert [r["seq"] for r in rest.json()["items"]] == [1]
    assert rest.json()["next_cursor"] is None
    # another workspace sees only its own chain
    assert [r["seq"] for r in await records(other)] == [1]
    problem(await tenant.get(f"{API}/audit", params={"cursor": "nonsense"}), 400, "invalid-cursor")
    problem(await tenant.get(f"{API}/audit", params={"since": "2026-01-01T00:00:00"}), 422, "validation-error")
    problem(await tenant.get(f"{API}/audit", params={"limit": "0"}), 422, "validation-error")
    reader = await tenant.new_key("members:read")
    problem(await tenant.get(f"{API}/audit", key=reader), 403, "missing-scope")
    problem(await tenant.get(f"{API}/audit/verify", key=reader), 403, "missing-scope")
    problem(await tenant.get(f"{API}/audit/export", key=reader), 403, "missing-scope")


async def test_export_as_ndjson_and_csv(tenant: Tenant) -> None:
    for i in range(3):
        await tenant.member(external_id=f"au-x{i}")
    ndjson = await tenant.get(f"{API}/audit/export")
    assert ndjson.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in ndjson.text.splitlines()]
    assert [r["seq"] for r in lines] == [1, 2, 3]
    as_csv = await tenant.get(f"{API}/audit/export", params={"format": "csv", "action": "createMember"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["seq"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["hash"] == lines[0]["hash"]
    problem(await tenant.get(f"{API}/audit/export", params={"format": "xml"}), 422, "validation-error")


async def test_racing_writes_form_one_chain(tenant: Tenant) -> None:
    responses = await asyncio.gather(*(tenant.post(f"{API}/members", {"external_id": f"race-{i}"}) for i in range(24)))
    assert all(r.status_code == 201 for r in responses)
    seqs = sorted(r["seq"] for r in await records(tenant))
    assert seqs == list(range(1, 25))
    report = (await tenant.get(f"{API}/audit/verify")).json()
    assert report["ok"] is True, report
    assert report["records"] == 24


@pytest.mark.parametrize("tamper", ["summary", "actor", "delete", "head"])
async def test_tampering_is_named_by_the_api_and_the_cli(
    kernel: Kernel, client: Any, settings: Settings, database_url: str, tamper: str
) -> None:
    tenant = await make_tenant(kernel, client, "tamper")
    for i in range(4):
        await tenant.member(external_id=f"t-{i}")
    rows = await kernel.db.fetch("SELECT id, seq FROM scrm_audit WHERE workspace = {} ORDER BY seq", tenant.id)
    target = rows[1]
    if tamper == "summary":
        await kernel.db.fetch("UPDATE scrm_audit SET summary = {} WHERE id = {}", '{"fields":[]}', target["id"])
    elif tamper == "actor":
        await kernel.db.fetch("UPDATE scrm_audit SET actor_id = 'someone-else' WHERE id = {}", target["id"])
    elif tamper == "delete":
        await kernel.db.fetch("DELETE FROM scrm_audit WHERE id = {}", target["id"])
    else:
        await kernel.db.fetch("DELETE FROM scrm_audit WHERE id = {}", rows[-1]["id"])
    report = (await tenant.get(f"{API}/audit/verify")).json()
    assert report["ok"] is False
    broken = report["broken"]
    if tamper in ("summary", "actor"):
        assert broken == {"seq": 2, "record_id": target["id"], "reason": "hash does not match its content"}
    elif tamper == "delete":
        assert broken == {"seq": 2, "record_id": None, "reason": "record 2 is missing"}
    else:
        assert broken["reason"] == "head says 4 records, trail has 3"
    result = await run_cli(settings, database_url, "audit", "verify", "--workspace", tenant.slug)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"seq {broken['seq']}" in result.stderr
    if broken["record_id"] is not None:
        assert f"(record {broken['record_id']})" in result.stderr


async def test_cli_verify_passes_on_a_sound_chain_and_cli_writes_are_recorded(
    kernel: Kernel, tenant: Tenant, settings: Settings, database_url: str
) -> None:
    await tenant.member(external_id="cli-ok")
    result = await run_cli(settings, database_url, "audit", "verify", "--workspace", tenant.slug)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"{tenant.slug}\tok\t1 records"), result.stdout
    created = await run_cli(settings, database_url, "workspaces", "create", "Audit CLI", "--slug", f"{tenant.slug}-cli")
    assert created.returncode == 0, created.stderr
    rows = await kernel.db.fetch(
        "SELECT channel, actor_kind, action FROM scrm_audit WHERE channel = 'cli' AND action = {}",
        "scrm workspaces create",
    )
    assert rows, "the CLI's write was not recorded"
    assert rows[-1]["actor_kind"] == "cli"


async def test_a_rolled_back_write_leaves_no_record(kernel: Kernel, tenant: Tenant) -> None:
    await tenant.member(external_id="dup")
    problem(await tenant.post(f"{API}/members", {"external_id": "dup"}), 409, "conflict")
    assert len(await records(tenant)) == 1


@contextmanager
def writing(context: AuditContext, *, batch: bool = False) -> Iterator[None]:
    """Code running as the request ``context`` is, or as a group commit's batch holding it."""
    if batch:
        batch_token = begin_batch([context])
        try:
            yield
        finally:
            end_batch(batch_token)
        return
    token = begin(context)
    try:
        yield
    finally:
        end(token)


async def test_appending_is_for_statements_outside_a_transaction(kernel: Kernel, tenant: Tenant) -> None:
    """``kernel.audit.appending`` hands a request's record to a one-statement write only outside a
    transaction (on PostgreSQL): inside one — a request's or a group commit batch's — the commit
    records the write, and a record carried by a statement too would be a second one."""
    await tenant.member(external_id="au-appending")  # this process has now seen the workspace's head
    for batch in (False, True):
        inside = AuditContext(channel="api", action="test", writes=True, workspace_id=tenant.id)
        with writing(inside, batch=batch):
            async with kernel.db.transaction():
                assert kernel.audit.appending(tenant.id, "true") is None
        assert inside.recorded == 1
    outside = AuditContext(channel="api", action="test", writes=True, workspace_id=tenant.id)
    with writing(outside):
        appending = kernel.audit.appending(tenant.id, "true")
    assert (appending is not None) == (kernel.db.dialect.name == "postgres")
    assert outside.recorded == 0  # nothing is counted until the statement ran (Audit.appended)
