"""The consent ledger: purposes, appending grants and withdrawals (one or a batch, all or nothing), a
member's current state and history, ``can_contact`` with plugin vetoes, the ``scrm_consent_changed``
hook and ``consent.*`` events, concurrent appends forming one chain, and tampering that ``verify`` (API
and ``scrm consent verify``) names."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import scrm
from conftest import Tenant, make_tenant, problem
from litestar import Litestar
from scrm.kernel import Kernel
from scrm.schemas import ConsentIn
from scrm.services.consents import DEFAULT_PURPOSES, GENESIS_HASH, canonical, record_hash
from scrm.settings import Settings

API = "/api/v1"
EMAIL = "marketing.email"
SMS = "marketing.sms"
_plugins = itertools.count(1)
SCRIPT = Path(sys.executable).with_name("scrm")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "scrm.cli"]


def grant(member_id: int, purpose: str = EMAIL, status: str = "granted", **extra: Any) -> dict[str, Any]:
    return {"member_id": member_id, "purpose": purpose, "status": status, **extra}


async def append(tenant: Tenant, body: Any) -> Any:
    response = await tenant.post(f"{API}/consents", body)
    assert response.status_code == 201, response.text
    return response.json()


async def verify(tenant: Tenant) -> dict[str, Any]:
    response = await tenant.get(f"{API}/consents/verify")
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


async def decide(tenant: Tenant, member_id: int, purpose: str = EMAIL) -> tuple[bool, str | None]:
    response = await tenant.get(f"{API}/members/{member_id}/can-contact", params={"purpose": purpose})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["member_id"], body["purpose"]) == (member_id, purpose)
    return body["allowed"], body["reason"]


async def counts(kernel: Kernel, tenant: Tenant) -> dict[str, Any]:
    """The tenant's ledger, chain head, purposes and consent events, to compare before and after."""
    return {
        "consents": await kernel.db.fetch("SELECT * FROM scrm_consent WHERE workspace = {} ORDER BY seq", tenant.id),
        "head": await kernel.db.fetch("SELECT seq, hash FROM scrm_consent_chain WHERE workspace = {}", tenant.id),
        "purposes": await kernel.db.fetch(
            "SELECT name FROM scrm_consent_purpose WHERE workspace = {} ORDER BY name", tenant.id
        ),
        "events": await kernel.db.fetch(
            "SELECT id FROM scrm_event WHERE workspace = {} AND type LIKE 'consent.%' ORDER BY id", tenant.id
        ),
    }


async def enable(tenant: Tenant, name: str) -> None:
    response = await tenant.post(f"{API}/plugins", {"name": name, "enabled": True})
    assert response.status_code == 200, response.text


# --- purposes ---------------------------------------------------------------------------------


async def test_a_new_workspace_has_the_default_purposes(tenant: Tenant) -> None:
    response = await tenant.get(f"{API}/consents/purposes")
    assert response.status_code == 200, response.text
    assert {p["name"]: p["description"] for p in response.json()} == DEFAULT_PURPOSES
    assert [p["name"] for p in response.json()] == sorted(DEFAULT_PURPOSES)


async def test_operators_add_purposes(kernel: Kernel, tenant: Tenant, other: Tenant) -> None:
    created = await tenant.post(f"{API}/consents/purposes", {"name": "surveys.phone", "description": "Survey calls"})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "surveys.phone"
    assert created.json()["description"] == "Survey calls"
    names = [p["name"] for p in (await tenant.get(f"{API}/consents/purposes")).json()]
    assert "surveys.phone" in names
    before = await counts(kernel, tenant)
    doc = problem(await tenant.post(f"{API}/consents/purposes", {"name": "surveys.phone"}), 409, "conflict")
    assert doc["errors"][0]["field"] == "name"
    for bad in ("Surveys", "surveys..phone", "x" * 65, "", "1abc"):
        doc = problem(await tenant.post(f"{API}/consents/purposes", {"name": bad}), 422, "validation-error")
        assert doc["errors"][0]["field"] == "name"
    assert await counts(kernel, tenant) == before
    # another workspace has its own registry
    assert "surveys.phone" not in [p["name"] for p in (await other.get(f"{API}/consents/purposes")).json()]
    member = await tenant.member(external_id="survey")
    record = await append(tenant, grant(member["id"], "surveys.phone"))
    assert record["purpose"] == "surveys.phone"


