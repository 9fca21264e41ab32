"""Tickets granted by other plugins through the lottery's public service — a referral's reward, say —
and taken back when what earned them is undone.

**Granting** adds tickets to a member's row in an open draw campaign in ``tickets`` mode, exactly like
tickets earned by events: up to the campaign's ``max_tickets`` in all, waiting in the row (``entered``
false) until the member enters. A grant is made once per ``reference`` (a unique index on the
workspace and the reference: asking again returns the first grant), and it records the tickets it
actually added — after the cap — so that taking it back removes exactly those.

**Taking back** (``revoke``) removes what the grant added, once, never below the entry's own ticket.
It is refused with 409 ``lottery-already-drawn`` once the campaign is drawn: the draw's entry list is
hashed and published, and anyone can re-run it, so the tickets that took part stay part of it (and so
does whatever they won); the caller decides what that means for its own records. A campaign closed
but not drawn, or cancelled, gives the tickets back as usual. Tickets the cap kept from another grant
are not restored to it when room is made.

Both join the caller's transaction. The campaign row is share-locked on PostgreSQL, as entries and
ticket deliveries do, so a draw waits for a grant or a revoke in flight and they, after it, see the
campaign drawn.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import scrm

from scrm_lottery import campaigns, entries
from scrm_lottery.problems import AlreadyDrawn, Closed, WrongMode
from scrm_lottery.schemas import MemberIn, TicketGrant

_COLUMNS = "campaign, member_id, reference, tickets, created_at, revoked_at"


def _grant(row: Any) -> TicketGrant:
    return TicketGrant(
        campaign_id=row["campaign"],
        member_id=row["member_id"],
        reference=row["reference"],
        tickets=row["tickets"],
        created_at=scrm.as_datetime(row["created_at"]),
        revoked_at=scrm.as_datetime(row["revoked_at"]),
    )


async def grant(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int, member_id: int, tickets: int, reference: str
) -> TicketGrant:
    """Give ``tickets`` (at least 1) to the member in the campaign, once per ``reference``."""
    if tickets < 1:
        raise scrm.invalid("tickets", "must be at least 1")
    if not reference or len(reference) > 200:
        raise scrm.invalid("reference", "must be 1 to 200 characters")
    at = datetime.now(UTC)
    async with kernel.db.transaction():
        campaign = await campaigns.load(kernel, ws, campaign_id, lock=kernel.sql.for_share)
        if campaign.mode != "draw" or campaign.entry_mode != "tickets":
            raise WrongMode("Tickets are granted in a draw campaign whose entry mode is tickets")
        if not campaign.accepting(at):
            raise Closed(
                f"The campaign gives tickets from {campaign.opens_at} to {campaign.closes_at}; it is {campaign.state}"
            )
        member = await entries.member_of(kernel, ws, MemberIn(member_id=member_id))
        made = await kernel.sql.fetch(
            "INSERT INTO lottery_ticket_grant (workspace, campaign, member_id, reference, tickets, created_at) "
            "VALUES ({}, {}, {}, {}, 0, {}) ON CONFLICT (workspace, reference) DO NOTHING RETURNING id",
            ws.id,
            campaign.id,
            member.id,
            reference,
            at,
        )
        if not made:  # granted before: that grant is the answer
            rows = await kernel.sql.fetch(
                f"SELECT {_COLUMNS} FROM lottery_ticket_grant WHERE workspace = {{}} AND reference = {{}}",
                ws.id,
                reference,
            )
            return _grant(rows[0])
        await kernel.sql.fetch(
            "INSERT INTO lottery_entry (workspace, campaign, member_id, entered, tickets, points_spent, created_at) "
            "VALUES ({}, {}, {}, FALSE, 1, 0, {}) ON CONFLICT (campaign, member_id) DO NOTHING",
            ws.id,
            campaign.id,
            member.id,
            at,
        )
        row = (
            await kernel.sql.fetch(
                f"SELECT id, tickets FROM lottery_entry WHERE campaign = {{}} AND member_id = {{}}{kernel.sql.for_update}",
                campaign.id,
                member.id,
            )
        )[0]
        added = max(0, min(row["tickets"] + tickets, campaign.max_tickets) - row["tickets"])
        if added:
            await kernel.sql.fetch("UPDATE lottery_entry SET tickets = tickets + {} WHERE id = {}", added, row["id"])
        rows = await kernel.sql.fetch(
            f"UPDATE lottery_ticket_grant SET tickets = {{}} WHERE id = {{}} RETURNING {_COLUMNS}", added, made[0]["id"]
        )
        return _grant(rows[0])


async def revoke(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, reference: str) -> int:
    """Take back what the grant with ``reference`` added; the tickets taken (0 when there is no such
    grant, or it was taken back before). 409 ``lottery-already-drawn`` once its campaign is drawn."""
    async with kernel.db.transaction():
        rows = await kernel.sql.fetch(
            f"SELECT id, {_COLUMNS} FROM lottery_ticket_grant WHERE workspace = {{}} AND reference = {{}} "
            f"AND revoked_at IS NULL{kernel.sql.for_update}",
            ws.id,
            reference,
        )
        if not rows:
            return 0
        found = rows[0]
        campaign = await campaigns.load(kernel, ws, found["campaign"], lock=kernel.sql.for_share)
        if campaign.state == "drawn":
            raise AlreadyDrawn(
                f"Campaign {campaign.id} is drawn: the tickets of {reference!r} took part and stay",
                campaign_id=campaign.id,
            )
        taken = int(found["tickets"])
        if taken:
            await kernel.sql.fetch(
                f"UPDATE lottery_entry SET tickets = {kernel.sql.greatest('tickets - {}', '1')} "
                "WHERE campaign = {} AND member_id = {}",
                taken,
                campaign.id,
                found["member_id"],
            )
        await kernel.sql.fetch(
            "UPDATE lottery_ticket_grant SET revoked_at = {} WHERE id = {}", datetime.now(UTC), found["id"]
        )
        return taken
