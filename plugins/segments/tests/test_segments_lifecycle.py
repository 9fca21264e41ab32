"""Lifecycle stages and their boundaries across time zones, stage moves as tags and events,
redelivery adding nothing (applied events kept as runs of ids, also under a racing delivery), and
the clusters."""

from __future__ import annotations

import asyncio
import contextvars
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import scrm
from scrm_segments import applied, clusters, lifecycle, profiles
from scrm_segments.config import SegmentsSettings
from segments_helpers import BASE, events, settle

S = SegmentsSettings(n_days=30, m_days=90)


def test_stage_boundaries_are_local_days() -> None:
    joined = datetime(2026, 1, 1, 12, tzinfo=UTC)
    # 2026-03-01 16:30 UTC is still 1 March in New York (11:30) but already 2 March in Shanghai (00:30)
    seen = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)
    at = datetime(2026, 3, 31, 15, 0, tzinfo=UTC)  # 31 March in both zones
    assert lifecycle.stage_of(joined, seen, at, "America/New_York", S) == "silent"  # 30 local days idle
    assert lifecycle.stage_of(joined, seen, at, "Asia/Shanghai", S) == "active"  # 29 local days idle
    assert lifecycle.stage_of(joined, seen, at - timedelta(hours=1), "UTC", S) == "silent"
    # new: joined fewer than N local days ago, whatever the activity
    assert lifecycle.stage_of(at - timedelta(days=29), at - timedelta(days=29), at, "UTC", S) == "new"
    assert lifecycle.stage_of(at - timedelta(days=30), at - timedelta(days=30), at, "UTC", S) == "silent"
    # churned after M local days, counted from joining for a member who never engaged
    assert lifecycle.stage_of(joined, joined, datetime(2026, 4, 1, 12, tzinfo=UTC), "UTC", S) == "churned"
    assert lifecycle.stage_of(joined, joined, datetime(2026, 3, 31, 12, tzinfo=UTC), "UTC", S) == "silent"


async def test_stages_move_with_events_and_time(kernel: scrm.Kernel, tenant: Any) -> None:
    await tenant.enable("segments")
    member = (await tenant.member(display_name="A"))["id"]
    await settle(kernel, tenant.id)
    ws = await kernel.workspaces.ref(tenant.slug)
    assert (await tenant.get(f"{BASE}/members/{member}")).json()["stage"] == "new"
    now = datetime.now(UTC)
    assert await lifecycle.advance(kernel, ws, now + timedelta(days=31)) == 1  # never engaged: silent
    got = (await tenant.get(f"{BASE}/members/{member}")).json()
    assert got["stage"] == "silent"
    assert "lifecycle:silent" in (await tenant.get(f"/api/v1/members/{member}")).json()["tags"]
    assert await lifecycle.advance(kernel, ws, now + timedelta(days=31)) == 0  # nothing left to move
    await events(tenant, (member, "checkin", now, {}))
    await settle(kernel, tenant.id)
    # joined today: engaging makes the member new again; once the joining is N days back, active
    assert (await tenant.get(f"{BASE}/members/{member}")).json()["stage"] == "new"
    await kernel.db.fetch(
        "UPDATE segments_profile SET joined_at = {}, stage = 'new' WHERE member_id = {}",
        now - timedelta(days=40),
        member,
    )
    assert await lifecycle.advance(kernel, ws, now) == 1
    assert (await tenant.get(f"{BASE}/members/{member}")).json()["stage"] == "active"
    assert await lifecycle.advance(kernel, ws, now + timedelta(days=95)) == 1
    assert (await tenant.get(f"{BASE}/members/{member}")).json()["stage"] == "churned"
    await settle(kernel, tenant.id)
    moved = (await tenant.get("/api/v1/events", params={"type": lifecycle.EVENT, "member_id": member})).json()["items"]
    assert sorted(f"{e['properties']['from']}>{e['properties']['to']}" for e in moved) == sorted(
        ["None>new", "new>silent", "silent>new", "new>active", "active>churned"]
    )
    tags = (await tenant.get(f"/api/v1/members/{member}")).json()["tags"]
    assert [t for t in tags if t.startswith("lifecycle:")] == ["lifecycle:churned"]
    stages = {s["stage"]: s["members"] for s in (await tenant.get(f"{BASE}/stages")).json()}
    assert stages == {"new": 0, "active": 0, "silent": 0, "churned": 1}