# --- appending and reading --------------------------------------------------------------------


async def test_grant_withdraw_and_read_back(kernel: Kernel, tenant: Tenant) -> None:
    member = await tenant.member(external_id="ann")
    mid = member["id"]
    assert (await verify(tenant)) == {"ok": True, "records": 0, "head_hash": GENESIS_HASH, "broken": None}

    occurred = "2026-01-02T03:04:05.123456+08:00"
    first = await append(
        tenant,
        grant(
            mid,
            source="signup-form",
            policy_version="2026-01",
            evidence={"form": "注册", "checkbox": True, "n": 1.5},
            occurred_at=occurred,
        ),
    )
    assert first["seq"] == 1
    assert first["member_id"] == mid
    assert (first["purpose"], first["status"], first["source"], first["policy_version"]) == (
        EMAIL,
        "granted",
        "signup-form",
        "2026-01",
    )
    assert first["evidence"] == {"form": "注册", "checkbox": True, "n": 1.5}
    assert datetime.fromisoformat(first["occurred_at"]) == datetime.fromisoformat(occurred)
    assert first["prev_hash"] == GENESIS_HASH
    assert len(first["hash"]) == 64

    batch = await append(
        tenant,
        [
            {"external_id": "ann", "purpose": SMS, "status": "granted"},
            grant(mid, EMAIL, "withdrawn", source="unsubscribe-link"),
        ],
    )
    items = batch["items"]
    assert [r["seq"] for r in items] == [2, 3]
    assert items[0]["prev_hash"] == first["hash"]
    assert items[1]["prev_hash"] == items[0]["hash"]
    assert items[0]["source"] == "api"  # the default
    now = datetime.now(UTC)
    assert abs(datetime.fromisoformat(items[0]["occurred_at"]) - now) < timedelta(minutes=1)

    state = (await tenant.get(f"{API}/members/{mid}/consents")).json()
    assert state["member_id"] == mid
    assert [r["id"] for r in state["history"]] == [first["id"], items[0]["id"], items[1]["id"]]
    assert state["history"][0] == first
    assert [(r["purpose"], r["status"]) for r in state["current"]] == [(EMAIL, "withdrawn"), (SMS, "granted")]

    # the stored row hashes to what the API said, from its canonical content
    row = (await kernel.db.fetch("SELECT * FROM scrm_consent WHERE id = {}", first["id"]))[0]
    assert row["evidence"] == '{"checkbox":true,"form":"注册","n":1.5}'
    content = canonical(
        workspace=tenant.id,
        seq=1,
        member=mid,
        purpose=EMAIL,
        status="granted",
        source="signup-form",
        policy_version="2026-01",
        evidence=first["evidence"],
        occurred_at=datetime.fromisoformat(occurred),
        recorded_at=datetime.fromisoformat(first["recorded_at"]),
        prev_hash=GENESIS_HASH,
    )
    assert b'"occurred_at":"2026-01-01T19:04:05.123456Z"' in content
    assert record_hash(content) == first["hash"]

    report = await verify(tenant)
    assert report == {"ok": True, "records": 3, "head_hash": items[1]["hash"], "broken": None}


async def test_a_member_with_no_records_and_unknown_members(tenant: Tenant, other: Tenant) -> None:
    member = await tenant.member(external_id="quiet")
    state = (await tenant.get(f"{API}/members/{member['id']}/consents")).json()
    assert state == {"member_id": member["id"], "current": [], "history": []}
    problem(await tenant.get(f"{API}/members/{2**62}/consents"), 404, "not-found")
    theirs = await other.member(external_id="theirs")
    problem(await tenant.get(f"{API}/members/{theirs['id']}/consents"), 404, "not-found")
    problem(await tenant.get(f"{API}/members/{theirs['id']}/can-contact", params={"purpose": EMAIL}), 404, "not-found")


