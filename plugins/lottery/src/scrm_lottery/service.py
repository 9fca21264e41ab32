"""The lottery's public service: ``kernel.service("lottery", ws)``, for plugins that enter members
into a draw (a journey's "enter a lottery" action) or grant them tickets (a referral's reward) without
importing this package."""

from __future__ import annotations

import scrm

from scrm_lottery import entries, grants
from scrm_lottery.schemas import EntryOut, MemberIn, TicketGrant


class LotteryService:
    def __init__(self, kernel: scrm.Kernel) -> None:
        self.kernel = kernel

    async def enter(self, ws: scrm.WorkspaceRef, campaign_id: int, member_id: int) -> EntryOut:
        """Enter a member into an open draw campaign, exactly as ``POST …/campaigns/{id}/entries``
        does (eligibility, the window, a points cost); joins the caller's transaction. Raises the
        same problems: 404 campaign or member, 409 closed / already entered / instant-win, 403 not
        eligible."""
        return await entries.enter(self.kernel, ws, campaign_id, MemberIn(member_id=member_id))

    async def grant_tickets(
        self, ws: scrm.WorkspaceRef, campaign_id: int, member_id: int, tickets: int, *, reference: str
    ) -> TicketGrant:
        """Give a member ``tickets`` in an open draw campaign in ``tickets`` mode, up to its
        ``max_tickets`` (they wait in the member's row until they enter, like tickets earned by
        events); once per ``reference`` (asking again returns the first grant). Joins the caller's
        transaction. 404 campaign, 422 member, 409 ``lottery-wrong-mode`` / ``lottery-closed``."""
        return await grants.grant(self.kernel, ws, campaign_id, member_id, tickets, reference)

    async def revoke_tickets(self, ws: scrm.WorkspaceRef, reference: str) -> int:
        """Take back what the grant with ``reference`` added (never below the entry's own ticket);
        the tickets taken, 0 when there is nothing to take back (no such grant, or taken back
        before). Joins the caller's transaction. 409 ``lottery-already-drawn`` once the campaign is
        drawn: tickets that took part in a published draw stay."""
        return await grants.revoke(self.kernel, ws, reference)
