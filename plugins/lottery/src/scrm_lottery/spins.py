"""Instant win (大转盘, the wheel of fortune): a spin decides at once.

One transaction per spin: the campaign read (share-locked on PostgreSQL), the member's spin counters
bumped by conditional upserts (``… DO UPDATE SET spins = spins + 1 WHERE spins < limit``: a counter
at its limit returns no row and the spin is refused, so concurrent spins cannot exceed it), the
points cost spent, then the outcome: ``secrets.randbelow(1_000_000)`` against the prizes' odds (in
millionths, in prize order). A winning number takes one unit of that prize's stock with
``UPDATE … SET stock = stock - 1 WHERE stock > 0`` — no row means the stock ran out and the spin
loses, so stock never oversells however many spins race for it.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import scrm

from scrm_lottery import campaigns, winners
from scrm_lottery.campaigns import PPM, Campaign
from scrm_lottery.entries import check_eligible, member_of
from scrm_lottery.points import spender
from scrm_lottery.problems import Closed, PointsUnavailable, SpinLimit, WrongMode
from scrm_lottery.schemas import MemberIn, PrizeOut, SpinOut


def pick(prizes: list[PrizeOut], number: int) -> PrizeOut | None:
    """The prize a number in ``[0, 1_000_000)`` lands on: prizes take consecutive stretches of the
    wheel as wide as their odds, in prize order; the rest of the wheel loses."""
    edge = 0
    for prize in prizes:
        edge += round((prize.odds or 0) * PPM)
        if number < edge:
            return prize
    return None


async def spin(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int, who: MemberIn) -> SpinOut:
    campaign = await campaigns.get(kernel, ws, campaign_id)
    member = await member_of(kernel, ws, who)
    if campaign.mode != "instant":
        raise WrongMode("A draw campaign takes entries (POST …/entries), not spins")
    if not campaign.accepting(datetime.now(UTC)):
        raise Closed(f"The wheel turns from {campaign.opens_at} to {campaign.closes_at}; it is {campaign.state}")
    await check_eligible(kernel, ws, campaign, member)
    points = spender(kernel, ws) if campaign.points_cost else None
    if campaign.points_cost and points is None:
        raise PointsUnavailable("This wheel costs points and the points plugin is not enabled here")
    async with kernel.db.transaction():
        at = datetime.now(UTC)
        current = await campaigns.load(kernel, ws, campaign_id, lock=kernel.sql.for_share)
        if not current.accepting(at):
            raise Closed("The wheel stopped turning")
        await _count(kernel, ws, campaign, member.id, at)
        if points is not None:
            await points.spend(
                ws,
                member.id,
                campaign.points_cost,
                reason=f"lottery spin: {campaign.name}",
                reference=f"lottery:{campaign.id}:spin:{secrets.token_hex(8)}",
            )
        prize = pick(campaign.prizes, secrets.randbelow(PPM))
        if prize is not None and not await kernel.sql.fetch(
            "UPDATE lottery_prize SET stock = stock - 1 WHERE id = {} AND workspace = {} AND stock > 0 RETURNING id",
            prize.id,
            ws.id,
        ):
            prize = None  # out of stock: a loss
        rows = await kernel.sql.fetch(
            "INSERT INTO lottery_spin (workspace, campaign, member_id, prize, created_at) VALUES ({}, {}, {}, {}, {}) "
            "RETURNING id",
            ws.id,
            campaign.id,
            member.id,
            prize.id if prize else None,
            at,
        )
        spin_id = rows[0]["id"]
        if prize is not None:
            await kernel.events.record(
                ws,
                [
                    scrm.NewEvent(
                        member.id,
                        "lottery.won",
                        {
                            "campaign_id": campaign.id,
                            "campaign": campaign.name,
                            "prize_id": prize.id,
                            "prize": prize.name,
                            "spin_id": spin_id,
                        },
                        source="lottery",
                        idempotency_key=f"lottery.won:spin:{spin_id}",
                    )
                ],
            )
    if prize is not None:
        await winners.notify(kernel, ws, campaign, only=[spin_id])
    return SpinOut(
        id=spin_id,
        campaign_id=campaign.id,
        member_id=member.id,
        won=prize is not None,
        prize_id=prize.id if prize else None,
        prize=prize.name if prize else None,
        value=prize.value if prize else None,
        created_at=at,
    )


async def _count(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign: Campaign, member_id: int, at: datetime) -> None:
    """Count the spin against the member's limits, refusing it (409) at a limit."""
    limits = []
    if campaign.spin_limit is not None:
        limits.append(("all", campaign.spin_limit))
    if campaign.daily_spin_limit is not None:
        limits.append((at.astimezone(ZoneInfo(ws.time_zone)).date().isoformat(), campaign.daily_spin_limit))
    for period, limit in limits:
        counted = await kernel.sql.fetch(
            "INSERT INTO lottery_spin_count (workspace, campaign, member_id, period, spins) VALUES ({}, {}, {}, {}, 1) "
            "ON CONFLICT (campaign, member_id, period) DO UPDATE SET spins = lottery_spin_count.spins + 1 "
            "WHERE lottery_spin_count.spins < {} RETURNING spins",
            ws.id,
            campaign.id,
            member_id,
            period,
            limit,
        )
        if not counted:
            which = "today" if period != "all" else "in this campaign"
            raise SpinLimit(f"The member has used all {limit} spins {which}", limit=limit, period=period)


def _spin(row: Any, campaign_id: int) -> SpinOut:
    return SpinOut(
        id=row["id"],
        campaign_id=campaign_id,
        member_id=row["member_id"],
        won=row["prize"] is not None,
        prize_id=row["prize"],
        prize=row["prize_name"],
        value=row["prize_value"],
        created_at=scrm.as_datetime(row["created_at"]),
    )


async def listing(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int, member_id: int | None, cursor: str | None, limit: int
) -> scrm.Page[SpinOut]:
    """Spin history, oldest first; for one member with ``member_id``."""
    await campaigns.load(kernel, ws, campaign_id)
    listing = f"lottery-spins-{campaign_id}"
    after = kernel.cursors.decode(listing, cursor)
    member_sql = " AND s.member_id = {}" if member_id is not None else ""
    rows = await kernel.sql.fetch(
        "SELECT s.id, s.member_id, s.prize, s.created_at, p.name AS prize_name, p.value AS prize_value "
        "FROM lottery_spin s LEFT JOIN lottery_prize p ON p.id = s.prize "
        f"WHERE s.campaign = {{}} AND s.workspace = {{}} AND s.id > {{}}{member_sql} ORDER BY s.id LIMIT {{}}",
        campaign_id,
        ws.id,
        after,
        *([member_id] if member_id is not None else []),
        limit + 1,
    )
    return kernel.cursors.page(listing, [_spin(r, campaign_id) for r in rows], [r["id"] for r in rows], limit)


async def tally(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Spins and winning spins of several wheels at once; a wheel nobody spun is left out."""
    if not campaign_ids:
        return {}
    condition, ids = kernel.sql.any_of("campaign", campaign_ids)
    rows = await kernel.sql.fetch(
        f"SELECT campaign, COUNT(*) AS spins, COUNT(prize) AS wins FROM lottery_spin WHERE workspace = {{}} "
        f"AND {condition} GROUP BY campaign",
        ws.id,
        ids,
    )
    return {r["campaign"]: (int(r["spins"]), int(r["wins"])) for r in rows}
