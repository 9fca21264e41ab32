"""What the lottery needs of the points plugin, described here so the lottery installs, runs and
type-checks without it (it never imports ``scrm_points``)."""

from __future__ import annotations

from typing import Protocol

import scrm


class PointsSpender(Protocol):
    """The part of the points plugin's public service the lottery uses."""

    async def spend(self, ws: scrm.WorkspaceRef, member_id: int, amount: int, *, reason: str, reference: str) -> int:
        """Take ``amount`` points from the member, joining the caller's transaction; returns the new
        balance; a ``409 points-insufficient`` problem when short; once per ``reference``."""
        ...


def spender(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> PointsSpender | None:
    """The points service of the workspace, or None when points is not installed or not enabled there."""
    service: PointsSpender | None = kernel.service("points", ws)
    return service