async def test_history_outlives_erasure_and_the_workspace_does_not(kernel: Kernel, client: Any) -> None:
    tenant = await make_tenant(kernel, client, "erase")
    member = await tenant.member(external_id="gone")
    await append(tenant, grant(member["id"]))
    assert (await tenant.delete(f"{API}/members/{member['id']}")).status_code == 204
    history = (await tenant.get(f"{API}/members/{member['id']}/consents")).json()["history"]
    assert [r["status"] for r in history] == ["granted"]  # the proof stays
    assert (await verify(tenant))["ok"] is True
    # but no new record for an erased member
    doc = problem(
        await tenant.post(f"{API}/consents", grant(member["id"], status="withdrawn")), 422, "validation-error"
    )
    assert doc["errors"][0]["field"] == "member_id"
    await kernel.workspaces.delete(tenant.slug)
    for table in ("scrm_consent", "scrm_consent_chain", "scrm_consent_purpose"):
        rows = await kernel.db.fetch(f"SELECT COUNT(*) AS n FROM {table} WHERE workspace = {{}}", tenant.id)
        assert rows[0]["n"] == 0, table


def test_no_route_changes_or_deletes_a_record(app: Litestar) -> None:
    for route in app.routes:
        if "consent" in route.path:
            methods = {m for h in route.route_handlers for m in h.http_methods} - {"OPTIONS", "HEAD"}  # type: ignore[union-attr]
            assert methods <= {"GET", "POST"}, (route.path, methods)
            if "POST" in methods:
                # appending records (also from the console's member page), adding purposes (also on
                # the console's consent page)
                assert route.path in (
                    f"{API}/consents",
                    f"{API}/consents/purposes",
                    "/console/w/{workspace:str}/consent/purposes",
                    "/console/w/{workspace:str}/members/{member_id:int}/consent",
                ), route.path


# --- can_contact ------------------------------------------------------------------------------


async def test_can_contact_truth_table(kernel: Kernel, tenant: Tenant) -> None:
    ws = await kernel.workspaces.ref(tenant.id)
    member = await tenant.member(external_id="tt")
    mid = member["id"]

    assert await decide(tenant, mid) == (False, "no consent recorded")
    await append(tenant, grant(mid))
    assert await decide(tenant, mid) == (True, None)
    assert await kernel.consents.can_contact(ws, mid, EMAIL) is True
    assert await decide(tenant, mid, SMS) == (False, "no consent recorded")  # per purpose

    await append(tenant, grant(mid, status="withdrawn"))
    assert await decide(tenant, mid) == (False, "consent withdrawn")
    assert await kernel.consents.can_contact(ws, mid, EMAIL) is False
    await append(tenant, grant(mid))
    assert await decide(tenant, mid) == (True, None)

    # an old grant arriving late is still the latest record: the ledger's order is the order of appends
    await append(tenant, grant(mid, status="withdrawn"))
    await append(tenant, grant(mid, occurred_at="2020-01-01T00:00:00Z"))
    assert await decide(tenant, mid) == (True, None)

    assert (await tenant.patch(f"{API}/members/{mid}", {"status": "blocked"})).status_code == 200
    assert await decide(tenant, mid) == (False, "the member is blocked")
    assert (await tenant.patch(f"{API}/members/{mid}", {"status": "active"})).status_code == 200
    assert await decide(tenant, mid) == (True, None)

    assert (await tenant.delete(f"{API}/members/{mid}")).status_code == 204
    assert await decide(tenant, mid) == (False, "the member is erased")
    assert await kernel.consents.can_contact(ws, mid, EMAIL) is False


async def test_can_contact_rejects_unknown_purposes(kernel: Kernel, tenant: Tenant) -> None:
    member = await tenant.member(external_id="pp")
    for params in ({"purpose": "nope.nope"}, {"purpose": "x" * 65}, {"purpose": ""}, {}):
        response = await tenant.get(f"{API}/members/{member['id']}/can-contact", params=params)
        problem(response, 422, "validation-error")
    with pytest.raises(scrm.ValidationFailed):
        await kernel.consents.can_contact(await kernel.workspaces.ref(tenant.id), member["id"], "nope")


