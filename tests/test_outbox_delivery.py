"""How the outbox groups what it delivers: rows of one workspace together, up to ``GROUP_EVENTS``
events (a larger row alone), each workspace apart, every row deleted once delivered — the same
deliveries on both engines (PostgreSQL takes and delivers them in one transaction each, without a
claim; SQLite claims, then delivers by group). On PostgreSQL, rows a deliverer holds are skipped by
the others, and are there again the moment its transaction ends without committing (a deliverer
that died)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from conftest import FIRST_PARTY, Tenant
from scrm.kernel import Kernel
from scrm.services import outbox as outbox_service
from scrm.services.events import NewEvent
from scrm.testing import BACKEND
from scrm_testplugin.tables import Seen

API = "/api/v1"


async def visits(tenant: Tenant, member_id: int, n: int) -> list[int]:
    response = await tenant.post(f"{API}/events", [{"member_id": member_id, "type": "visit"}] * n)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def add_row(kernel: Kernel, tenant: Tenant, ids: list[int], age_s: float) -> int:
    at = datetime.now(UTC) - timedelta(seconds=age_s)
    rows = await kernel.db.fetch(
        "INSERT INTO scrm_outbox (workspace, event_ids, available_at, attempts, created_at) "
        "VALUES ({}, {}, {}, 0, {}) RETURNING id",
        tenant.id,
        json.dumps(ids),
        at,
        at,
    )
    return int(rows[0]["id"])


@pytest.fixture
def deliveries(kernel: Kernel, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(workspace, events) of each delivery to the plugins."""
    seen: list[tuple[int, int]] = []
    notify = kernel.outbox._notify

    async def watched(ws: Any, events: Any) -> None:
        seen.append((ws.id, len(events)))
        await notify(ws, events)

    monkeypatch.setattr(kernel.outbox, "_notify", watched)
    return seen


async def test_rows_are_delivered_by_workspace_within_the_event_budget(
    tenant: Tenant, other: Tenant, kernel: Kernel, deliveries: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_service, "GROUP_EVENTS", 50)
    for t in (tenant, other):
        assert (await t.post(f"{API}/plugins", {"name": "testplugin", "enabled": True})).status_code == 200
    mine, theirs = (await tenant.member())["id"], (await other.member())["id"]
    ids, their_ids = await visits(tenant, mine, 100), await visits(other, theirs, 5)
    await kernel.jobs.idle()
    deliveries.clear()
    # delivered once already; these rows deliver them again (the plugin counts redeliveries)
    await add_row(kernel, tenant, ids[:30], age_s=40)
    await add_row(kernel, other, their_ids, age_s=30)
    await add_row(kernel, tenant, ids[30:45], age_s=20)
    await add_row(kernel, tenant, ids[45:], age_s=10)  # 55 events: over the budget, alone
    claims: list[int] = []
    claim = kernel.outbox._claim

    async def counted() -> list[Any]:
        claims.append(1)
        return await claim()

    monkeypatch.setattr(kernel.outbox, "_claim", counted)
    assert await kernel.outbox.drain() >= 4  # (and whatever another test left ready)
    assert [d for d in deliveries if d[0] in (tenant.id, other.id)] == [(tenant.id, 45), (other.id, 5), (tenant.id, 55)]
    left = await kernel.db.fetch("SELECT id FROM scrm_outbox WHERE workspace IN ({}, {})", tenant.id, other.id)
    assert left == []
    again = await Seen.select(Seen.event_id, Seen.redeliveries).where(
        Seen.type == "visit", Seen.workspace.is_in([tenant.id, other.id])
    )
    assert sorted((r["event_id"], r["redeliveries"]) for r in again) == sorted((i, 1) for i in ids + their_ids)
    if BACKEND == "postgres":
        assert claims == []  # taken and delivered, no claim and lease


