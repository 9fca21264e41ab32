"""Tier changes turned into the core's facts: the tag ``tier:<name>`` and the event
``points.tier_changed``.

The ledger notes every move in ``points_tier_change`` in the transaction that changed the lifetime
points. Writing the tag and the event needs the kernel's services, which routes and jobs have and
the event-delivery hook does not (hooks receive no kernel): so routes apply their members' changes
in their own transaction, and the cron job ``points.tiers`` applies what deliveries noted, within
seconds. Applying is idempotent (the event's idempotency key is the change's id; tags are attached
with ``ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import scrm

from scrm_points import clock
from scrm_points.sql import Sql

TAG_PREFIX = "tier:"
#: Changes one run of the cron job applies at most (the next run takes the rest).
SWEEP_LIMIT = 500


def tag(tier: str) -> str:
    return TAG_PREFIX + tier


async def apply(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_ids: Sequence[int] | None = None) -> int:
    """Write the tags and events of the workspace's pending tier changes (of these members, when
    given), inside the caller's transaction. Returns the number of changes applied."""
    sql = Sql.of(kernel)
    if member_ids is not None:
        if not member_ids:
            return 0
        condition, arg = sql.any_of("member_id", member_ids)
        rows = await sql.fetch(
            "SELECT id, member_id, from_tier, to_tier, lifetime FROM points_tier_change "
            f"WHERE applied_at IS NULL AND workspace = {{}} AND {condition} ORDER BY id",
            ws.id,
            arg,
        )
    else:
        rows = await sql.fetch(
            "SELECT id, member_id, from_tier, to_tier, lifetime FROM points_tier_change "
            "WHERE applied_at IS NULL AND workspace = {} ORDER BY id LIMIT {}",
            ws.id,
            SWEEP_LIMIT,
        )
    for row in rows:
        await _apply_one(kernel, ws, row)
    return len(rows)


async def _apply_one(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, row: Any) -> None:
    member_id = int(row["member_id"])
    if row["from_tier"]:
        await kernel.tags.detach(ws, [member_id], [tag(row["from_tier"])])
    if row["to_tier"]:
        await kernel.tags.attach(ws, [member_id], [tag(row["to_tier"])])
    await kernel.events.record(
        ws,
        [
            scrm.NewEvent(
                member_id,
                "points.tier_changed",
                {"from": row["from_tier"], "to": row["to_tier"], "lifetime": int(row["lifetime"])},
                source="points",
                idempotency_key=f"points.tier_changed:{row['id']}",
            )
        ],
    )
    await kernel.db.fetch("UPDATE points_tier_change SET applied_at = {} WHERE id = {}", clock.now(), row["id"])


async def sweep(ctx: scrm.JobContext) -> None:
    """Cron ``points.tiers``: apply the tier changes noted by event deliveries, workspace by workspace."""
    kernel = ctx.kernel
    rows = await kernel.db.fetch(
        "SELECT DISTINCT workspace FROM points_tier_change WHERE applied_at IS NULL ORDER BY workspace"
    )
    for row in rows:
        ws = await kernel.workspace_ref(int(row["workspace"]))
        async with kernel.db.transaction():
            await apply(kernel, ws)
