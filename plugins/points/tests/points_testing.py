"""Helpers shared by the points plugin's tests."""

from __future__ import annotations

import asyncio

from scrm import Kernel


async def settle(kernel: Kernel, workspace_id: int, timeout_s: float = 10.0) -> None:
    """Deliver the workspace's pending events and wait until none is left: the in-process delivery
    job the API queued may hold a row (leased) while this drain finds nothing to claim."""
    for _ in range(int(timeout_s / 0.02)):
        await kernel.outbox.drain()
        rows = await kernel.db.fetch(
            "SELECT COUNT(*) AS n FROM scrm_outbox WHERE workspace = {} AND last_error IS NULL", workspace_id
        )
        if rows[0]["n"] == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the outbox did not drain")
