"""The cron job ``points.expire``: lots past their ``expires_at`` lose what remains of them.

Each member's due lots expire in one transaction (``expire`` transactions, lots emptied, balance
lowered, under the account's row lock), so the job can run twice, or in two workers at once,
without expiring anything twice: a lot emptied has nothing left to expire, and its transaction's
reference ``expire:lot:<id>`` is unique.
"""

from __future__ import annotations

import logging

import scrm

from scrm_points import clock
from scrm_points.config import PointsSettings
from scrm_points.ledger import Ledger

log = logging.getLogger("scrm_points")
#: Members one round of the job takes; it loops until none is due.
BATCH = 500


async def expire_due(kernel: scrm.Kernel) -> int:
    """Expire every lot due now, in every workspace; returns the points expired."""
    at = clock.now()
    total = 0
    while True:
        due = await kernel.sql.fetch(
            "SELECT DISTINCT workspace, member_id FROM points_lot WHERE remaining > 0 AND expires_at <= {} "
            "ORDER BY workspace, member_id LIMIT {}",
            at,
            BATCH,
        )
        for row in due:
            ws_id, member_id = int(row["workspace"]), int(row["member_id"])
            ws = await kernel.workspace_ref(ws_id)
            async with kernel.db.transaction():  # expiring reads no setting (lots carry their expiry)
                total += await Ledger(kernel, ws, PointsSettings()).expire(member_id, at)
        if len(due) < BATCH:
            return total


async def expire(ctx: scrm.JobContext) -> None:
    """Cron ``points.expire`` (hourly)."""
    expired = await expire_due(ctx.kernel)
    if expired:
        log.info("points.expire: %s points expired", expired)