async def test_a_plugin_can_veto(kernel: Kernel, tenant: Tenant, other: Tenant, plugin: Callable[..., str]) -> None:
    asked: list[tuple[int, int, str]] = []

    def scrm_can_contact(workspace: scrm.WorkspaceRef, member_id: int, purpose: str) -> str | None:
        asked.append((workspace.id, member_id, purpose))
        return "quiet hours" if purpose == SMS else None

    async def failing(purpose: str) -> str | None:
        if purpose == "profiling":
            raise RuntimeError("boom")
        return None

    name = plugin(scrm_can_contact=scrm_can_contact)
    broken = plugin(scrm_can_contact=failing)
    member = await tenant.member(external_id="veto")
    mid = member["id"]
    await append(tenant, [grant(mid, EMAIL), grant(mid, SMS), grant(mid, "profiling")])

    # not enabled here: no veto, not asked
    assert await decide(tenant, mid, SMS) == (True, None)
    assert asked == []

    await enable(tenant, name)
    assert await decide(tenant, mid, SMS) == (False, "quiet hours")
    assert await decide(tenant, mid, EMAIL) == (True, None)
    assert asked == [(tenant.id, mid, SMS), (tenant.id, mid, EMAIL)]
    # asked only when the member holds a current grant
    await append(tenant, grant(mid, EMAIL, "withdrawn"))
    assert await decide(tenant, mid, EMAIL) == (False, "consent withdrawn")
    assert len(asked) == 2

    # a plugin that fails answers no (the door stays shut), and the error is logged
    await enable(tenant, broken)
    assert await decide(tenant, mid, "profiling") == (False, "a plugin's check failed")

    # enabled in one workspace only
    theirs = await other.member(external_id="veto")
    await append(other, grant(theirs["id"], SMS))
    assert await decide(other, theirs["id"], SMS) == (True, None)


# --- refusals, counted -----------------------------------------------------------------------


async def test_can_contact_counts_each_refusal_and_decide_does_not(
    kernel: Kernel, tenant: Tenant, other: Tenant
) -> None:
    ws = await kernel.workspaces.ref(tenant.id)
    mid = (await tenant.member(external_id="counted"))["id"]
    await append(tenant, grant(mid, SMS))
    assert await kernel.consents.can_contact(ws, mid, EMAIL, channel="email") is False
    assert await kernel.consents.can_contact(ws, mid, EMAIL) is False
    assert await kernel.consents.can_contact(ws, mid, SMS, channel="sms") is True  # allowed: nothing counted
    await append(tenant, grant(mid, SMS, "withdrawn"))
    assert await kernel.consents.can_contact(ws, mid, SMS, channel="sms") is False
    assert (await kernel.consents.decide(ws, mid, EMAIL)).allowed is False  # a question, not an attempt
    assert await decide(tenant, mid) == (False, "no consent recorded")  # nor is the REST question
    assert await kernel.consents.refusals.totals(ws) == [
        scrm.RefusalCount(EMAIL, "", "no consent recorded", 1),
        scrm.RefusalCount(EMAIL, "email", "no consent recorded", 1),
        scrm.RefusalCount(SMS, "sms", "consent withdrawn", 1),
    ]
    # the period is in whole UTC days; another workspace sees none of it
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert await kernel.consents.refusals.totals(ws, since=tomorrow) == []
    assert len(await kernel.consents.refusals.totals(ws, until=datetime.now(UTC))) == 3
    assert await kernel.consents.refusals.totals(await kernel.workspaces.ref(other.id)) == []
    # deleting the workspace deletes its counters
    await kernel.workspaces.delete(tenant.slug)
    assert await kernel.db.fetch("SELECT id FROM scrm_contact_refusal WHERE workspace = {}", tenant.id) == []


async def test_contact_attempts_through_the_api_are_counted(kernel: Kernel, tenant: Tenant, other: Tenant) -> None:
    ws = await kernel.workspaces.ref(tenant.id)
    mid = (await tenant.member(external_id="app-user"))["id"]
    await append(tenant, grant(mid, SMS))
    url = f"{API}/members/{mid}/contact-attempts"
    refused = await tenant.post(url, {"purpose": EMAIL, "channel": "app-push"})
    assert refused.status_code == 200, refused.text
    assert refused.json() == {"member_id": mid, "purpose": EMAIL, "allowed": False, "reason": "no consent recorded"}
    allowed = await tenant.post(url, {"purpose": SMS})
    assert allowed.json()["allowed"] is True
    assert await kernel.consents.refusals.totals(ws) == [scrm.RefusalCount(EMAIL, "app-push", "no consent recorded", 1)]
    # an attempt is not a change: the trail does not grow with the traffic
    actions = [r["action"] for r in (await tenant.get(f"{API}/audit")).json()["items"]]
    assert "attemptContact" not in actions
    # a reading key may ask; bad input is a 422 naming the field; another workspace's member is a 404
    reader = await tenant.new_key("consent:read")
    assert (await tenant.post(url, {"purpose": EMAIL}, key=reader)).status_code == 200
    problem(await tenant.post(url, {"purpose": EMAIL}, key=await tenant.new_key("members:read")), 403, "missing-scope")
    for body, field in (
        ({"purpose": "nope.nope"}, "purpose"),
        ({"purpose": "Bad Purpose"}, "purpose"),
        ({"purpose": EMAIL, "channel": "x" * 33}, "channel"),
        ({"purpose": EMAIL, "extra": 1}, "extra"),
        ({}, "purpose"),
    ):
        document = problem(await tenant.post(url, body), 422, "validation-error")
        assert field in {e["field"] for e in document["errors"]}, document
    problem(await other.post(url, {"purpose": EMAIL}), 404, "not-found")
    assert await kernel.consents.refusals.totals(await kernel.workspaces.ref(other.id)) == []
    assert sum(r.count for r in await kernel.consents.refusals.totals(ws)) == 2


