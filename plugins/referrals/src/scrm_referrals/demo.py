"""Demo data for ``scrm demo``: a campaign with a month of referrals among the demo's members —
codes, a few invite trees three levels deep, conversions spread over the last 30 days (so the K
chart has bars), a few referrals held with fraud signals (so the review queue has work), landings,
and the rewards of the conversions. Written straight into the tables (seeding records no events and
awards no points), once."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import scrm

from scrm_referrals import campaigns, codes
from scrm_referrals.schemas import ReferralCampaignIn, RewardRule

INVITERS = 30  # demo members with a code
INVITEES = 120  # demo members brought in by them (and by those they brought in)
DAYS = 30


async def seed(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_ids: list[int]) -> None:
    if await kernel.sql.fetch("SELECT id FROM referrals_campaign WHERE workspace = {} LIMIT 1", ws.id):
        return  # seeded before
    people = sorted(member_ids)[: INVITERS + INVITEES]
    if len(people) < 10:
        return
    draw = random.Random(ws.id)  # noqa: S311 - demo data, not security
    now = datetime.now(UTC)
    start = now - timedelta(days=DAYS)
    async with kernel.db.transaction():
        campaign = await campaigns.create(
            kernel,
            ws,
            ReferralCampaignIn(
                name="Bring a friend 邀请好友",
                description="Invite a friend: you both get a free coffee.",
                inviter_reward=RewardRule(tag="ambassador"),
                invitee_reward=RewardRule(tag="invited"),
                levels=2,
                second_reward=RewardRule(),
                daily_cap=5,
                landing_url="https://coffee.example/join?code={code}",
            ),
        )
        await kernel.sql.fetch("UPDATE referrals_campaign SET created_at = {} WHERE id = {}", start, campaign.id)
        holders: dict[int, int] = {}  # member → code id
        parent: dict[int, int] = {}  # invitee → inviter
        for member_id in people[:INVITERS]:
            holders[member_id] = await _code(kernel, ws, campaign.id, member_id, start)
        invitees = people[INVITERS:]
        for n, invitee in enumerate(invitees):
            inviter = draw.choice(list(holders))
            # Each join falls inside its own slot of the month, never on its edges: the first one no
            # earlier than a "last 30 days" asked a moment after seeding, the last one not in the future.
            joined = start + timedelta(days=DAYS * (n + draw.uniform(0.1, 0.9)) / len(invitees))
            converted = min(joined + timedelta(hours=2), now)
            signals = ["shared-source"] if n % 17 == 5 else []
            state = "held" if signals else ("converted" if draw.random() < 0.8 else "pending")
            row = await kernel.sql.fetch(
                "INSERT INTO referrals_referral (workspace, campaign, code, inviter_id, invitee_id, second_id, state, "
                "signals, joined_at, converted_at, acted_at, note) "
                "VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, '') RETURNING id",
                ws.id,
                campaign.id,
                holders[inviter],
                inviter,
                invitee,
                parent.get(inviter),
                state,
                json.dumps(signals),
                joined,
                converted if state != "pending" else None,
                min(joined + timedelta(days=1), now) if draw.random() < 0.7 else None,
            )
            parent[invitee] = inviter
            if state != "pending":
                for role, member_id in (("invitee", invitee), ("inviter", inviter)):
                    await kernel.sql.fetch(
                        "INSERT INTO referrals_reward (workspace, campaign, referral, member_id, role, points, tag, "
                        "state, created_at) VALUES ({}, {}, {}, {}, {}, 0, {}, {}, {})",
                        ws.id,
                        campaign.id,
                        row[0]["id"],
                        member_id,
                        role,
                        campaign.reward(role).tag,
                        "paid" if state == "converted" else "held",
                        converted,
                    )
            if draw.random() < 0.4:  # some invitees invite in turn
                holders[invitee] = await _code(kernel, ws, campaign.id, invitee, joined)
        for day in range(DAYS + 1):
            await kernel.sql.fetch(
                "INSERT INTO referrals_landing (workspace, campaign, day, slot, n) VALUES ({}, {}, {}, 0, {})",
                ws.id,
                campaign.id,
                (start + timedelta(days=day)).date(),
                draw.randint(4, 14),
            )


async def _code(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int, member_id: int, at: datetime) -> int:
    rows = await kernel.sql.fetch(
        "INSERT INTO referrals_code (workspace, campaign, member_id, code, created_at) VALUES ({}, {}, {}, {}, {}) "
        "RETURNING id",
        ws.id,
        campaign_id,
        member_id,
        codes.new_code(),
        at,
    )
    return int(rows[0]["id"])
