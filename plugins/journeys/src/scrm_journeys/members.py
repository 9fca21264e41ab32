"""The journeys plugin's share of data-subject requests and workspace deletion."""

from __future__ import annotations

from typing import Any

import scrm


async def export(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> dict[str, Any] | None:
    rows = await kernel.sql.fetch(
        "SELECT r.id, r.journey, j.name, r.version, r.status, r.position, r.entered_at FROM journeys_run r "
        "JOIN journeys_journey j ON j.id = r.journey WHERE r.workspace = {} AND r.member_id = {} ORDER BY r.id",
        ws.id,
        member_id,
    )
    if not rows:
        return None
    return {
        "runs": [
            {
                "run_id": r["id"],
                "journey_id": r["journey"],
                "journey": r["name"],
                "version": r["version"],
                "status": r["status"],
                "position": r["position"],
                "entered_at": scrm.as_datetime(r["entered_at"]).isoformat(),
            }
            for r in rows
        ]
    }


async def erase(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> None:
    """Unlink the member's runs (the counts stay) and stop those in flight."""
    await kernel.sql.fetch(
        "UPDATE journeys_run SET member_id = NULL, entry_key = 'erased:' || CAST(id AS TEXT), "
        "status = CASE WHEN status IN ('active', 'waiting') THEN 'exited' ELSE status END, due_at = NULL "
        "WHERE workspace = {} AND member_id = {}",
        ws.id,
        member_id,
    )


async def delete_workspace(kernel: scrm.Kernel, workspace_id: int) -> None:
    for table in ("journeys_step", "journeys_run", "journeys_version", "journeys_journey"):
        await kernel.sql.fetch(f"DELETE FROM {table} WHERE workspace = {{}}", workspace_id)