async def test_concurrent_refusals_are_all_counted(kernel: Kernel, tenant: Tenant) -> None:
    ws = await kernel.workspaces.ref(tenant.id)
    members = [(await tenant.member(external_id=f"r{i}"))["id"] for i in range(5)]
    answers = await asyncio.gather(
        *(kernel.consents.can_contact(ws, members[i % 5], EMAIL, channel="email") for i in range(40))
    )
    assert answers == [False] * 40
    assert await kernel.consents.refusals.totals(ws) == [scrm.RefusalCount(EMAIL, "email", "no consent recorded", 40)]
    rows = await kernel.db.fetch("SELECT refused FROM scrm_contact_refusal WHERE workspace = {}", ws.id)
    assert [int(r["refused"]) for r in rows] == [40]  # one counter row, not one row per attempt


async def test_contacts_are_checked_against_the_ledger_as_it_stood(
    kernel: Kernel, tenant: Tenant, other: Tenant
) -> None:
    ws = await kernel.workspaces.ref(tenant.id)
    mid = (await tenant.member(external_id="checked"))["id"]
    before = datetime.now(UTC) - timedelta(seconds=1)
    granted = await append(tenant, grant(mid))
    during = datetime.fromisoformat(granted["recorded_at"]) + timedelta(microseconds=1)
    withdrawn = await append(tenant, grant(mid, status="withdrawn"))
    after = datetime.fromisoformat(withdrawn["recorded_at"]) + timedelta(microseconds=1)
    stranger = (await other.member(external_id="checked"))["id"]
    contacts = [
        scrm.Contact(mid, EMAIL, before),  # before the grant
        scrm.Contact(mid, EMAIL, during),  # while it held
        scrm.Contact(mid, SMS, during),  # another purpose
        scrm.Contact(mid, EMAIL, after),  # after the withdrawal
        scrm.Contact(stranger, EMAIL, during),  # not a member here
    ]
    assert await kernel.consents.without_consent(ws, contacts) == [contacts[0], contacts[2], contacts[3], contacts[4]]
    assert await kernel.consents.without_consent(ws, [contacts[1]]) == []


# --- the hook and the events ------------------------------------------------------------------


async def test_consent_changed_hook_and_events(kernel: Kernel, tenant: Tenant, plugin: Callable[..., str]) -> None:
    calls: list[dict[str, Any]] = []

    async def scrm_consent_changed(
        workspace: scrm.WorkspaceRef, member_id: int, purpose: str, consent: dict[str, Any]
    ) -> None:
        calls.append({"workspace": workspace.id, "member_id": member_id, "purpose": purpose, **consent})

    name = plugin(scrm_consent_changed=scrm_consent_changed)
    await enable(tenant, name)
    member = await tenant.member(external_id="hooked")
    mid = member["id"]
    first = await append(tenant, grant(mid, policy_version="v1"))
    batch = await append(tenant, [grant(mid, status="withdrawn"), grant(mid, SMS)])
    assert [(c["purpose"], c["status"], c["previous_status"]) for c in calls] == [
        (EMAIL, "granted", None),
        (EMAIL, "withdrawn", "granted"),
        (SMS, "granted", None),
    ]
    assert calls[0]["workspace"] == tenant.id
    assert calls[0]["member_id"] == mid
    assert calls[0]["id"] == first["id"]
    assert calls[0]["hash"] == first["hash"]
    assert calls[0]["policy_version"] == "v1"

    # a rejected batch calls nothing and records nothing
    before = await counts(kernel, tenant)
    problem(
        await tenant.post(f"{API}/consents", [grant(mid, SMS, "withdrawn"), grant(mid, "nope")]),
        422,
        "validation-error",
    )
    assert len(calls) == 3
    assert await counts(kernel, tenant) == before

    events = await kernel.db.fetch(
        "SELECT type, properties, source FROM scrm_event WHERE member = {} AND type LIKE 'consent.%' ORDER BY id", mid
    )
    assert [e["type"] for e in events] == ["consent.granted", "consent.withdrawn", "consent.granted"]
    props = [json.loads(e["properties"]) if isinstance(e["properties"], str) else e["properties"] for e in events]
    assert props[0] == {"purpose": EMAIL, "record_id": first["id"], "source": "api", "policy_version": "v1"}
    assert [p["record_id"] for p in props[1:]] == [r["id"] for r in batch["items"]]
    assert {e["source"] for e in events} == {"core"}