@pytest.mark.skipif(BACKEND != "postgres", reason="row locks: SQLite has one writer")
async def test_rows_held_by_a_deliverer_wait_for_it_and_come_back_when_it_dies(
    tenant: Tenant, kernel: Kernel, deliveries: list[tuple[int, int]], settings: Any
) -> None:
    member = (await tenant.member())["id"]
    ids = await visits(tenant, member, 3)
    await kernel.jobs.idle()
    deliveries.clear()
    row = await add_row(kernel, tenant, ids, age_s=5)
    url = settings.database
    other = await asyncpg.connect(host=url.host, port=url.port, user=url.user, database=url.database)
    try:
        transaction = other.transaction()
        await transaction.start()
        await other.execute("DELETE FROM scrm_outbox WHERE id = $1", row)  # a deliverer holding it
        assert await kernel.outbox.drain() == 0
        await transaction.rollback()  # …that died before committing
    finally:
        await other.close()
    assert await kernel.outbox.drain() == 1
    assert deliveries == [(tenant.id, 3)]


async def test_a_workspace_event_passes_every_plugin_enabled_at_once(tenant: Tenant, kernel: Kernel) -> None:
    """Every plugin's delivery handler copes with an event that names no member: with all of them on,
    seeded, and set to react to the event's types (points rules, a live journey whose trigger and goal
    is one), a batch mixing workspace events with a member's is delivered in one go — no failing row
    — the member's events act as ever, and the workspace's act on no one."""
    for name in FIRST_PARTY:
        await tenant.enable(name)
    members = [(await tenant.member(display_name=f"Everyone {i}"))["id"] for i in range(3)]
    ws = await kernel.workspaces.ref(tenant.slug)
    await kernel.plugins.call("scrm_demo", only=ws.enabled_plugins, workspace=ws, member_ids=members, kernel=kernel)
    journey = await tenant.post(
        f"{API}/journeys",
        {
            "name": "On an alert",
            "definition": {
                "trigger": {"kind": "event", "event_type": "ops.alert"},
                "steps": [{"type": "wait", "seconds": 3600}],
                "goal": {"event_type": "ops.alert"},
            },
        },
    )
    assert journey.status_code == 201, journey.text
    journey_id = journey.json()["id"]
    assert (await tenant.post(f"{API}/journeys/{journey_id}/publish")).status_code == 200
    entering = await tenant.post(f"{API}/events", {"member_id": members[0], "type": "ops.alert"})
    assert entering.status_code == 201, entering.text
    await kernel.jobs.idle()
    await kernel.outbox.drain()
    seen = {
        r["type"] for r in await kernel.db.fetch("SELECT DISTINCT type FROM scrm_event WHERE workspace = {}", ws.id)
    }
    reacted_to = {"ops.alert", "checkin", "order.paid", "lottery.notify", "contests.notify", "referral.rewarded"}
    types = sorted(t for t in seen | reacted_to if not t.startswith(("member.", "tags.", "consent.")))
    properties = {"amount": 500, "points": 10, "purpose": "marketing.email"}
    recorded = await kernel.events.record(
        ws,
        [NewEvent(members[1], "checkin"), *(NewEvent(None, t, properties, source="ops") for t in types)],
    )
    workspace_ids = [r.id for r in recorded[1:]]
    await kernel.jobs.idle()
    await kernel.outbox.drain()
    assert await kernel.db.fetch("SELECT id, last_error FROM scrm_outbox WHERE workspace = {}", ws.id) == []
    assert await Seen.count().where(Seen.event_id.is_in(workspace_ids)) == len(types)  # delivered, once
    # the member's check-in earned its points; the workspace's events earned no one anything
    awarded = await kernel.db.fetch("SELECT event_id FROM points_transaction WHERE workspace = {}", ws.id)
    assert recorded[0].id in {r["event_id"] for r in awarded}
    assert not {r["event_id"] for r in awarded} & set(workspace_ids)
    # the alert entered no one into the journey and converted no one's run
    runs = (await tenant.get(f"{API}/journeys/{journey_id}/runs")).json()["items"]
    assert [(r["member_id"], r["status"]) for r in runs] == [(members[0], "waiting")]
