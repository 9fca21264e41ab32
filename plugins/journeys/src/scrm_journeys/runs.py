"""Reading runs: a journey's runs (newest first) and one run with its step trail."""

from __future__ import annotations

from typing import Any

import scrm

from scrm_journeys import journeys
from scrm_journeys.schemas import RunOut

COLUMNS = "id, journey, version, member_id, position, status, due_at, entered_at, updated_at, test"


def _run(row: Any, trail: list[dict[str, Any]] | None = None) -> RunOut:
    return RunOut(
        id=row["id"],
        journey_id=row["journey"],
        version=row["version"],
        member_id=row["member_id"],
        position=row["position"],
        status=row["status"],
        due_at=scrm.as_datetime(row["due_at"]),
        entered_at=scrm.as_datetime(row["entered_at"]),
        updated_at=scrm.as_datetime(row["updated_at"]),
        test=bool(row["test"]),
        trail=trail or [],
    )


async def get(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, journey_id: int, run_id: int) -> RunOut:
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM journeys_run WHERE id = {{}} AND journey = {{}} AND workspace = {{}}",
        run_id,
        journey_id,
        ws.id,
    )
    if not rows:
        raise scrm.NotFound(f"No run {run_id} of journey {journey_id} in this workspace")
    steps = await kernel.sql.fetch(
        "SELECT position, outcome, detail, at FROM journeys_step WHERE run = {} AND workspace = {} ORDER BY id",
        run_id,
        ws.id,
    )
    trail = [
        {"position": s["position"], "outcome": s["outcome"], "detail": s["detail"], "at": scrm.as_datetime(s["at"])}
        for s in steps
    ]
    return _run(rows[0], trail)


async def listing(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    journey_id: int,
    status: str | None,
    member_id: int | None,
    cursor: str | None,
    limit: int,
) -> scrm.Page[RunOut]:
    await journeys.load(kernel, ws, journey_id)
    name = f"journeys-runs-{journey_id}"
    where, args = "journey = {} AND workspace = {}", list[Any]([journey_id, ws.id])
    if cursor:
        where += " AND id < {}"
        args.append(kernel.cursors.decode(name, cursor))
    if status is not None:
        where += " AND status = {}"
        args.append(status)
    if member_id is not None:
        where += " AND member_id = {}"
        args.append(member_id)
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM journeys_run WHERE {where} ORDER BY id DESC LIMIT {{}}", *args, limit + 1
    )
    return kernel.cursors.page(name, [_run(r) for r in rows], [r["id"] for r in rows], limit)
