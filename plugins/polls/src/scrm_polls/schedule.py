"""The cron job ``polls.schedule`` (every minute): scheduled polls whose ``opens_at`` has come become
``open``, open or scheduled polls whose ``closes_at`` has passed become ``closed``. Each is one
conditional ``UPDATE`` across all workspaces, so two workers running it at once change each poll
once. Ballots do not wait for it — their own statement checks the window — so a minute's lag only
shows in the stored state, never in what is accepted."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import scrm

log = logging.getLogger("scrm_polls")


async def advance(kernel: scrm.Kernel, at: datetime | None = None) -> tuple[int, int]:
    """Open and close the polls due at ``at`` (now); returns how many were opened and closed."""
    at = at or datetime.now(UTC)
    async with kernel.db.transaction():
        closed = await kernel.sql.fetch(
            "UPDATE polls_poll SET state = 'closed', closed_at = {}, updated_at = {} "
            "WHERE state IN ('open', 'scheduled') AND closes_at IS NOT NULL AND closes_at <= {} RETURNING id",
            at,
            at,
            at,
        )
        opened = await kernel.sql.fetch(
            "UPDATE polls_poll SET state = 'open', updated_at = {} "
            "WHERE state = 'scheduled' AND opens_at IS NOT NULL AND opens_at <= {} RETURNING id",
            at,
            at,
        )
    return len(opened), len(closed)


async def run(ctx: scrm.JobContext) -> None:
    """Cron ``polls.schedule`` (every minute)."""
    opened, closed = await advance(ctx.kernel)
    if opened or closed:
        log.info("polls.schedule: %s opened, %s closed", opened, closed)
