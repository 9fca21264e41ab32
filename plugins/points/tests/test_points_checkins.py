"""Check-in (签到): once per member per day of the workspace's time zone, with streaks and bonuses."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import scrm
import scrm_points.clock
import scrm_points.service
from scrm import Kernel
from scrm.testing import Tenant, problem

API = "/api/v1/points"


class Clock:
    """A settable clock for the plugin (``scrm_points.clock.now``)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(datetime(2026, 3, 1, 15, 59, tzinfo=UTC))  # 23:59 in Shanghai
    monkeypatch.setattr(scrm_points.clock, "now", fake)
    return fake


async def shanghai(tenant: Tenant, kernel: Kernel, **settings: object) -> None:
    await kernel.workspaces.update(tenant.slug, scrm.WorkspaceUpdate(time_zone="Asia/Shanghai"))
    kernel.forget_cached()
    await tenant.enable("points")
    response = await tenant.client.put(f"{API}/settings", json=settings, headers=tenant.headers())
    assert response.status_code == 200, response.text


async def test_streak_across_the_time_zones_midnight(tenant: Tenant, kernel: Kernel, clock: Clock) -> None:
    await shanghai(tenant, kernel, checkin_points=10, streak_bonuses={"2": 5, "3": 100})
    member = await tenant.member(external_id="c-1")
    first = await tenant.post(f"{API}/checkins", {"external_id": "c-1"})
    assert first.status_code == 201, first.text
    assert first.json() == {
        "member_id": member["id"],
        "day": "2026-03-01",
        "streak": 1,
        "points": 10,
        "bonus": 0,
        "balance": 10,
    }
    clock.at += timedelta(minutes=2)  # 00:01 in Shanghai: the next day, though still 1 March in UTC
    second = (await tenant.post(f"{API}/checkins", {"member_id": member["id"]})).json()
    assert (second["day"], second["streak"], second["points"], second["balance"]) == ("2026-03-02", 2, 15, 25)
    again = problem(await tenant.post(f"{API}/checkins", {"member_id": member["id"]}), 409, "points-already-checked-in")
    assert again["day"] == "2026-03-02"
    clock.at += timedelta(days=1)
    third = (await tenant.post(f"{API}/checkins", {"member_id": member["id"]})).json()
    assert (third["streak"], third["points"], third["bonus"]) == (3, 110, 100)
    clock.at += timedelta(days=2)  # a day missed: the streak starts again
    fourth = (await tenant.post(f"{API}/checkins", {"member_id": member["id"]})).json()
    assert (fourth["streak"], fourth["points"], fourth["balance"]) == (1, 10, 145)


async def test_checkin_records_an_event(tenant: Tenant, kernel: Kernel, clock: Clock) -> None:
    await shanghai(tenant, kernel)
    member = await tenant.member()
    await tenant.post(f"{API}/checkins", {"member_id": member["id"]})
    events = (await tenant.get(f"/api/v1/members/{member['id']}/events", params={"type": "points.checkin"})).json()
    [event] = events["items"]
    assert event["properties"] == {"day": "2026-03-01", "streak": 1, "points": 10, "bonus": 0}
    assert event["idempotency_key"] == f"points.checkin:{member['id']}:2026-03-01"
    assert event["source"] == "points"


async def test_concurrent_checkins_count_once(tenant: Tenant, kernel: Kernel, clock: Clock) -> None:
    await shanghai(tenant, kernel)
    member = await tenant.member()
    responses = await asyncio.gather(*(tenant.post(f"{API}/checkins", {"member_id": member["id"]}) for _ in range(10)))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
    account = (await tenant.get(f"{API}/members/{member['id']}")).json()
    assert account["balance"] == 10


async def test_checkin_needs_exactly_one_member(tenant: Tenant, kernel: Kernel, clock: Clock) -> None:
    await shanghai(tenant, kernel)
    member = await tenant.member(external_id="x-1")
    body = problem(await tenant.post(f"{API}/checkins", {}), 422, "validation-error")
    assert body["errors"][0]["field"] == "member_id"
    body = problem(
        await tenant.post(f"{API}/checkins", {"member_id": member["id"], "external_id": "x-1"}), 422, "validation-error"
    )
    assert body["errors"][0]["field"] == "external_id"
    problem(await tenant.post(f"{API}/checkins", {"member_id": "one"}), 422, "validation-error")
    problem(await tenant.post(f"{API}/checkins", {"external_id": "nobody"}), 404, "not-found")


