"""What the lottery holds about one member: their entries, wins and spins — for the member panel,
data-subject access requests (``scrm_export_member``) and erasure (``scrm_erase_member``).

Erasure keeps what published draws need and drops the rest. An entry in a campaign already drawn is
part of a published, hashed entry list: it stays, as the bare member id and tickets (the lottery
never stores names or contact details), so the draw can still be verified; the member's wins stay
with it. Entries in campaigns not yet drawn are deleted (the erased person takes no part), and so
are their spin counters, losing spins, the event ids that earned them tickets and the tickets other
plugins granted them (``grants``). Winning spins
stay as the member id and the prize, which accounts for the prize's stock.
"""

from __future__ import annotations

from typing import Any

import scrm

_PER_LIST = 200  # rows per list in the member panel


async def entries(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int, limit: int | None = None
) -> list[dict[str, Any]]:
    rows = await kernel.sql.fetch(
        "SELECT e.campaign, c.name, c.state, e.tickets, e.points_spent, e.created_at FROM lottery_entry e "
        "JOIN lottery_campaign c ON c.id = e.campaign WHERE e.workspace = {} AND e.member_id = {} AND e.entered = TRUE "
        f"ORDER BY e.id DESC{' LIMIT ' + str(int(limit)) if limit else ''}",
        ws.id,
        member_id,
    )
    return [
        {
            "campaign_id": r["campaign"],
            "campaign": r["name"],
            "state": r["state"],
            "tickets": r["tickets"],
            "points_spent": r["points_spent"],
            "entered_at": scrm.as_datetime(r["created_at"]),
        }
        for r in rows
    ]


async def wins(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int, limit: int | None = None
) -> list[dict[str, Any]]:
    tail = f" LIMIT {int(limit)}" if limit else ""
    rows = await kernel.sql.fetch(
        "SELECT w.campaign, c.name AS campaign_name, p.name AS prize, w.rank, NULL AS spin_id, w.contactable, "
        "w.notified_at, w.created_at FROM lottery_winner w JOIN lottery_campaign c ON c.id = w.campaign "
        "JOIN lottery_prize p ON p.id = w.prize WHERE w.workspace = {} AND w.member_id = {} "
        "UNION ALL SELECT s.campaign, c.name, p.name, NULL, s.id, s.contactable, s.notified_at, s.created_at "
        "FROM lottery_spin s JOIN lottery_campaign c ON c.id = s.campaign JOIN lottery_prize p ON p.id = s.prize "
        f"WHERE s.workspace = {{}} AND s.member_id = {{}} ORDER BY 8 DESC{tail}",
        ws.id,
        member_id,
        ws.id,
        member_id,
    )
    return [
        {
            "campaign_id": r["campaign"],
            "campaign": r["campaign_name"],
            "prize": r["prize"],
            "rank": r["rank"],
            "spin_id": r["spin_id"],
            "contactable": None if r["contactable"] is None else bool(r["contactable"]),
            "notified_at": scrm.as_datetime(r["notified_at"]),
            "won_at": scrm.as_datetime(r["created_at"]),
        }
        for r in rows
    ]


async def spins(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> list[dict[str, Any]]:
    rows = await kernel.sql.fetch(
        "SELECT s.id, s.campaign, p.name AS prize, s.created_at FROM lottery_spin s "
        "LEFT JOIN lottery_prize p ON p.id = s.prize WHERE s.workspace = {} AND s.member_id = {} ORDER BY s.id",
        ws.id,
        member_id,
    )
    return [
        {
            "spin_id": r["id"],
            "campaign_id": r["campaign"],
            "prize": r["prize"],
            "spun_at": scrm.as_datetime(r["created_at"]),
        }
        for r in rows
    ]


async def export(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> dict[str, Any] | None:
    data = {
        "entries": await entries(kernel, ws, member_id),
        "wins": await wins(kernel, ws, member_id),
        "spins": await spins(kernel, ws, member_id),
    }
    return data if any(data.values()) else None


async def erase(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> None:
    """Runs inside the erasure's transaction (see the module's docstring for what stays)."""
    undrawn = "SELECT id FROM lottery_campaign WHERE workspace = {} AND state <> 'drawn'"
    await kernel.sql.fetch(
        f"DELETE FROM lottery_entry WHERE workspace = {{}} AND member_id = {{}} AND campaign IN ({undrawn})",
        ws.id,
        member_id,
        ws.id,
    )
    for table in ("lottery_ticket_event", "lottery_ticket_grant", "lottery_spin_count"):
        await kernel.sql.fetch(f"DELETE FROM {table} WHERE workspace = {{}} AND member_id = {{}}", ws.id, member_id)
    await kernel.sql.fetch(
        "DELETE FROM lottery_spin WHERE workspace = {} AND member_id = {} AND prize IS NULL", ws.id, member_id
    )


async def panel(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> dict[str, Any]:
    return {
        "entries": await entries(kernel, ws, member_id, _PER_LIST),
        "wins": await wins(kernel, ws, member_id, _PER_LIST),
    }


async def delete_workspace(kernel: scrm.Kernel, workspace_id: int) -> None:
    for table in (
        "lottery_spin_count",
        "lottery_spin",
        "lottery_winner",
        "lottery_ticket_event",
        "lottery_ticket_grant",
        "lottery_entry",
        "lottery_prize",
        "lottery_campaign",
    ):
        await kernel.sql.fetch(f"DELETE FROM {table} WHERE workspace = {{}}", workspace_id)
