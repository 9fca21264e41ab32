"""Demo data for ``scrm demo``: settings with tiers, rules for the demo's ``checkin`` and
``order.paid`` events, a rewards catalogue and some history (check-in streaks, gifts, redemptions);
then the rules applied to the demo's events, so the members have balances and tiers to show.

The settings, rules and catalogue are written once (a later run finds the rules and leaves them).
The rules are applied on every run, to the events the core recorded before calling the hook; the
outbox delivers those events later as well, and nothing is awarded twice (each award's reference
names its rule and event, unique in the workspace).
"""

from __future__ import annotations

import random
from datetime import timedelta

import scrm

from scrm_points import checkins, clock
from scrm_points.config import PointsSettings, Tier
from scrm_points.ledger import Credit, Ledger
from scrm_points.routes import points
from scrm_points.schemas import AtLeast, RewardIn, RuleIn
from scrm_points.service import PointsService

SETTINGS = PointsSettings(
    expiry_months=12,
    checkin_points=10,
    streak_bonuses={7: 50, 30: 300},
    tiers=[Tier("silver", 200), Tier("gold", 1000), Tier("platinum", 5000)],
)
RULES = [
    RuleIn(name="Store check-in", event_type="checkin", points=5, daily_cap=5),
    RuleIn(name="Paid order", event_type="order.paid", points=20, daily_cap=100),
    RuleIn(name="Big order bonus", event_type="order.paid", points=50, conditions={"amount": AtLeast(min=100)}),
]
REWARDS = [
    RewardIn(name="Coffee voucher", description="One regular coffee in any store", cost=100, stock=500),
    RewardIn(name="Tote bag", description="The club's canvas tote", cost=300, stock=50),
    RewardIn(name="Free latte", description="Any size, any store", cost=150),
]
#: Events read at a time when the rules are applied to the demo's events.
PAGE = 500


async def seed(kernel: scrm.Kernel, workspace: scrm.WorkspaceRef, member_ids: list[int]) -> None:
    service = points(kernel)
    if not await kernel.sql.fetch("SELECT id FROM points_rule WHERE workspace = {} LIMIT 1", workspace.id):
        await _history(kernel, service, workspace, member_ids)
    await award_events(kernel, service, workspace)


async def award_events(kernel: scrm.Kernel, service: PointsService, workspace: scrm.WorkspaceRef) -> int:
    """Apply the workspace's active rules to its events of the types they name, a page at a time;
    returns the awards made (none for events awarded before)."""
    awards = 0
    for event_type in sorted({rule.event_type for rule in await service.active_rules(workspace)}):
        cursor = None
        while True:
            page = await kernel.events.list(workspace, scrm.EventFilter(type=event_type), cursor, PAGE)
            events = list(reversed(page.items))  # the page, oldest first
            async with kernel.db.transaction():
                awards += await service.apply_rules(workspace, events)
            cursor = page.next_cursor
            if cursor is None:
                break
    return awards


async def _history(
    kernel: scrm.Kernel, service: PointsService, workspace: scrm.WorkspaceRef, member_ids: list[int]
) -> None:
    """Settings, rules, rewards, and some members' check-in streaks, welcome gifts and redemptions."""
    rng = random.Random(11)  # noqa: S311  (demo data, not secrets)
    async with kernel.db.transaction():
        await service.put_settings(workspace, SETTINGS)
        for rule in RULES:
            await service.create_rule(workspace, rule)
        rewards = [await service.create_reward(workspace, reward) for reward in REWARDS]
        ledger = Ledger(kernel, workspace, SETTINGS)
        at = clock.now()
        today = clock.local_day(at, workspace.time_zone)
        for member_id in member_ids:
            streak = rng.choice([0, 0, 1, 3, 5, 8, 12, 31])
            credits = []
            for n in range(streak):
                day, earned_at = today - timedelta(days=streak - n), at - timedelta(days=streak - n)
                points_earned = SETTINGS.checkin_points + SETTINGS.streak_bonuses.get(n + 1, 0)
                await kernel.sql.fetch(
                    "INSERT INTO points_checkin (workspace, member_id, day, streak, points, created_at) "
                    "VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT (workspace, member_id, day) DO NOTHING",
                    workspace.id,
                    member_id,
                    day,
                    n + 1,
                    points_earned,
                    earned_at,
                )
                reference = checkins.reference(member_id, day)
                credits.append(Credit(member_id, points_earned, "award", checkins.reason(n + 1), reference, earned_at))
            if rng.random() < 0.3:
                gift = rng.choice([100, 200, 500, 1200])
                credits.append(Credit(member_id, gift, "adjust", "welcome gift", f"adjust:demo:{member_id}", at))
            account = (await ledger.credit(credits)).accounts.get(member_id)
            if account is not None and rng.random() < 0.3:
                affordable = [r for r in rewards if r.cost <= account.balance]
                if affordable:
                    reward = rng.choice(affordable)
                    await ledger.redeem(member_id, reward.id, f"redemption:{reward.id}:demo{member_id}")
