"""The dashboard's figures (``kernel.reports``): member growth and events per day counted by the
workspace's days (its time zone), consent coverage from the latest record per member and purpose, the
headline numbers — and never a row of another workspace."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import pytest
from conftest import Tenant
from scrm import ConsentIn, MemberCreate, MemberUpdate, NewEvent, ValidationFailed, WorkspaceCreate, WorkspaceRef
from scrm.kernel import Kernel
from scrm.services.reports import MAX_DAYS, DayCount

EMAIL, SMS = "marketing.email", "marketing.sms"


async def workspace(kernel: Kernel, time_zone: str = "UTC") -> WorkspaceRef:
    slug = f"r-{secrets.token_hex(4)}"
    await kernel.workspaces.create(WorkspaceCreate(slug=slug, name=slug, time_zone=time_zone))
    return await kernel.workspaces.ref(slug)


async def members(kernel: Kernel, ws: WorkspaceRef, *created: datetime) -> list[int]:
    """New members of ``ws`` who joined at these times."""
    ids = []
    for at in created:
        member = await kernel.members.create(ws, MemberCreate(display_name="someone"))
        await kernel.db.fetch("UPDATE scrm_member SET created_at = {} WHERE id = {}", at, member.id)
        ids.append(member.id)
    return ids


def today_midnight(ws: WorkspaceRef) -> datetime:
    """The start of today in the workspace's time zone."""
    zone = ZoneInfo(ws.time_zone)
    return datetime.combine(datetime.now(zone).date(), time(), zone)


def by_day(days: list[DayCount]) -> dict[date, int]:
    return {d.day: d.count for d in days if d.count}


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Asia/Kathmandu", "America/New_York", "UTC"])
async def test_member_growth_counts_the_workspace_days(kernel: Kernel, zone: str) -> None:
    ws, elsewhere = await workspace(kernel, zone), await workspace(kernel, zone)
    midnight = today_midnight(ws)
    today, yesterday = midnight.date(), midnight.date() - timedelta(days=1)
    await members(
        kernel,
        ws,
        midnight,  # the first moment of today there
        midnight - timedelta(minutes=1),  # the last minute of yesterday there (another UTC date in most zones)
        midnight - timedelta(days=5, hours=1),
        midnight - timedelta(days=5, hours=2),
        midnight - timedelta(days=40),  # before a 30-day period
        midnight - timedelta(days=400),
    )
    await members(kernel, elsewhere, midnight, midnight - timedelta(days=5), midnight - timedelta(days=40))

    growth = await kernel.reports.member_growth(ws, 30)
    assert len(growth.days) == 30
    assert growth.days[0].day == today - timedelta(days=29)
    assert growth.days[-1].day == today
    assert by_day(growth.days) == {today: 1, yesterday: 1, today - timedelta(days=6): 2}
    assert growth.before == 2
    assert growth.total == 6

    week = await kernel.reports.member_growth(ws, 7)
    assert by_day(week.days) == {today: 1, yesterday: 1, today - timedelta(days=6): 2}
    assert week.before == 2
    short = await kernel.reports.member_growth(ws, 6)
    assert by_day(short.days) == {today: 1, yesterday: 1}
    assert short.before == 4


async def test_erased_members_are_not_counted(kernel: Kernel) -> None:
    ws = await workspace(kernel)
    now = datetime.now(UTC)
    _kept, erased, old_erased = await members(kernel, ws, now, now, now - timedelta(days=90))
    await kernel.members.erase(ws, erased)
    await kernel.members.erase(ws, old_erased)
    growth = await kernel.reports.member_growth(ws, 7)
    assert (growth.before, growth.total) == (0, 1)
    assert (await kernel.reports.headline(ws)).members == 1


async def test_events_per_day_in_the_workspace_time_zone(kernel: Kernel) -> None:
    ws, elsewhere = await workspace(kernel, "Asia/Shanghai"), await workspace(kernel, "Asia/Shanghai")
    midnight = today_midnight(ws)
    today = midnight.date()
    (ann,) = await members(kernel, ws, midnight)
    (other_member,) = await members(kernel, elsewhere, midnight)
    times = [
        midnight,
        midnight - timedelta(seconds=1),
        midnight - timedelta(days=2, hours=23),
        midnight - timedelta(days=8),
    ]
    await kernel.events.record(ws, [NewEvent(ann, "checkin", occurred_at=at) for at in times])
    await kernel.events.record(ws, [NewEvent(ann, "order.paid", occurred_at=midnight)])
    await kernel.events.record(elsewhere, [NewEvent(other_member, "checkin", occurred_at=at) for at in times])

    checkins = await kernel.reports.events_per_day(ws, 7, type="checkin")
    assert len(checkins) == 7
    assert by_day(checkins) == {today: 1, today - timedelta(days=1): 1, today - timedelta(days=3): 1}
    assert by_day(await kernel.reports.events_per_day(ws, 7, type="order.paid")) == {today: 1}
    assert by_day(await kernel.reports.events_per_day(ws, 7, type="nothing")) == {}
    everything = by_day(await kernel.reports.events_per_day(ws, 30))
    assert everything[today - timedelta(days=8)] == 1
    assert everything[today] >= 2  # and the core's member.created of today


