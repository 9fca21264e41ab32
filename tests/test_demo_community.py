"""The demo looks like a living community: members joined over 90 days (more of them lately), visits
follow a weekly rhythm, some members stopped coming, and the dashboard's charts show a trend rather
than one spike on the day the demo was seeded."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from scrm.demo import HISTORY_DAYS, demo_events, demo_joined, seed
from scrm.kernel import Kernel


def test_members_join_over_the_history_more_of_them_lately() -> None:
    joined = demo_joined(1000)
    assert min(joined) >= 0
    assert max(joined) <= HISTORY_DAYS
    by_month = Counter(int(days // 30) for days in joined)
    assert by_month[0] > by_month[1] > by_month[2] > 0  # growth: the latest month has the most


def test_visits_have_a_weekly_rhythm_and_churn() -> None:
    ids = list(range(1, 1001))
    joined = demo_joined(len(ids))
    events = demo_events(ids, joined=joined)
    weekdays = Counter(e.occurred_at.weekday() for e in events)
    assert weekdays[5] > 1.5 * weekdays[0]  # Saturday against Monday
    now = datetime.now(UTC)
    last_seen: dict[int, datetime] = {}
    for e in events:
        last_seen[e.member_id] = max(last_seen.get(e.member_id, e.occurred_at), e.occurred_at)
    long_standing = [m for m, days in zip(ids, joined, strict=True) if days > 60 and m in last_seen]
    gone = [m for m in long_standing if now - last_seen[m] > timedelta(days=21)]
    assert 0.1 < len(gone) / len(long_standing) < 0.6  # some stopped coming, most did not
    assert len({e.idempotency_key for e in events}) == len(events)
    assert all(e.occurred_at <= now for e in events)
    # what happens on a date depends on the member and the date alone: seeding again adds nothing
    # the same day, and the next day only that day's visits
    keys = {e.idempotency_key: e.occurred_at for e in events}
    assert {e.idempotency_key: e.occurred_at for e in demo_events(ids, joined=joined)} == keys
    tomorrow = demo_events(ids, joined=joined, today=now.date() + timedelta(days=1))
    shared = [e for e in tomorrow if e.idempotency_key in keys]
    assert all(keys[e.idempotency_key] == e.occurred_at for e in shared)
    assert len(shared) > 0.9 * len(events)


async def test_the_seeded_workspace_grew_over_90_days(kernel: Kernel) -> None:
    seeded = await seed(kernel, members=200)
    ws = await kernel.workspaces.ref(seeded.slug)
    growth = await kernel.reports.member_growth(ws, days=90)
    per_day = [d.count for d in growth.days]
    assert sum(per_day) + growth.before == seeded.members == 200
    assert max(per_day) < 40  # not everyone on one day
    assert sum(per_day[-30:]) > sum(per_day[:30])  # more joined lately
    events = await kernel.reports.events_per_day(ws, days=90)
    assert sum(1 for d in events if d.count) > 60  # activity on most days, not one spike