async def test_append_joins_the_callers_transaction(kernel: Kernel, tenant: Tenant) -> None:
    """A plugin appending inside its own transaction: rolled back with it, chain untouched."""
    ws = await kernel.workspaces.ref(tenant.id)
    member = await tenant.member(external_id="joined")
    before = await counts(kernel, tenant)

    class Abort(Exception):
        pass

    async def append_then_fail() -> None:
        async with kernel.db.transaction():
            records = await kernel.consents.append(
                ws, [ConsentIn(member_id=member["id"], purpose=EMAIL, status="granted")]
            )
            assert records[0].seq == 1
            raise Abort

    with pytest.raises(Abort):
        await append_then_fail()
    assert await counts(kernel, tenant) == before
    assert (await verify(tenant))["ok"] is True

    naive = ConsentIn(member_id=member["id"], purpose=EMAIL, status="granted", occurred_at=datetime(2026, 1, 1))
    with pytest.raises(scrm.ValidationFailed) as caught:
        await kernel.consents.append(ws, [naive])
    assert caught.value.errors == [{"field": "[0].occurred_at", "source": "body", "message": "needs a time zone"}]
    assert await counts(kernel, tenant) == before


# --- concurrency ------------------------------------------------------------------------------


async def test_concurrent_appends_form_one_chain(kernel: Kernel, tenant: Tenant) -> None:
    members = [(await tenant.member(external_id=f"c{i}"))["id"] for i in range(5)]
    bodies = [
        grant(members[i % 5], (EMAIL, SMS)[i % 2], ("granted", "withdrawn")[(i // 2) % 2], source=f"req-{i}")
        for i in range(50)
    ]
    responses = await asyncio.gather(*(tenant.post(f"{API}/consents", body) for body in bodies))
    assert [r.status_code for r in responses] == [201] * 50, [r.text for r in responses if r.status_code != 201]
    records = sorted((r.json() for r in responses), key=lambda r: r["seq"])
    assert [r["seq"] for r in records] == list(range(1, 51))
    assert sorted(r["source"] for r in records) == sorted(f"req-{i}" for i in range(50))
    for before, after in itertools.pairwise(records):
        assert after["prev_hash"] == before["hash"]
    report = await verify(tenant)
    assert report == {"ok": True, "records": 50, "head_hash": records[-1]["hash"], "broken": None}
    # and a batch racing single appends
    batch = [grant(members[0], EMAIL, source=f"batch-{i}") for i in range(20)]
    singles = [grant(members[1], SMS, source=f"single-{i}") for i in range(10)]
    await asyncio.gather(tenant.post(f"{API}/consents", batch), *(tenant.post(f"{API}/consents", b) for b in singles))
    report = await verify(tenant)
    assert (report["ok"], report["records"]) == (True, 80)
    batch_seqs = [r["seq"] for r in (await tenant.get(f"{API}/members/{members[0]}/consents")).json()["history"]]
    tail = [s for s in batch_seqs if s > 50]
    assert tail == list(range(tail[0], tail[0] + 20))  # a batch is contiguous in the chain


# --- tampering --------------------------------------------------------------------------------


async def run_cli(settings: Settings, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``scrm`` command on the test database, in a thread: this process's loop keeps running,
    so an in-process job holding SQLite's write lock can commit while the command waits for it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCRM_", "PICCOLO_"))}
    env.update(
        {
            "SCRM_DATA_DIR": str(settings.data_dir),
            "SCRM_DATABASE_URL": database_url,
            "SCRM_SECRET_KEY": settings.secret_key,
        }
    )
    return await asyncio.to_thread(
        subprocess.run, [*COMMAND, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
async def ledger(kernel: Kernel, client: Any) -> AsyncIterator[tuple[Tenant, list[dict[str, Any]]]]:
    """A workspace with five records, deleted afterwards (its chain is about to be broken)."""
    tenant = await make_tenant(kernel, client, "tamper")
    member = await tenant.member(external_id="t")
    records = (await append(tenant, [grant(member["id"], (EMAIL, SMS)[i % 2]) for i in range(5)]))["items"]
    assert (await verify(tenant))["ok"] is True
    yield tenant, records
    await kernel.workspaces.delete(tenant.slug)


async def check_cli(settings: Settings, database_url: str, tenant: Tenant, expected: str) -> None:
    result = await run_cli(settings, database_url, "consent", "verify", "--workspace", tenant.slug)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    line = result.stdout.strip()
    assert line.startswith(f"{tenant.slug}\tBROKEN\t"), result.stdout
    assert expected in line, line
    assert expected in result.stderr, result.stderr


async def test_an_altered_row_is_named(
    kernel: Kernel, settings: Settings, database_url: str, ledger: tuple[Tenant, list[dict[str, Any]]]
) -> None:
    tenant, records = ledger
    await kernel.db.fetch("UPDATE scrm_consent SET status = 'withdrawn' WHERE workspace = {} AND seq = 3", tenant.id)
    report = await verify(tenant)
    assert report["ok"] is False
    assert report["records"] == 5
    assert report["broken"] == {"seq": 3, "record_id": records[2]["id"], "reason": "hash does not match its content"}
    await check_cli(
        settings, database_url, tenant, f"seq 3 (record {records[2]['id']}): hash does not match its content"
    )


async def test_an_altered_row_with_a_recomputed_hash_is_named(
    kernel: Kernel, ledger: tuple[Tenant, list[dict[str, Any]]]
) -> None:
    tenant, records = ledger
    row = records[1]
    forged = record_hash(
        canonical(
            workspace=tenant.id,
            seq=2,
            member=row["member_id"],
            purpose=row["purpose"],
            status="withdrawn",
            source=row["source"],
            policy_version=row["policy_version"],
            evidence=row["evidence"],
            occurred_at=datetime.fromisoformat(row["occurred_at"]),
            recorded_at=datetime.fromisoformat(row["recorded_at"]),
            prev_hash=row["prev_hash"],
        )
    )
    await kernel.db.fetch(
        "UPDATE scrm_consent SET status = 'withdrawn', hash = {} WHERE workspace = {} AND seq = 2", forged, tenant.id
    )
    report = await verify(tenant)
    assert report["broken"] == {"seq": 3, "record_id": records[2]["id"], "reason": "prev_hash does not match record 2"}


async def test_a_deleted_tail_is_named(
    kernel: Kernel, settings: Settings, database_url: str, ledger: tuple[Tenant, list[dict[str, Any]]]
) -> None:
    tenant, _ = ledger
    await kernel.db.fetch("DELETE FROM scrm_consent WHERE workspace = {} AND seq = 5", tenant.id)
    report = await verify(tenant)
    assert (report["ok"], report["records"]) == (False, 4)
    assert report["broken"] == {"seq": 5, "record_id": None, "reason": "head says 5 records, ledger has 4"}
    await check_cli(settings, database_url, tenant, "seq 5: head says 5 records, ledger has 4")


async def test_a_deleted_middle_row_is_named(kernel: Kernel, ledger: tuple[Tenant, list[dict[str, Any]]]) -> None:
    tenant, _ = ledger
    await kernel.db.fetch("DELETE FROM scrm_consent WHERE workspace = {} AND seq = 2", tenant.id)
    report = await verify(tenant)
    assert report["broken"] == {"seq": 2, "record_id": None, "reason": "record 2 is missing"}


async def test_a_rewound_head_is_named(kernel: Kernel, ledger: tuple[Tenant, list[dict[str, Any]]]) -> None:
    tenant, records = ledger
    await kernel.db.fetch("UPDATE scrm_consent_chain SET hash = {} WHERE workspace = {}", records[3]["hash"], tenant.id)
    report = await verify(tenant)
    assert report["broken"] == {"seq": 5, "record_id": None, "reason": "head hash does not match record 5"}


async def test_cli_verifies_every_workspace(
    kernel: Kernel, settings: Settings, database_url: str, tenant: Tenant
) -> None:
    member = await tenant.member(external_id="cli")
    await append(tenant, [grant(member["id"]), grant(member["id"], SMS)])
    result = await run_cli(settings, database_url, "consent", "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = {line.split("\t")[0]: line.split("\t") for line in result.stdout.strip().splitlines()}
    assert len(lines) == len(await kernel.workspaces.list())
    assert lines[tenant.slug][1:3] == ["ok", "2 records"]
    one = await run_cli(settings, database_url, "consent", "verify", "--workspace", tenant.slug)
    assert one.returncode == 0, one.stderr
    assert one.stdout.strip().splitlines() == ["\t".join(lines[tenant.slug])]
    missing = await run_cli(settings, database_url, "consent", "verify", "--workspace", "no-such-workspace")
    assert missing.returncode == 1
    assert "no-such-workspace" in missing.stderr


# --- bad input --------------------------------------------------------------------------------


async def test_bad_input_writes_nothing(kernel: Kernel, tenant: Tenant, other: Tenant) -> None:
    member = await tenant.member(external_id="bad")
    mid = member["id"]
    theirs = await other.member(external_id="theirs")
    await append(tenant, grant(mid))
    future = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    cases: list[tuple[Any, int, str, str]] = [
        # (body, status, kind, field named)
        (grant(2**62), 422, "validation-error", "member_id"),
        (grant(theirs["id"]), 422, "validation-error", "member_id"),
        ({"external_id": "nobody", "purpose": EMAIL, "status": "granted"}, 422, "validation-error", "external_id"),
        ({"external_id": "theirs", "purpose": EMAIL, "status": "granted"}, 422, "validation-error", "external_id"),
        ({"purpose": EMAIL, "status": "granted"}, 422, "validation-error", "member_id"),
        ({**grant(mid), "external_id": "bad"}, 422, "validation-error", "member_id"),
        (grant(mid, occurred_at="2026-01-01T00:00:00"), 422, "validation-error", "occurred_at"),
        (grant(mid, occurred_at=future), 422, "validation-error", "occurred_at"),
        (grant(mid, occurred_at="1969-12-31T23:59:59Z"), 422, "validation-error", "occurred_at"),
        (grant(mid, occurred_at="yesterday"), 422, "validation-error", "occurred_at"),
        (grant(mid, "no.such.purpose"), 422, "validation-error", "purpose"),
        (grant(mid, "Marketing"), 422, "validation-error", "purpose"),
        (grant(mid, status="maybe"), 422, "validation-error", "status"),
        (grant(mid, source=""), 422, "validation-error", "source"),
        (grant(mid, policy_version="v" * 65), 422, "validation-error", "policy_version"),
        (grant(mid, evidence={"blob": "x" * 16_400}), 422, "validation-error", "evidence"),
        (grant(mid, evidence=["not", "an", "object"]), 422, "validation-error", "evidence"),
        (grant(mid, hash="0" * 64), 422, "validation-error", "hash"),
        ([grant(mid), grant(mid, "no.such.purpose")], 422, "validation-error", "[1].purpose"),
        ([grant(mid), grant(2**62), grant(mid, occurred_at=future)], 422, "validation-error", "[1].member_id"),
        ([grant(mid)] * 1001, 422, "validation-error", ""),
        ([], 422, "validation-error", ""),
    ]
    before = await counts(kernel, tenant)
    for body, status, kind, field in cases:
        response = await tenant.post(f"{API}/consents", body)
        doc = problem(response, status, kind)
        assert doc["errors"], doc
        assert doc["errors"][0]["field"] == field, (body if len(str(body)) < 300 else field, doc)
        assert await counts(kernel, tenant) == before, body
    # a batch with one item malformed for the schema is rejected whole, too
    response = await tenant.post(f"{API}/consents", [grant(mid), grant(mid, status="maybe")])
    problem(response, 422, "validation-error")
    for content in (b"", b"{", b"null", b'"x"', b"[1]"):
        response = await tenant.client.post(
            f"{API}/consents", content=content, headers=tenant.headers(**{"Content-Type": "application/json"})
        )
        assert response.status_code in (400, 422), response.text
    assert await counts(kernel, tenant) == before
    # the far-future limit allows a few minutes of clock skew
    soon = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    await append(tenant, grant(mid, occurred_at=soon))
