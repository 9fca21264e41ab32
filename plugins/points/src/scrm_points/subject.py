"""The points plugin's share of data-subject requests and of deleting a workspace.

These run from hooks, through the kernel's database, inside the transaction the core opened (the
erasure's), so a failure rolls the whole erasure back.
"""

from __future__ import annotations

from typing import Any

import scrm

#: Tables holding rows about one member, emptied when the member is erased.
MEMBER_TABLES = ["points_checkin", "points_lot", "points_rule_usage", "points_tier_change", "points_account"]
#: Every table of the plugin (a deleted workspace leaves nothing in any of them).
ALL_TABLES = [
    *MEMBER_TABLES,
    "points_transaction",
    "points_redemption",
    "points_reward",
    "points_rule",
    "points_config",
]


async def export(kernel: scrm.Kernel, workspace: scrm.WorkspaceRef, member_id: int) -> dict[str, Any] | None:
    sql = kernel.sql
    args = (workspace.id, member_id)
    where = "WHERE workspace = {} AND member_id = {}"
    account = await sql.fetch(f"SELECT balance, lifetime, tier, updated_at FROM points_account {where}", *args)
    transactions = await sql.fetch(
        f"SELECT id, kind, amount, reason, reference, created_at FROM points_transaction {where} ORDER BY id", *args
    )
    checkins = await sql.fetch(
        f"SELECT day, streak, points, created_at FROM points_checkin {where} ORDER BY day", *args
    )
    redemptions = await sql.fetch(
        f"SELECT id, reward_id, reward_name, cost, created_at FROM points_redemption {where} ORDER BY id", *args
    )
    tiers = await sql.fetch(
        f"SELECT from_tier, to_tier, lifetime, created_at FROM points_tier_change {where} ORDER BY id", *args
    )
    if not (account or transactions or checkins or redemptions):
        return None
    return {
        "account": _plain(account[0]) if account else None,
        "transactions": [_plain(r) for r in transactions],
        "checkins": [_plain(r) for r in checkins],
        "redemptions": [_plain(r) for r in redemptions],
        "tier_changes": [_plain(r) for r in tiers],
    }


async def erase(kernel: scrm.Kernel, workspace: scrm.WorkspaceRef, member_id: int) -> None:
    """Forget the member: account, lots, check-ins, caps' usage and tier history go; the ledger's
    rows and redemptions stay for the accounts (amounts, kinds, references), with their free-text
    reasons blanked (an operator may have written something about the person there)."""
    sql = kernel.sql
    for table in MEMBER_TABLES:
        await sql.fetch(f"DELETE FROM {table} WHERE workspace = {{}} AND member_id = {{}}", workspace.id, member_id)
    await sql.fetch(
        "UPDATE points_transaction SET reason = '' WHERE workspace = {} AND member_id = {}", workspace.id, member_id
    )


async def delete_workspace(kernel: scrm.Kernel, workspace: scrm.WorkspaceRef) -> None:
    sql = kernel.sql
    for table in ALL_TABLES:
        await sql.fetch(f"DELETE FROM {table} WHERE workspace = {{}}", workspace.id)


def _plain(row: Any) -> dict[str, Any]:
    """A row as JSON-ready values (dates and times as ISO 8601 text)."""
    return {key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in dict(row).items()}
