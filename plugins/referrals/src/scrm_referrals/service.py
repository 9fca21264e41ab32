"""The referrals plugin's public service: ``kernel.service("referrals", ws)``.

Other plugins (an analytics dashboard, a journey waiting for a referral) use it without importing
this package: describe the methods you call with a ``typing.Protocol`` of your own. Every method
takes the workspace first and reads only that workspace's rows.
"""

from __future__ import annotations

from datetime import datetime

import scrm

from scrm_referrals import measures, referrals
from scrm_referrals.measures import Period
from scrm_referrals.schemas import KFigure, KSeries, ReferralOut


class ReferralsService:
    """Referrals of every workspace, through one kernel."""

    def __init__(self, kernel: scrm.Kernel) -> None:
        self.kernel = kernel

    async def k(self, ws: scrm.WorkspaceRef, start: datetime, end: datetime, campaign_id: int | None = None) -> KFigure:
        """The viral coefficient K over ``[start, end)`` (aware datetimes), for one campaign or all of
        the workspace's: a :class:`~scrm_referrals.schemas.KFigure` with ``k`` and its factors
        (``inviters``, ``invitations``, ``joins``, ``conversions``, ``invitations_per_member``,
        ``conversion_share``). Definitions in :mod:`scrm_referrals.measures`."""
        return await measures.k(self.kernel, ws, start, end, campaign_id)

    async def k_series(
        self, ws: scrm.WorkspaceRef, start: datetime, end: datetime, period: Period, campaign_id: int | None = None
    ) -> KSeries:
        """K per ``day``, ``week`` or ``month`` over ``[start, end)`` (at most 120 periods)."""
        return await measures.series(self.kernel, ws, start, end, period, campaign_id)

    async def invited_by(self, ws: scrm.WorkspaceRef, member_id: int) -> ReferralOut | None:
        """The referral that brought the member in, or None."""
        return await referrals.of_invitee(self.kernel, ws, member_id)
