"""What the referrals plugin holds about one member — their codes, the referrals they made and the
one that brought them, their rewards — for the member panel, data-subject access requests
(``scrm_export_member``) and erasure (``scrm_erase_member``).

Erasure keeps the counts and removes the link to the person: the member's id is removed from their
codes (which stop resolving to a name), from every referral they are part of (as inviter, invitee
or second-level inviter) and from their rewards; the source address and device id of the referral
that brought them in are deleted. Every row stays, so a campaign's joins, conversions, K and the
shape of invite trees are unchanged. The keyed digests of the invitee's identities stay (not the
identities: an HMAC under the deployment's secret key), so the same person joining again is
recognised (``referrals-rejoined``) — document this retention in your privacy notice. Points
already awarded are the points plugin's to erase.
"""

from __future__ import annotations

from typing import Any

import msgspec
import scrm

from scrm_referrals import referrals, rewards

PER_PANEL = 50


async def summary(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int, limit: int | None = None
) -> dict[str, Any]:
    """The member's codes, who invited them, whom they invited (newest first) and their rewards."""
    tail = f" LIMIT {int(limit)}" if limit else ""
    codes = await kernel.sql.fetch(
        "SELECT c.code, c.campaign, p.name, c.created_at FROM referrals_code c JOIN referrals_campaign p "
        "ON p.id = c.campaign WHERE c.workspace = {} AND c.member_id = {} ORDER BY c.id DESC",
        ws.id,
        member_id,
    )
    invited_by = await referrals.of_invitee(kernel, ws, member_id)
    invited = await kernel.sql.fetch(
        f"SELECT {referrals.COLUMNS} FROM {referrals.FROM} WHERE r.workspace = {{}} AND r.inviter_id = {{}} "
        f"ORDER BY r.id DESC{tail}",
        ws.id,
        member_id,
    )
    paid = await kernel.sql.fetch(
        f"SELECT {rewards.COLUMNS} FROM referrals_reward WHERE workspace = {{}} AND member_id = {{}} ORDER BY id DESC{tail}",
        ws.id,
        member_id,
    )
    return {
        "codes": [
            {
                "code": c["code"],
                "campaign_id": c["campaign"],
                "campaign": c["name"],
                "created_at": scrm.as_datetime(c["created_at"]),
            }
            for c in codes
        ],
        "invited_by": msgspec.to_builtins(invited_by) if invited_by else None,
        "invited": [msgspec.to_builtins(referrals.to_referral(r)) for r in invited],
        "rewards": [msgspec.to_builtins(rewards.to_reward(r)) for r in paid],
    }


async def export(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> dict[str, Any] | None:
    found = await summary(kernel, ws, member_id)
    return found if any(found.values()) else None


async def erase(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> None:
    """Runs inside the erasure's transaction (see the module's docstring for what stays)."""
    await kernel.sql.fetch(
        "UPDATE referrals_code SET member_id = NULL WHERE workspace = {} AND member_id = {}", ws.id, member_id
    )
    await kernel.sql.fetch(
        "UPDATE referrals_referral SET invitee_id = NULL, source = NULL, device = NULL "
        "WHERE workspace = {} AND invitee_id = {}",
        ws.id,
        member_id,
    )
    for column in ("inviter_id", "second_id"):
        await kernel.sql.fetch(
            f"UPDATE referrals_referral SET {column} = NULL WHERE workspace = {{}} AND {column} = {{}}",
            ws.id,
            member_id,
        )
    await kernel.sql.fetch(
        "UPDATE referrals_reward SET member_id = NULL WHERE workspace = {} AND member_id = {}", ws.id, member_id
    )


async def delete_workspace(kernel: scrm.Kernel, workspace_id: int) -> None:
    for table in (
        "referrals_identity",
        "referrals_landing",
        "referrals_quota",
        "referrals_reward",
        "referrals_referral",
        "referrals_code",
        "referrals_campaign",
    ):
        await kernel.sql.fetch(f"DELETE FROM {table} WHERE workspace = {{}}", workspace_id)
