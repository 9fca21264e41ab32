"""Reading referrals: one, a member's, a filtered list (the review queue is ``state=held``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import scrm

from scrm_referrals.schemas import ReferralOut, ReferralState

COLUMNS = (
    "r.id, r.campaign, c.code, r.inviter_id, r.invitee_id, r.second_id, r.state, r.signals, r.joined_at, "
    "r.converted_at, r.reviewed_at, r.acted_at, r.note"
)
FROM = "referrals_referral r JOIN referrals_code c ON c.id = r.code"
#: an invitee with no event of their own this long after joining shows the ``inactive`` signal
INACTIVE_AFTER = timedelta(days=7)


def to_referral(row: Any, at: datetime | None = None) -> ReferralOut:
    signals = list(json.loads(row["signals"] or "[]"))
    joined = scrm.as_datetime(row["joined_at"])
    if (
        row["acted_at"] is None
        and row["invitee_id"] is not None
        and (at or datetime.now(UTC)) - joined > INACTIVE_AFTER
    ):
        signals.append("inactive")
    return ReferralOut(
        id=row["id"],
        campaign_id=row["campaign"],
        code=row["code"],
        inviter_id=row["inviter_id"],
        invitee_id=row["invitee_id"],
        second_id=row["second_id"],
        state=row["state"],
        signals=signals,
        joined_at=joined,
        converted_at=scrm.as_datetime(row["converted_at"]),
        reviewed_at=scrm.as_datetime(row["reviewed_at"]),
        note=row["note"],
    )


async def get(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, referral_id: int) -> ReferralOut:
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM {FROM} WHERE r.id = {{}} AND r.workspace = {{}}", referral_id, ws.id
    )
    if not rows:
        raise scrm.NotFound(f"No referral {referral_id} in this workspace")
    return to_referral(rows[0])


async def of_invitee(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> ReferralOut | None:
    """How the member was invited, if they were."""
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM {FROM} WHERE r.workspace = {{}} AND r.invitee_id = {{}}", ws.id, member_id
    )
    return to_referral(rows[0]) if rows else None


async def listing(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    *,
    campaign_id: int | None = None,
    state: ReferralState | None = None,
    inviter_id: int | None = None,
    flagged: bool = False,
    cursor: str | None = None,
    limit: int = scrm.DEFAULT_LIMIT,
) -> scrm.Page[ReferralOut]:
    """Referrals, newest first, filtered; ``flagged`` keeps those with fraud signals at attribution."""
    before = kernel.cursors.decode("referrals-referrals", cursor)
    conditions = ["r.workspace = {}", "r.id < {}"]
    args: list[object] = [ws.id, before or scrm.MAX_ID]
    for column, value in (("r.campaign", campaign_id), ("r.state", state), ("r.inviter_id", inviter_id)):
        if value is not None:
            conditions.append(f"{column} = {{}}")
            args.append(value)
    if flagged:
        conditions.append("r.signals <> '[]'")
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM {FROM} WHERE {' AND '.join(conditions)} ORDER BY r.id DESC LIMIT {{}}", *args, limit + 1
    )
    found = [to_referral(r) for r in rows]
    return kernel.cursors.page("referrals-referrals", found, [r.id for r in found], limit)
