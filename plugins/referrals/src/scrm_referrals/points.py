"""What the referrals plugin needs of the points plugin, described here so that referrals installs,
runs and type-checks without it (it never imports ``scrm_points``)."""

from __future__ import annotations

from typing import Protocol

import scrm


class Points(Protocol):
    """The part of the points plugin's public service the referrals plugin uses."""

    async def award(self, ws: scrm.WorkspaceRef, member_id: int, amount: int, *, reason: str, reference: str) -> int:
        """Give points, joining the caller's transaction; once per ``reference``."""
        ...

    async def refund(self, ws: scrm.WorkspaceRef, reference: str, *, reason: str) -> int:
        """Take back what the award with ``reference`` gave; once."""
        ...


def service(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> Points | None:
    """The points service of the workspace, or None when points is not installed or not enabled there."""
    found: Points | None = kernel.service("points", ws)
    return found
