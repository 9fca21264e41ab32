"""Demo data for ``scrm demo``: settings with tiers, rules for the demo's ``checkin`` and
``order.paid`` events, a rewards catalogue, and some history (check-in streaks, redemptions) so the
members have balances and tiers to show.

The hook receives no kernel, so it writes through piccolo's engine; the tier tags of the members it
moves are written by the ``points.tiers`` cron job once the server runs. The demo's own events earn
points through the rules when they are delivered after the rules exist.
"""

from __future__ import annotations

import random
from datetime import timedelta

import scrm

from scrm_points import clock, config
from scrm_points.config import PointsSettings, Tier
from scrm_points.ledger import Credit, Debit, Ledger
from scrm_points.rules import Rules
from scrm_points.schemas import AtLeast, RuleIn
from scrm_points.sql import Sql
from scrm_points.tables import Account

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
    ("Coffee voucher", "One regular coffee in any store", 100, 500),
    ("Tote bag", "The club's canvas tote", 300, 50),
    ("Free latte", "Any size, any store", 150, None),
]


async def seed(workspace: scrm.WorkspaceRef, member_ids: list[int]) -> None:
    sql = Sql.bound()
    if await sql.fetch("SELECT id FROM points_rule WHERE workspace = {} LIMIT 1", workspace.id):
        return  # seeded on an earlier run
    rng = random.Random(11)  # noqa: S311  (demo data, not secrets)
    async with Account._meta.db.transaction():
        await config.save(sql, workspace.id, SETTINGS)
        rules = Rules(sql)
        for rule in RULES:
            await rules.create(workspace.id, rule)
        reward_ids = []
        at = clock.now()
        for name, description, cost, stock in REWARDS:
            rows = await sql.fetch(
                "INSERT INTO points_reward (workspace, name, description, cost, stock, active, created_at, updated_at) "
                "VALUES ({}, {}, {}, {}, {}, {}, {}, {}) RETURNING id",
                workspace.id,
                name,
                description,
                cost,
                stock,
                True,
                at,
                at,
            )
            reward_ids.append((int(rows[0]["id"]), name, cost))
        ledger = Ledger(sql, workspace.id, SETTINGS)
        today = clock.local_day(at, workspace.time_zone)
        for member_id in member_ids:
            streak = rng.choice([0, 0, 1, 3, 5, 8, 12, 31])
            credits = []
            for n in range(streak):
                day = today - timedelta(days=streak - n)
                points = SETTINGS.checkin_points + SETTINGS.streak_bonuses.get(n + 1, 0)
                await sql.fetch(
                    "INSERT INTO points_checkin (workspace, member_id, day, streak, points, created_at) "
                    "VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT (workspace, member_id, day) DO NOTHING",
                    workspace.id,
                    member_id,
                    day,
                    n + 1,
                    points,
                    at - timedelta(days=streak - n),
                )
                credits.append(
                    Credit(
                        member_id,
                        points,
                        "award",
                        "check-in",
                        f"checkin:{member_id}:{day}",
                        at - timedelta(days=streak - n),
                    )
                )
            if rng.random() < 0.3:
                credits.append(
                    Credit(
                        member_id,
                        rng.choice([100, 200, 500, 1200]),
                        "adjust",
                        "welcome gift",
                        f"adjust:demo:{member_id}",
                        at,
                    )
                )
            credited = await ledger.credit(credits)
            account = credited.accounts.get(member_id)
            if account is not None and rng.random() < 0.3:
                affordable = [r for r in reward_ids if r[2] <= account.balance]
                if affordable:
                    reward_id, name, cost = rng.choice(affordable)
                    await sql.fetch("UPDATE points_reward SET stock = stock - 1 WHERE id = {} AND stock > 0", reward_id)
                    posted = await ledger.debit(
                        Debit(member_id, cost, "redeem", f"reward: {name}", f"redemption:{reward_id}:demo{member_id}")
                    )
                    await sql.fetch(
                        "INSERT INTO points_redemption (workspace, member_id, reward_id, reward_name, cost, "
                        "transaction_id, created_at) VALUES ({}, {}, {}, {}, {}, {}, {})",
                        workspace.id,
                        member_id,
                        reward_id,
                        name,
                        cost,
                        posted.transaction_id,
                        at,
                    )
