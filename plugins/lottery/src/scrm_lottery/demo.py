"""Demo data for ``scrm demo``: a drawn campaign with its winners (a real, verifiable draw) and an open
instant-win wheel with stock. The demo writes the lottery's own rows only: its draw records no
``lottery.won`` events and asks no consent, so seeding tells nobody anything (press "Notify winners"
on its page, or ``POST …/notify``, to do that)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import scrm

from scrm_lottery import campaigns, draws
from scrm_lottery.schemas import CampaignIn, PrizeIn

DRAW_ENTRIES = 300


async def seed(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_ids: list[int]) -> None:
    if await kernel.sql.fetch("SELECT id FROM lottery_campaign WHERE workspace = {} LIMIT 1", ws.id):
        return  # seeded before
    at = datetime.now(UTC)
    async with kernel.db.transaction():
        drawn = await campaigns.insert(
            kernel,
            ws,
            CampaignIn(
                name="Live-stream giveaway 直播抽奖",
                description="Members who commented during the launch stream entered; three prizes.",
                opens_at=at - timedelta(days=7),
                closes_at=at + timedelta(days=7),
                prizes=[
                    PrizeIn(name="Espresso machine", quantity=1, value=299900),
                    PrizeIn(name="Coffee beans 1 kg", quantity=5, value=15900),
                ],
            ),
        )
        await campaigns.publish(kernel, ws, drawn, None)
        entrants = sorted(member_ids)[:DRAW_ENTRIES]
        for start in range(0, len(entrants), 200):
            chunk = entrants[start : start + 200]
            args: list[object] = []
            for member_id in chunk:
                args += [ws.id, drawn, member_id, at - timedelta(days=1)]
            await kernel.sql.fetch(
                "INSERT INTO lottery_entry (workspace, campaign, member_id, entered, tickets, points_spent, created_at) "
                "VALUES " + ", ".join("({}, {}, {}, TRUE, 1, 0, {})" for _ in chunk),
                *args,
            )
        await kernel.sql.fetch(
            "UPDATE lottery_campaign SET state = 'closed' WHERE id = {} AND workspace = {}", drawn, ws.id
        )
        await draws.freeze_and_draw(kernel, ws, drawn, None)
        wheel = await campaigns.insert(
            kernel,
            ws,
            CampaignIn(
                name="Wheel of fortune 大转盘",
                description="Three spins a day for every member.",
                mode="instant",
                opens_at=at - timedelta(hours=1),
                closes_at=at + timedelta(days=30),
                prizes=[
                    PrizeIn(name="Free latte", quantity=50, value=3200, odds=0.05),
                    PrizeIn(name="10% coupon", quantity=500, value=1000, odds=0.25),
                ],
                daily_spin_limit=3,
            ),
        )
        await campaigns.publish(kernel, ws, wheel, None)
