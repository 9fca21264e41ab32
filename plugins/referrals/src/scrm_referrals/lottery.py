"""What the referrals plugin needs of the lottery plugin, described here so that referrals installs,
runs and type-checks without it (it never imports ``scrm_lottery``)."""

from __future__ import annotations

from typing import Protocol

import scrm


class Grant(Protocol):
    tickets: int


class Lottery(Protocol):
    """The part of the lottery plugin's public service the referrals plugin uses."""

    async def grant_tickets(
        self, ws: scrm.WorkspaceRef, campaign_id: int, member_id: int, tickets: int, *, reference: str
    ) -> Grant:
        """Give tickets in a draw campaign in tickets mode, joining the caller's transaction; once per
        ``reference``; ``tickets`` of the answer is what was added, after the campaign's cap."""
        ...

    async def revoke_tickets(self, ws: scrm.WorkspaceRef, reference: str) -> int:
        """Take back what the grant with ``reference`` added; once. 409 once the campaign is drawn."""
        ...


def service(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> Lottery | None:
    """The lottery service of the workspace, or None when lottery is not installed or not enabled there."""
    found: Lottery | None = kernel.service("lottery", ws)
    return found