async def test_redelivery_in_any_order_equals_one_delivery(kernel: scrm.Kernel, tenant: Any) -> None:
    await tenant.enable("segments")
    ws = await kernel.workspaces.ref(tenant.slug)
    ids = [(await tenant.member(display_name=f"M{i}"))["id"] for i in range(5)]
    now = datetime.now(UTC)
    rng = random.Random(18)  # noqa: S311 - a reproducible shuffle, not a secret
    await events(
        tenant,
        *[
            (
                rng.choice(ids),
                rng.choice(["order.paid", "checkin", "comment.created"]),
                now - timedelta(days=rng.randint(0, 60)),
                {"amount": rng.randint(1, 500)},
            )
            for _ in range(60)
        ],
    )
    await settle(kernel, tenant.id)
    snapshot = "SELECT member_id, engagement, orders, monetary, seen_at, last_order_at FROM segments_profile WHERE workspace = {} ORDER BY member_id"
    daily = "SELECT member_id, type, day, n FROM segments_daily WHERE workspace = {} ORDER BY member_id, type, day"
    before = (
        [dict(r) for r in await kernel.db.fetch(snapshot, ws.id)],
        [dict(r) for r in await kernel.db.fetch(daily, ws.id)],
    )
    stored = await kernel.events.list(ws, scrm.EventFilter(), None, scrm.MAX_LIMIT)
    again = list(stored.items)
    rng.shuffle(again)
    async with kernel.db.transaction():
        await profiles.apply(kernel, ws, again[:30])
        await profiles.apply(kernel, ws, again)
    after = (
        [dict(r) for r in await kernel.db.fetch(snapshot, ws.id)],
        [dict(r) for r in await kernel.db.fetch(daily, ws.id)],
    )
    assert after == before
    paid = [e for e in again if e.type == "order.paid"]
    assert sum(r["orders"] for r in before[0]) == len(paid)
    assert sum(float(r["monetary"]) for r in before[0]) == sum(e.properties["amount"] for e in paid)


def test_runs_of_ids() -> None:
    assert applied.runs([]) == []
    assert applied.runs([1, 2, 3, 7, 9, 10]) == [(1, 3), (7, 7), (9, 10)]


async def test_applied_runs_take_each_event_once(kernel: scrm.Kernel, tenant: Any) -> None:
    """Batches with gaps, overlapping batches and two racing deliveries: every event comes back
    fresh exactly once, and the runs written never overlap."""
    await tenant.enable("segments")
    ws = await kernel.workspaces.ref(tenant.slug)
    member = (await tenant.member(display_name="R"))["id"]
    await events(tenant, *[(member, "checkin", datetime.now(UTC), {}) for _ in range(20)])
    await settle(kernel, tenant.id)
    stored = sorted((await kernel.events.list(ws, scrm.EventFilter(), None, scrm.MAX_LIMIT)).items, key=lambda e: e.id)
    await kernel.db.fetch("DELETE FROM segments_applied WHERE workspace = {}", ws.id)  # as if never delivered

    async def fresh(batch: list[scrm.EventOut]) -> list[int]:
        async with kernel.db.transaction():
            return [e.id for e in await applied.fresh(kernel, ws, batch)]

    taken = await fresh(stored[::3])  # runs of one, with gaps between
    taken += await fresh(stored[1:9])  # overlapping them, and reaching past
    taken += await fresh(stored[1:9])  # again: nothing
    racing = await asyncio.gather(fresh(stored[5:16]), fresh(stored[10:]))
    taken += [i for got in racing for i in got]
    assert sorted(taken) == [e.id for e in stored]
    rows = await kernel.db.fetch(
        "SELECT event_id, last_id FROM segments_applied WHERE workspace = {} ORDER BY event_id", ws.id
    )
    covered = [i for r in rows for i in range(int(r["event_id"]), int(r["last_id"]) + 1)]
    assert covered == sorted(set(covered))  # no event in two runs
    assert set(covered) == set(taken)


def test_kmeans_finds_the_groups() -> None:
    rng = np.random.default_rng(1)
    busy = rng.normal([1, 20, 2000, 300], [0.5, 2, 100, 20], size=(50, 4))
    idle = rng.normal([200, 0.2, 10, 2], [10, 0.1, 2, 1], size=(50, 4))
    fit = clusters.kmeans(np.abs(np.vstack([busy, idle])), 2)
    assert set(fit.labels[:50]) == {0}
    assert set(fit.labels[50:]) == {1}
    assert fit.centres[0][3] > fit.centres[1][3]
    again = clusters.kmeans(np.abs(np.vstack([busy, idle])), 2)
    assert (again.labels == fit.labels).all()


