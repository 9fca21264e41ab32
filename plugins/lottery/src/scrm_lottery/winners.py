"""Winners — of a draw (by rank) or of instant-win spins — and telling them, only through the core's
consent door.

The lottery sends nothing itself (no channel plugin exists yet). "Notifying" a winner means asking
``kernel.consents.decide`` (``can_contact`` with its reason) for the campaign's ``notify_purpose``,
storing the answer on the winner, and recording a ``lottery.notify`` event for each contactable
winner — the fact a channel plugin will act on. Unreachable winners are kept and listed separately;
``POST …/notify`` asks again for everyone not yet notified (consent granted later reaches them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import scrm

from scrm_lottery import campaigns
from scrm_lottery.campaigns import Campaign
from scrm_lottery.schemas import NotifyResult, WinnerOut


@dataclass(frozen=True)
class _Source:
    """Where a campaign's winners live: ``lottery_winner`` (draws) or winning ``lottery_spin`` rows."""

    table: str
    position: str  # the listing's order: rank, or the spin's id

    def select(self) -> str:
        rank = "w.rank" if self.table == "lottery_winner" else "NULL"
        return (
            f"SELECT w.id, w.member_id, w.prize, {rank} AS rank, w.created_at, w.contactable, w.reason, w.notified_at, "
            f"{self.position} AS position, p.name AS prize_name, p.value AS prize_value "
            f"FROM {self.table} w JOIN lottery_prize p ON p.id = w.prize "
        )


DRAWN = _Source("lottery_winner", "w.rank")
SPUN = _Source("lottery_spin", "w.id")


def source(campaign: Campaign) -> _Source:
    return DRAWN if campaign.mode == "draw" else SPUN


def to_winner(row: Any, campaign_id: int) -> WinnerOut:
    contactable = row["contactable"]
    return WinnerOut(
        campaign_id=campaign_id,
        member_id=row["member_id"],
        prize_id=row["prize"],
        prize=row["prize_name"],
        value=row["prize_value"],
        rank=row["rank"],
        spin_id=None if row["rank"] is not None else row["id"],
        won_at=scrm.as_datetime(row["created_at"]),
        contactable=None if contactable is None else bool(contactable),
        reason=row["reason"],
        notified_at=scrm.as_datetime(row["notified_at"]),
    )


async def listing(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    campaign_id: int,
    contactable: bool | None,
    cursor: str | None,
    limit: int,
) -> scrm.Page[WinnerOut]:
    """Winners in rank (or spin) order; ``contactable`` false lists the unreachable ones. The cursor
    holds the next position to list (rank 0 comes first, so a page's last position + 1)."""
    campaign = await campaigns.load(kernel, ws, campaign_id)
    src = source(campaign)
    listing = f"lottery-winners-{campaign_id}"
    after = kernel.cursors.decode(listing, cursor)
    where = "WHERE w.campaign = {} AND w.workspace = {} AND w.prize IS NOT NULL AND " + src.position + " >= {}"
    args: list[Any] = [campaign_id, ws.id, after]
    if contactable is not None:
        where += " AND w.contactable = {}"
        args.append(contactable)
    rows = await kernel.sql.fetch(f"{src.select()}{where} ORDER BY {src.position} LIMIT {{}}", *args, limit + 1)
    items = [to_winner(r, campaign_id) for r in rows]
    return kernel.cursors.page(listing, items, [r["position"] + 1 for r in rows], limit)


async def all_of(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign: Campaign) -> list[WinnerOut]:
    src = source(campaign)
    rows = await kernel.sql.fetch(
        f"{src.select()}WHERE w.campaign = {{}} AND w.workspace = {{}} AND w.prize IS NOT NULL ORDER BY {src.position}",
        campaign.id,
        ws.id,
    )
    return [to_winner(r, campaign.id) for r in rows]


async def recent(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign: Campaign, limit: int) -> list[WinnerOut]:
    """The latest winners, newest first (a wheel's page shows who won lately)."""
    src = source(campaign)
    rows = await kernel.sql.fetch(
        f"{src.select()}WHERE w.campaign = {{}} AND w.workspace = {{}} AND w.prize IS NOT NULL "
        f"ORDER BY {src.position} DESC LIMIT {{}}",
        campaign.id,
        ws.id,
        limit,
    )
    return [to_winner(r, campaign.id) for r in rows]


async def reachable_now(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, purpose: str, member_ids: list[int]
) -> dict[int, scrm.ContactDecision]:
    """What the consent door (``kernel.consents.decide_many``) answers *now* for each of
    ``member_ids`` and ``purpose``: the results page states this, not the answer stored when a winner
    was last checked (which is absent until someone notifies). A member gone since, or a purpose
    deleted, is a no."""
    try:
        answers = await kernel.consents.decide_many(ws, member_ids, purpose)
    except scrm.Problem as exc:  # the purpose is gone
        answers = {}
        gone = exc.detail
    else:
        gone = "no such member in this workspace"
    return {m: answers.get(m) or scrm.ContactDecision(m, purpose, allowed=False, reason=gone) for m in member_ids}


async def notify(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign: Campaign, only: list[int] | None = None
) -> NotifyResult:
    """Ask the consent door about every winner not yet notified (or the rows ``only``), record
    ``lottery.notify`` for the contactable ones and store each answer. Call it outside any
    transaction: the door runs plugins' vetoes."""
    src = source(campaign)
    extra, args = "", [campaign.id, ws.id]
    if only is not None:
        condition, ids = kernel.sql.any_of("w.id", only)
        extra = f" AND {condition}"
        args.append(ids)
    rows = await kernel.sql.fetch(
        f"{src.select()}WHERE w.campaign = {{}} AND w.workspace = {{}} AND w.prize IS NOT NULL "
        f"AND w.notified_at IS NULL{extra} ORDER BY {src.position}",
        *args,
    )
    reached: list[Any] = []
    refused: dict[str, list[int]] = {}
    for row in rows:
        try:
            decision = await kernel.consents.decide(ws, row["member_id"], campaign.notify_purpose)
            allowed, reason = decision.allowed, decision.reason
        except scrm.Problem as exc:  # the member or the purpose is gone
            allowed, reason = False, exc.detail
        if allowed:
            reached.append(row)
        else:
            refused.setdefault(reason or "not contactable", []).append(row["id"])
    at = datetime.now(UTC)
    async with kernel.db.transaction():
        if reached:
            await kernel.events.record(
                ws,
                [
                    scrm.NewEvent(
                        row["member_id"],
                        "lottery.notify",
                        {
                            "campaign_id": campaign.id,
                            "campaign": campaign.name,
                            "prize_id": row["prize"],
                            "prize": row["prize_name"],
                            "purpose": campaign.notify_purpose,
                        },
                        source="lottery",
                        idempotency_key=f"lottery.notify:{src.table}:{row['id']}",
                    )
                    for row in reached
                ],
            )
            condition, ids = kernel.sql.any_of("id", [row["id"] for row in reached])
            await kernel.sql.fetch(
                f"UPDATE {src.table} SET contactable = TRUE, reason = NULL, notified_at = {{}} "
                f"WHERE workspace = {{}} AND {condition}",
                at,
                ws.id,
                ids,
            )
        for reason, row_ids in refused.items():
            condition, ids = kernel.sql.any_of("id", row_ids)
            await kernel.sql.fetch(
                f"UPDATE {src.table} SET contactable = FALSE, reason = {{}} WHERE workspace = {{}} AND {condition}",
                reason[:200],
                ws.id,
                ids,
            )
    return NotifyResult(checked=len(rows), notified=len(reached), unreachable=len(rows) - len(reached))