async def test_consent_coverage_reads_the_latest_record_of_active_members(kernel: Kernel) -> None:
    ws, elsewhere = await workspace(kernel), await workspace(kernel)
    now = datetime.now(UTC)
    ann, bob, cy, blocked, erased = await members(kernel, ws, now, now, now, now, now)
    (stranger,) = await members(kernel, elsewhere, now)

    def record(member: int, purpose: str, status: Literal["granted", "withdrawn"] = "granted") -> ConsentIn:
        return ConsentIn(member_id=member, purpose=purpose, status=status)

    await kernel.consents.append(
        ws,
        [
            record(ann, EMAIL),
            record(bob, EMAIL),
            record(bob, EMAIL, "withdrawn"),  # the latest record counts
            record(cy, SMS, "withdrawn"),
            record(cy, SMS),
            record(blocked, EMAIL),
            record(erased, EMAIL),
        ],
    )
    await kernel.members.update(ws, blocked, MemberUpdate(status="blocked"))
    await kernel.members.erase(ws, erased)
    await kernel.consents.append(elsewhere, [record(stranger, EMAIL), record(stranger, SMS)])
    await kernel.consents.purposes.create(ws, "survey", "Surveys")

    coverage = {c.purpose: c for c in await kernel.reports.consent_coverage(ws)}
    assert sorted(coverage) == sorted(["data.share", EMAIL, SMS, "marketing.wecom", "profiling", "survey"])
    assert (coverage[EMAIL].granted, coverage[EMAIL].members) == (1, 3)
    assert (coverage[SMS].granted, coverage[SMS].members) == (1, 3)
    assert coverage[EMAIL].share == pytest.approx(1 / 3)
    assert (coverage["survey"].granted, coverage["survey"].description) == (0, "Surveys")
    assert coverage["profiling"].share == 0.0
    assert "survey" not in {c.purpose for c in await kernel.reports.consent_coverage(elsewhere)}


async def test_consent_coverage_of_an_empty_workspace(kernel: Kernel) -> None:
    coverage = await kernel.reports.consent_coverage(await workspace(kernel))
    assert coverage
    assert all(c.granted == c.members == 0 and c.share == 0.0 for c in coverage)


async def test_headline(kernel: Kernel, tenant: Tenant, other: Tenant) -> None:
    ws, elsewhere = await kernel.workspaces.ref(tenant.slug), await kernel.workspaces.ref(other.slug)
    now = datetime.now(UTC)
    empty = await kernel.reports.headline(ws)
    assert (empty.members, empty.active, empty.recent_events, empty.active_ratio) == (0, 0, 0, 0.0)

    ann, bob, _ = await members(kernel, ws, now, now, now)  # three member.created events, now
    (stranger,) = await members(kernel, elsewhere, now)
    await kernel.events.record(
        ws,
        [
            NewEvent(ann, "checkin", occurred_at=now - timedelta(days=1)),
            NewEvent(bob, "checkin", occurred_at=now - timedelta(days=8)),
        ],
    )
    await kernel.events.record(elsewhere, [NewEvent(stranger, "checkin", occurred_at=now)])
    # delivering the events marks members active; let it finish before setting activity by hand
    await kernel.jobs.idle()
    await kernel.db.fetch("UPDATE scrm_member SET last_active_at = {} WHERE id = {}", now - timedelta(days=2), ann)
    await kernel.db.fetch("UPDATE scrm_member SET last_active_at = {} WHERE id = {}", now - timedelta(days=40), bob)
    await kernel.db.fetch("UPDATE scrm_member SET last_active_at = {} WHERE id = {}", now, stranger)

    headline = await kernel.reports.headline(ws)
    assert (headline.members, headline.active, headline.recent_events) == (3, 1, 4)
    assert headline.active_ratio == pytest.approx(1 / 3)


@pytest.mark.parametrize("days", [0, -1, MAX_DAYS + 1])
async def test_a_period_out_of_range_is_refused(kernel: Kernel, tenant: Tenant, days: int) -> None:
    ws = await kernel.workspaces.ref(tenant.slug)
    with pytest.raises(ValidationFailed) as raised:
        await kernel.reports.member_growth(ws, days)
    assert raised.value.errors == [{"field": "days", "source": "query", "message": f"must be 1 to {MAX_DAYS}"}]
    with pytest.raises(ValidationFailed):
        await kernel.reports.events_per_day(ws, days)
