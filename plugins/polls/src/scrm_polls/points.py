"""What the polls plugin needs of the points plugin, described here so that polls installs, runs and
type-checks without it (it never imports ``scrm_points``)."""

from __future__ import annotations

from typing import Protocol

import scrm


class PointsAwarder(Protocol):
    """The part of the points plugin's public service the polls plugin uses."""

    async def award(self, ws: scrm.WorkspaceRef, member_id: int, amount: int, *, reason: str, reference: str) -> int:
        """Give the member ``amount`` points, joining the caller's transaction; returns the new
        balance; once per ``reference``."""
        ...


def rewarder(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> PointsAwarder | None:
    """The points service of the workspace, or None when points is not installed or not enabled there."""
    service: PointsAwarder | None = kernel.service("points", ws)
    return service