async def test_checkin_of_no_usable_member_writes_nothing(tenant: Tenant, kernel: Kernel, clock: Clock) -> None:
    """The check-in's writes come first and the event's member check last: a member id not of the
    workspace (or erased) rolls all of it back, tier included, and says why."""
    await shanghai(tenant, kernel, tiers=[{"name": "starter", "threshold": 1}])
    problem(await tenant.post(f"{API}/checkins", {"member_id": 2**40}), 404, "not-found")
    erased = await tenant.member()
    assert (await tenant.delete(f"/api/v1/members/{erased['id']}")).status_code == 204
    problem(await tenant.post(f"{API}/checkins", {"member_id": erased["id"]}), 409, "points-member-erased")
    for table in ("points_checkin", "points_transaction", "points_lot", "points_account", "points_tier_change"):
        rows = await kernel.db.fetch(f"SELECT COUNT(*) AS n FROM {table} WHERE workspace = {{}}", tenant.id)
        assert rows[0]["n"] == 0, table
    member = await tenant.member()
    assert (await tenant.post(f"{API}/checkins", {"member_id": member["id"]})).status_code == 201
    assert "tier:starter" in (await tenant.get(f"/api/v1/members/{member['id']}")).json()["tags"]


async def test_checkins_at_once_share_batches_and_keep_their_own_answers(
    tenant: Tenant, kernel: Kernel, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many members checking in at once (a group commit on PostgreSQL): each gets its own streak,
    points and balance, a second check-in its 409, an erased member its own 409, a member of no
    workspace its 404 — and the others are written all the same. On SQLite, one at a time, the
    same answers."""
    await shanghai(
        tenant, kernel, checkin_points=10, streak_bonuses={"2": 5}, tiers=[{"name": "starter", "threshold": 1}]
    )
    members = [(await tenant.member())["id"] for _ in range(30)]
    yesterday = members[:10]  # checked in yesterday: a streak of 2 today
    clock.at -= timedelta(days=1)
    for m in yesterday:
        assert (await tenant.post(f"{API}/checkins", {"member_id": m})).status_code == 201
    clock.at += timedelta(days=1)
    erased = (await tenant.member())["id"]
    assert (await tenant.delete(f"/api/v1/members/{erased}")).status_code == 204
    sizes: list[int] = []
    write = scrm_points.service.CHECKINS.write_batch

    async def watched(kernel: Kernel, items: Any) -> Any:
        sizes.append(len(items))
        return await write(kernel, items)

    monkeypatch.setattr(scrm_points.service.CHECKINS, "write_batch", watched)
    bodies = [{"member_id": m} for m in members] + [
        {"member_id": members[3]},
        {"member_id": erased},
        {"member_id": 2**40},
    ]
    replies = await asyncio.gather(*(tenant.post(f"{API}/checkins", body) for body in bodies))
    statuses = [r.status_code for r in replies]
    assert sorted([statuses[3], statuses[30]]) == [201, 409]
    assert [s for i, s in enumerate(statuses[:30]) if i != 3] == [201] * 29
    problem(replies[31], 409, "points-member-erased")
    problem(replies[32], 404, "not-found")
    for m, reply in zip(members, replies, strict=False):
        body = reply.json() if reply.status_code == 201 else replies[30].json()
        assert body["member_id"] == m
        streak = 2 if m in yesterday else 1
        assert (body["streak"], body["points"]) == (streak, 15 if streak == 2 else 10)
        assert body["balance"] == (25 if streak == 2 else 10)
        assert "tier:starter" in (await tenant.get(f"/api/v1/members/{m}")).json()["tags"]
    rows = await kernel.db.fetch(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT member_id) AS members FROM points_checkin WHERE workspace = {}", tenant.id
    )
    assert (rows[0]["n"], rows[0]["members"]) == (40, 30)
    events = await kernel.db.fetch(
        "SELECT COUNT(*) AS n FROM scrm_event WHERE workspace = {} AND type = 'points.checkin'", tenant.id
    )
    assert events[0]["n"] == 40
    if kernel.sql.postgres:
        assert max(sizes) > 1, sizes
