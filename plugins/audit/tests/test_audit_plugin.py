"""The audit plugin: due-date math, data-subject requests carried out through the core, retention
whose dry run equals what applying deletes, the copy check with spans on the starter lists, scheduled
verification with its dashboard alert, the report; scopes, isolation and bad input on every route."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from scrm.jobs import JobContext
from scrm.kernel import Kernel
from scrm.testing import Tenant, problem
from scrm_audit import checks
from scrm_audit.requests import due_date

BASE = "/api/v1/audit"


async def enabled(tenant: Tenant) -> Tenant:
    await tenant.enable("audit")
    return tenant


@pytest.fixture
async def ws(tenant: Tenant) -> Tenant:
    return await enabled(tenant)


# --- due dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "days", "months", "due"),
    [
        ("2026-03-01T10:00:00+00:00", 15, 0, "2026-03-16T10:00:00+00:00"),  # PIPL: 15 days
        ("2026-01-31T09:00:00+00:00", 15, 1, "2026-02-28T09:00:00+00:00"),  # GDPR: one month, clamped
        ("2028-01-31T09:00:00+00:00", 15, 1, "2028-02-29T09:00:00+00:00"),  # a leap year
        ("2026-12-15T00:00:00+00:00", 15, 1, "2027-01-15T00:00:00+00:00"),  # over the year's end
        ("2026-11-30T00:00:00+00:00", 15, 3, "2027-02-28T00:00:00+00:00"),
    ],
)
def test_due_date_math(received: str, days: int, months: int, due: str) -> None:
    assert due_date(datetime.fromisoformat(received), days, months) == datetime.fromisoformat(due)


async def test_a_request_falls_due_by_the_workspace_policy(ws: Tenant) -> None:
    mid = (await ws.member(external_id="dsr-due"))["id"]
    received = "2026-01-31T09:00:00+08:00"
    first = await ws.post(f"{BASE}/requests", {"kind": "access", "member_id": mid, "received_at": received})
    assert first.status_code == 201, first.text
    assert datetime.fromisoformat(first.json()["due_at"]) == datetime.fromisoformat("2026-02-15T09:00:00+08:00")
    assert first.json()["overdue"] is True  # received long ago, still open
    put = await ws.client.put(f"{BASE}/policy", json={"dsr_due_months": 1}, headers=ws.headers())
    assert put.status_code == 200, put.text
    second = await ws.post(f"{BASE}/requests", {"kind": "access", "external_id": "dsr-due", "received_at": received})
    assert datetime.fromisoformat(second.json()["due_at"]) == datetime.fromisoformat("2026-02-28T09:00:00+08:00")
    listed = (await ws.get(f"{BASE}/requests", params={"status": "open"})).json()["items"]
    assert [r["id"] for r in listed] == [first.json()["id"], second.json()["id"]]


# --- carrying requests out ------------------------------------------------------------------------


async def request(tenant: Tenant, kind: str, member_id: int) -> dict[str, Any]:
    response = await tenant.post(f"{BASE}/requests", {"kind": kind, "member_id": member_id, "note": "by phone"})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_access_erasure_and_withdrawal_are_carried_out(kernel: Kernel, ws: Tenant) -> None:
    mid = (await ws.member(external_id="dsr-1", display_name="Dora", identities={"email": "dora@example.com"}))["id"]
    granted = await ws.post(
        "/api/v1/consents",
        [{"member_id": mid, "purpose": p, "status": "granted"} for p in ("marketing.email", "marketing.sms")],
    )
    assert granted.status_code == 201, granted.text

    access = await request(ws, "access", mid)
    done = await ws.post(f"{BASE}/requests/{access['id']}/execute")
    assert done.status_code == 200, done.text
    assert done.json()["archive"]["member"]["display_name"] == "Dora"
    assert done.json()["archive"]["plugins"]["audit"]["requests"][0]["kind"] == "access"
    assert done.json()["request"]["status"] == "done"
    assert done.json()["request"]["handled_by"].startswith("key:")
    problem(await ws.post(f"{BASE}/requests/{access['id']}/execute"), 409, "conflict")

    withdrawal = await request(ws, "withdrawal", mid)
    done = await ws.post(f"{BASE}/requests/{withdrawal['id']}/execute")
    assert done.json()["request"]["result"] == "withdrawn: marketing.email, marketing.sms"
    state = (await ws.get(f"/api/v1/members/{mid}/consents")).json()
    assert {c["status"] for c in state["current"]} == {"withdrawn"}

    rectification = await request(ws, "rectification", mid)
    problem(await ws.post(f"{BASE}/requests/{rectification['id']}/execute"), 409, "conflict")
    closed = await ws.post(f"{BASE}/requests/{rectification['id']}/close", {"status": "done", "result": "name fixed"})
    assert closed.json()["status"] == "done"

    erasure = await request(ws, "erasure", mid)
    done = await ws.post(f"{BASE}/requests/{erasure['id']}/execute")
    assert done.json()["request"]["result"] == "erased"
    member = (await ws.get(f"/api/v1/members/{mid}")).json()
    assert member["status"] == "erased"
    assert member["identities"] == {}
    # the operators' notes about the person went with the erasure; the requests stay as proof
    rows = await kernel.db.fetch("SELECT note FROM audit_request WHERE workspace = {} AND member_id = {}", ws.id, mid)
    assert {r["note"] for r in rows} == {""}
    # both ledgers still verify, and the erasure itself is in the trail
    assert (await ws.get("/api/v1/consents/verify")).json()["ok"] is True
    assert (await ws.get("/api/v1/audit/verify")).json()["ok"] is True
    trail = (await ws.get("/api/v1/audit", params={"action": "auditExecuteRequest"})).json()["items"]
    assert len(trail) == 4
    assert any(r["summary"] == {"erased": True} for r in (await ws.get("/api/v1/audit")).json()["items"])


# --- retention ------------------------------------------------------------------------------------


async def test_retention_dry_run_equals_what_apply_deletes(kernel: Kernel, ws: Tenant) -> None:
    keep = (await ws.member(external_id="ret-keep"))["id"]
    gone = (await ws.member(external_id="ret-gone"))["id"]
    now = datetime.now(UTC)
    events = [
        {"member_id": member, "type": "page.view", "occurred_at": (now - timedelta(days=age)).isoformat()}
        for member in (keep, gone)
        for age in (1, 10, 40, 400)
    ]
    assert (await ws.post("/api/v1/events", events)).status_code in (200, 201)
    assert (await ws.delete(f"/api/v1/members/{gone}")).status_code == 204
    policy = {"events_days": 30, "erased_events_days": 5}
    assert (await ws.client.put(f"{BASE}/policy", json=policy, headers=ws.headers())).status_code == 200

    async def count() -> int:
        rows = await kernel.db.fetch("SELECT count(*) AS n FROM scrm_event WHERE workspace = {}", ws.id)
        return int(rows[0]["n"])

    before = await count()
    dry = (await ws.post(f"{BASE}/retention/dry-run")).json()
    assert await count() == before  # a dry run deletes nothing
    assert dry["dry_run"] is True
    # older than 30 days: 2 of each member; then the erased member's of 10 days (older than 5)
    assert (dry["events"], dry["erased_members_events"]) == (4, 1)
    applied = (await ws.post(f"{BASE}/retention/apply")).json()
    assert (applied["events"], applied["erased_members_events"]) == (dry["events"], dry["erased_members_events"])
    assert await count() == before - dry["events"] - dry["erased_members_events"]
    again = (await ws.post(f"{BASE}/retention/dry-run")).json()
    assert (again["events"], again["erased_members_events"]) == (0, 0)
    stored = (await ws.get(f"{BASE}/policy")).json()
    assert stored["last_deleted"] == 5
    assert (await ws.get("/api/v1/audit/verify")).json()["ok"] is True


# --- copy review ----------------------------------------------------------------------------------


async def test_copy_check_finds_starter_terms_with_spans(ws: Tenant) -> None:
    for language in ("zh", "en"):
        loaded = await ws.post(f"{BASE}/wordlist/starter", {"language": language})
        assert loaded.status_code == 201, loaded.text
    # safe to load twice
    assert (await ws.post(f"{BASE}/wordlist/starter", {"language": "zh"})).status_code == 201
    text = "全国第一的咖啡，能治愈疲劳。The best latte in town!"
    report = (await ws.post(f"{BASE}/copy-check", {"text": text})).json()
    assert report["ok"] is False
    found = {(f["term"], f["category"], text[f["start"] : f["end"]].lower()) for f in report["findings"]}
    assert ("第一", "ad.absolute", "第一") in found
    assert ("治愈", "ad.medical", "治愈") in found
    assert ("the best", "ad.absolute", "the best") in found
    clean = (await ws.post(f"{BASE}/copy-check", {"text": "新品拿铁上市"})).json()
    assert clean == {"ok": True, "findings": []}
    # the same list moderates member content through the core's scrm_moderate
    terms = (await ws.get("/api/v1/moderation/terms", params={"category": "ad.medical"})).json()["items"]
    assert "治愈" in {t["term"] for t in terms}
    # a check writes nothing, so it leaves no audit record; loading the list does
    actions = [r["action"] for r in (await ws.get("/api/v1/audit")).json()["items"]]
    assert "auditCopyCheck" not in actions
    assert "auditLoadStarterList" in actions


# --- verification and its alert --------------------------------------------------------------------


async def test_scheduled_verification_raises_and_clears_the_alert(kernel: Kernel, ws: Tenant, other: Tenant) -> None:
    mid = (await ws.member(external_id="chk"))["id"]
    await ws.post("/api/v1/consents", [{"member_id": mid, "purpose": "marketing.email", "status": "granted"}])
    await checks.verify_everywhere(JobContext(kernel=kernel))
    ref = await kernel.workspaces.ref(ws.slug)
    assert await checks.alerts(kernel, ref) == []
    [record] = await kernel.db.fetch("SELECT id, source FROM scrm_consent WHERE workspace = {}", ws.id)
    await kernel.db.fetch("UPDATE scrm_consent SET source = 'forged' WHERE id = {}", record["id"])
    await checks.verify_everywhere(JobContext(kernel=kernel))
    latest = (await ws.get(f"{BASE}/checks")).json()[0]
    assert latest["consent_ok"] is False
    assert latest["trail_ok"] is True
    assert f"record {record['id']}" in latest["detail"]
    alerts = await kernel.plugins.call("scrm_dashboard_alerts", ref.enabled_plugins, workspace=ref, kernel=kernel)
    assert alerts == [[checks.BROKEN_ALERT]]
    # the other workspace, without the plugin, was not checked
    assert await kernel.db.fetch("SELECT id FROM audit_check WHERE workspace = {}", other.id) == []
    await kernel.db.fetch("UPDATE scrm_consent SET source = {} WHERE id = {}", record["source"], record["id"])
    assert (await ws.post(f"{BASE}/checks")).json()["consent_ok"] is True
    assert await checks.alerts(kernel, ref) == []


async def test_a_tampered_trail_row_raises_one_chain_broken_alert_per_break(kernel: Kernel, ws: Tenant) -> None:
    mid = (await ws.member(external_id="alarm"))["id"]
    await ws.patch(f"/api/v1/members/{mid}", {"display_name": "Ann"})
    ref = await kernel.workspaces.ref(ws.slug)
    rows = await kernel.db.fetch("SELECT id, seq FROM scrm_audit WHERE workspace = {} ORDER BY seq", ws.id)
    victim = rows[0]
    [original] = await kernel.db.fetch("SELECT action FROM scrm_audit WHERE id = {}", victim["id"])
    await kernel.db.fetch("UPDATE scrm_audit SET action = 'forged' WHERE id = {}", victim["id"])

    async def alerts_recorded() -> list[dict[str, Any]]:
        found = (await ws.get("/api/v1/audit", params={"action": checks.ALERT})).json()["items"]
        return list(found)

    async def alert_events() -> list[dict[str, Any]]:
        found = await ws.get("/api/v1/events", params={"has_member": "false"})
        assert found.status_code == 200, found.text
        return list(found.json()["items"])

    # checks racing each other (the cron and "Verify now"): one alert for the break
    await asyncio.gather(*(checks.verify(kernel, ref) for _ in range(6)))
    [alert] = await alerts_recorded()
    assert alert["actor"] == {"kind": "system", "id": "audit.verify", "label": "scheduled verification"}
    assert alert["channel"] == "job"
    assert (alert["target_type"], alert["target_id"]) == ("chain", "trail")
    assert alert["summary"]["record_id"] == victim["id"]
    assert alert["summary"]["seq"] == victim["seq"]
    assert await checks.alerts(kernel, ref) == [checks.BROKEN_ALERT]
    # and, with it, one workspace event: no member, the chain and its first bad record
    [event] = await alert_events()
    assert (event["type"], event["member_id"], event["source"]) == (checks.ALERT, None, "audit")
    assert event["properties"] == {"chain": "trail", **alert["summary"]}
    # the next run finds the same break: no second alert, the banner stays
    await checks.verify_everywhere(JobContext(kernel=kernel))
    assert len(await alerts_recorded()) == 1
    assert len(await alert_events()) == 1
    assert await checks.alerts(kernel, ref) == [checks.BROKEN_ALERT]
    # a break in the other chain is a new alert
    await ws.post("/api/v1/consents", [{"member_id": mid, "purpose": "marketing.email", "status": "granted"}])
    await kernel.db.fetch("UPDATE scrm_consent SET source = 'forged' WHERE workspace = {}", ws.id)
    await checks.verify_everywhere(JobContext(kernel=kernel))
    assert sorted(a["target_id"] for a in await alerts_recorded()) == ["consent", "trail"]
    assert sorted(e["properties"]["chain"] for e in await alert_events()) == ["consent", "trail"]
    # the members' own events are not workspace events
    assert all(
        e["member_id"] == mid for e in (await ws.get("/api/v1/events", params={"has_member": "true"})).json()["items"]
    )
    # the alerts joined the trail, which is still broken at the same place
    report = (await ws.get("/api/v1/audit/verify")).json()
    assert report["broken"]["record_id"] == victim["id"]
    # mended (the session's other tests verify every workspace): the next check is sound, the banner goes
    await kernel.db.fetch("UPDATE scrm_audit SET action = {} WHERE id = {}", original["action"], victim["id"])
    await kernel.db.fetch("UPDATE scrm_consent SET source = 'api' WHERE workspace = {}", ws.id)
    await checks.verify_everywhere(JobContext(kernel=kernel))
    assert await checks.alerts(kernel, ref) == []


# --- report ---------------------------------------------------------------------------------------


async def test_report(ws: Tenant) -> None:
    mid = (await ws.member(external_id="rep"))["id"]
    await ws.post("/api/v1/consents", [{"member_id": mid, "purpose": "marketing.email", "status": "granted"}])
    await request(ws, "access", mid)
    report = (await ws.get(f"{BASE}/report")).json()
    assert report["members"] == 1
    assert report["consent_coverage"]["marketing.email"] == 1.0
    assert report["consent_coverage"]["marketing.sms"] == 0.0
    assert report["requests"] == {"access": 1, "rectification": 0, "erasure": 0, "withdrawal": 0}
    assert report["consent_chain_ok"] is True
    assert report["trail_ok"] is True
    assert report["writes_by_channel"]["api"] >= 3
    # without a plugin that sends, only the door's refusals are counted
    assert (report["refused"], report["refusals"]) == (0, [])
    assert report["contacts_checked"] is None
    assert report["contacted_without_consent"] is None
    problem(await ws.get(f"{BASE}/report", params={"since": "2026-01-01T00:00:00"}), 422, "validation-error")
    problem(
        await ws.get(f"{BASE}/report", params={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}),
        422,
        "validation-error",
    )


async def sent(kernel: Kernel, ws: Tenant, member_id: int, purpose: str, at: datetime) -> None:
    """A message the channels plugin sent (written as its delivery leaves it)."""
    await kernel.db.fetch(
        "INSERT INTO channels_message (workspace, member_id, purpose, template, language, reference, channel, "
        "provider, recipient, subject, body, status, attempts, next_at, detail, created_at, sent_at) "
        "VALUES ({}, {}, {}, 'hello', 'en', {}, 'email', 0, '', '', '', 'sent', 1, {}, '', {}, {})",
        ws.id,
        member_id,
        purpose,
        f"ref-{member_id}-{at.isoformat()}",
        at,
        at,
        at,
    )


async def test_report_counts_refusals_and_contacts_without_consent(kernel: Kernel, ws: Tenant, other: Tenant) -> None:
    await ws.enable("channels")
    ref = await kernel.workspaces.ref(ws.slug)
    yes = (await ws.member(external_id="yes"))["id"]
    no = (await ws.member(external_id="no"))["id"]
    await ws.post("/api/v1/consents", [{"member_id": yes, "purpose": "marketing.email", "status": "granted"}])
    for _ in range(3):
        assert await kernel.consents.can_contact(ref, no, "marketing.email", channel="email") is False
    assert await kernel.consents.can_contact(ref, no, "marketing.sms") is False
    now = datetime.now(UTC)
    await sent(kernel, ws, yes, "marketing.email", now)
    report = (await ws.get(f"{BASE}/report")).json()
    assert report["refused"] == 4
    assert report["refusals"] == [
        {"purpose": "marketing.email", "channel": "email", "reason": "no consent recorded", "count": 3},
        {"purpose": "marketing.sms", "channel": "", "reason": "no consent recorded", "count": 1},
    ]
    assert (report["contacts_checked"], report["contacted_without_consent"]) == (1, 0)
    # a message that went out without consent (a bug, a forged row) is found and counted
    await sent(kernel, ws, no, "marketing.email", now)
    await sent(kernel, ws, yes, "marketing.email", now - timedelta(days=400))  # outside the period
    report = (await ws.get(f"{BASE}/report")).json()
    assert (report["contacts_checked"], report["contacted_without_consent"]) == (2, 1)
    # another workspace's report counts none of it
    await enabled(other)
    theirs = (await other.get(f"{BASE}/report")).json()
    assert (theirs["refused"], theirs["contacts_checked"]) == (0, None)


# --- scopes, isolation, bad input -------------------------------------------------------------------


async def test_scopes(ws: Tenant) -> None:
    mid = (await ws.member(external_id="scope"))["id"]
    made = await request(ws, "access", mid)
    reader = await ws.new_key("audit:read")
    assert (await ws.get(f"{BASE}/requests", key=reader)).status_code == 200
    assert (await ws.post(f"{BASE}/copy-check", {"text": "x"}, key=reader)).status_code == 200
    assert (await ws.post(f"{BASE}/retention/dry-run", key=reader)).status_code == 200
    for path, body in (
        ("/requests", {"kind": "access", "member_id": mid}),
        (f"/requests/{made['id']}/execute", None),
        (f"/requests/{made['id']}/close", {"status": "rejected"}),
        ("/retention/apply", None),
        ("/checks", None),
        ("/wordlist/starter", {"language": "en"}),
    ):
        problem(await ws.post(f"{BASE}{path}", body, key=reader), 403, "missing-scope")
    problem(await ws.client.put(f"{BASE}/policy", json={}, headers=ws.headers(reader)), 403, "missing-scope")
    nobody = await ws.new_key("members:read")
    for path in ("/requests", "/policy", "/checks", "/report", f"/requests/{made['id']}"):
        problem(await ws.get(f"{BASE}{path}", key=nobody), 403, "missing-scope")


async def test_isolation(ws: Tenant, other: Tenant) -> None:
    await enabled(other)
    mid = (await ws.member(external_id="iso"))["id"]
    made = await request(ws, "erasure", mid)
    problem(await other.get(f"{BASE}/requests/{made['id']}"), 404, "not-found")
    problem(await other.post(f"{BASE}/requests/{made['id']}/execute"), 404, "not-found")
    problem(await other.post(f"{BASE}/requests/{made['id']}/close", {"status": "done"}), 404, "not-found")
    assert (await other.get(f"{BASE}/requests")).json()["items"] == []
    # a member of another workspace cannot be named in a request
    problem(await other.post(f"{BASE}/requests", {"kind": "access", "member_id": mid}), 422, "validation-error")
    assert (await ws.get(f"/api/v1/members/{mid}")).json()["status"] == "active"
    # the plugin answers only where it is enabled
    plain = await ws.new_key("*")
    assert (await ws.get(f"{BASE}/requests", key=plain)).status_code == 200
    # every other route stays in its workspace: checks, policy, retention, report
    assert (await ws.post(f"{BASE}/checks")).status_code == 200
    assert (await other.get(f"{BASE}/checks")).json() == []
    put = await ws.client.put(f"{BASE}/policy", json={"events_days": 1}, headers=ws.headers())
    assert put.status_code == 200, put.text
    assert (await other.get(f"{BASE}/policy")).json()["events_days"] == 0
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    await ws.post("/api/v1/events", {"member_id": mid, "type": "visit", "occurred_at": old})
    assert (await ws.post(f"{BASE}/retention/dry-run")).json()["events"] == 1
    await other.client.put(f"{BASE}/policy", json={"events_days": 1}, headers=other.headers())
    assert (await other.post(f"{BASE}/retention/apply")).json()["events"] == 0
    assert (await ws.post(f"{BASE}/retention/dry-run")).json()["events"] == 1
    theirs = (await other.get(f"{BASE}/report")).json()
    assert (theirs["members"], theirs["requests"]["erasure"]) == (0, 0)


async def test_not_enabled(tenant: Tenant) -> None:
    problem(await tenant.get(f"{BASE}/requests"), 404, "plugin-not-enabled")
    problem(await tenant.post(f"{BASE}/copy-check", {"text": "x"}), 404, "plugin-not-enabled")


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/requests", {"kind": "deletion", "member_id": 1}, "kind"),
        ("post", "/requests", {"kind": "access"}, "[0].member_id"),
        ("post", "/requests", {"kind": "access", "member_id": 999999999}, "[0].member_id"),
        ("post", "/requests", {"kind": "access", "member_id": 1, "received_at": "2026-01-01T00:00:00"}, "received_at"),
        ("post", "/requests", {"kind": "access", "member_id": 1, "extra": 1}, "extra"),
        ("post", "/requests/1/close", {"status": "open"}, "status"),
        ("put", "/policy", {"events_days": -1}, "events_days"),
        ("put", "/policy", {"trail_years": 0}, "trail_years"),
        ("put", "/policy", {"dsr_due_months": 13}, "dsr_due_months"),
        ("post", "/copy-check", {"text": ""}, "text"),
        ("post", "/copy-check", {}, "text"),
        ("post", "/wordlist/starter", {"language": "fr"}, "language"),
        ("post", "/wordlist/starter", {}, "language"),
        ("put", "/policy", {"events_days": "ten"}, "events_days"),
        ("put", "/policy", {"unknown": 1}, "unknown"),
        ("post", "/requests/1/close", {"status": "done", "result": "x" * 2001}, "result"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(ws: Tenant, method: str, path: str, body: Any, field: str) -> None:
    response = await getattr(ws.client, method)(f"{BASE}{path}", json=body, headers=ws.headers())
    document = problem(response, 422, "validation-error")
    assert field in {e["field"] for e in document["errors"]}, document


async def test_unknown_ids_are_404(ws: Tenant) -> None:
    problem(await ws.get(f"{BASE}/requests/999999999"), 404, "not-found")
    problem(await ws.post(f"{BASE}/requests/999999999/close", {"status": "done"}), 404, "not-found")
    problem(await ws.get(f"{BASE}/requests", params={"cursor": "forged"}), 400, "invalid-cursor")
    problem(await ws.get(f"{BASE}/requests", params={"status": "lost"}), 422, "validation-error")
    problem(await ws.post(f"{BASE}/requests/999999999/execute"), 404, "not-found")
