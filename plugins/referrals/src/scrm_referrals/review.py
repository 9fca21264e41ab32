"""The review of referrals: approve a held one (its rewards are paid) or void any (its paid rewards
are reversed). Each decision is a conditional update, so two operators deciding at once decide once."""

from __future__ import annotations

from datetime import UTC, datetime

import scrm

from scrm_referrals import campaigns, referrals, rewards
from scrm_referrals.problems import WrongState
from scrm_referrals.schemas import ReferralOut, ReferralReviewIn

FROM_STATES = {"approve": ("held",), "void": ("pending", "converted", "held")}


async def decide(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, referral_id: int, data: ReferralReviewIn) -> ReferralOut:
    async with kernel.db.transaction():
        current = await referrals.get(kernel, ws, referral_id)
        allowed = FROM_STATES[data.decision]
        to = "converted" if data.decision == "approve" else "void"
        condition, states = kernel.sql.any_of("state", allowed, "text")
        won = await kernel.sql.fetch(
            f"UPDATE referrals_referral SET state = {{}}, reviewed_at = {{}}, note = {{}} "
            f"WHERE id = {{}} AND workspace = {{}} AND {condition} RETURNING id",
            to,
            datetime.now(UTC),
            data.note,
            referral_id,
            ws.id,
            states,
        )
        if not won:
            raise WrongState(
                f"Referral {referral_id} is {current.state}: {data.decision} applies to {', '.join(allowed)}"
            )
        campaign = await campaigns.get(kernel, ws, current.campaign_id)
        if data.decision == "approve":
            await rewards.release(kernel, ws, campaign, referral_id)
        else:
            await rewards.reverse(kernel, ws, campaign, referral_id, data.note)
        return await referrals.get(kernel, ws, referral_id)