async def test_clusters_are_recomputed_and_listed(kernel: scrm.Kernel, tenant: Any) -> None:
    await tenant.enable("segments")
    ws = await kernel.workspaces.ref(tenant.slug)
    ids = [(await tenant.member(display_name=f"M{i}"))["id"] for i in range(12)]
    now = datetime.now(UTC)
    await events(tenant, *[(m, "checkin", now - timedelta(hours=h), {}) for m in ids[:4] for h in range(10)])
    await events(tenant, *[(m, "order.paid", now, {"amount": 900}) for m in ids[4:8]])
    await settle(kernel, tenant.id)
    found = await clusters.recompute(kernel, ws, 3)
    assert sum(c.size for c in found) == 12
    assert len(found) == 3
    listed = (await tenant.get(f"{BASE}/clusters")).json()
    assert [c["size"] for c in listed] == [c.size for c in found]
    assert listed[0]["engagement"] == 10  # the check-in regulars
    segment = await tenant.post(f"{BASE}/preview", {"definition": {"cluster": 0}})
    assert segment.json()["count"] == 4


async def test_an_erased_member_does_not_hold_up_delivery(kernel: scrm.Kernel, tenant: Any) -> None:
    await tenant.enable("segments")
    gone = (await tenant.member(display_name="Gone"))["id"]
    kept = (await tenant.member(display_name="Kept"))["id"]
    await events(tenant, (gone, "checkin", datetime.now(UTC), {}), (kept, "checkin", datetime.now(UTC), {}))
    assert (await tenant.delete(f"/api/v1/members/{gone}")).status_code == 204  # before the delivery
    await settle(kernel, tenant.id)
    failing = await kernel.db.fetch("SELECT COUNT(*) AS n FROM scrm_outbox WHERE workspace = {}", tenant.id)
    assert failing[0]["n"] == 0
    assert (await tenant.get(f"{BASE}/members/{kept}")).json()["stage"] == "new"
    assert (await tenant.get(f"{BASE}/members/{gone}")).status_code == 404


def erase_during_the_moves(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, monkeypatch: Any) -> list[asyncio.Task[None]]:
    """Make the first stage moves' member erased (on a connection of its own) before the upkeep that
    moved them commits: it has written their profile, stage and tag by then."""
    apply_moves = lifecycle.apply_moves
    erasing: list[asyncio.Task[None]] = []

    async def moves_then_erase(k: scrm.Kernel, w: scrm.WorkspaceRef, moves: Any, at: datetime) -> None:
        await apply_moves(k, w, moves, at)
        if moves and not erasing:
            erase = kernel.members.erase(ws, moves[0].member_id)
            erasing.append(asyncio.create_task(erase, context=contextvars.Context()))  # not this transaction
            await asyncio.wait(erasing, timeout=1)  # a chance to commit first, unless it waits for this one

    monkeypatch.setattr(lifecycle, "apply_moves", moves_then_erase)
    return erasing


async def nothing_left(kernel: scrm.Kernel, tenant: Any, gone: int) -> None:
    """The erased member has no profile, stage tag or counted stage, and no delivery failed."""
    failing = await kernel.db.fetch("SELECT last_error FROM scrm_outbox WHERE workspace = {}", tenant.id)
    assert failing == []
    assert (await tenant.get(f"{BASE}/members/{gone}")).status_code == 404
    tags = await kernel.db.fetch("SELECT COUNT(*) AS n FROM scrm_member_tag WHERE member = {}", gone)
    assert tags[0]["n"] == 0
    counted = await kernel.db.fetch("SELECT stage, n FROM segments_stage_count WHERE workspace = {}", tenant.id)
    assert all(r["n"] == 0 for r in counted), counted


async def test_an_erasure_racing_the_delivery_leaves_nothing(
    kernel: scrm.Kernel, tenant: Any, monkeypatch: Any
) -> None:
    """Erased while the delivery of their ``member.created`` is under way: whichever commits
    first, nothing of the member is left (the delivery holds the members it names)."""
    await tenant.enable("segments")
    erasing = erase_during_the_moves(kernel, await kernel.workspaces.ref(tenant.slug), monkeypatch)
    gone = (await tenant.member(display_name="Gone"))["id"]
    await settle(kernel, tenant.id)
    await asyncio.gather(*erasing)
    await settle(kernel, tenant.id)
    await nothing_left(kernel, tenant, gone)


async def test_an_erasure_racing_the_rebuild_leaves_nothing(kernel: scrm.Kernel, tenant: Any, monkeypatch: Any) -> None:
    """Erased while the rebuild queued by enabling segments applies their history: whichever
    commits first, nothing of the member is left (the rebuild holds each page's members)."""
    gone = (await tenant.member(display_name="Gone"))["id"]
    await settle(kernel, tenant.id)
    erasing = erase_during_the_moves(kernel, await kernel.workspaces.ref(tenant.slug), monkeypatch)
    await tenant.enable("segments")  # queues segments.rebuild
    await kernel.jobs.idle()
    assert erasing, "the rebuild moved no stage"
    await asyncio.gather(*erasing)
    await settle(kernel, tenant.id)
    await nothing_left(kernel, tenant, gone)
