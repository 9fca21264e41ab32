"""Helpers of the analytics plugin's tests."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import scrm
from scrm.schemas import WorkspaceUpdate

BASE = "/api/v1/analytics"
SHANGHAI = ZoneInfo("Asia/Shanghai")
#: ids of synthetic events, far above any the tests store
_ids = itertools.count(10**12 + int(datetime.now().timestamp() * 1000) % 10**9 * 1000)


async def settle(kernel: scrm.Kernel, workspace_id: int) -> None:
    for _ in range(500):
        await kernel.outbox.drain()
        rows = await kernel.db.fetch(
            "SELECT COUNT(*) AS n FROM scrm_outbox WHERE workspace = {} AND last_error IS NULL", workspace_id
        )
        if rows[0]["n"] == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the outbox did not drain")


async def in_zone(kernel: scrm.Kernel, tenant: Any, zone: str) -> scrm.WorkspaceRef:
    await kernel.workspaces.update(tenant.slug, WorkspaceUpdate(time_zone=zone))
    kernel.forget_cached()
    return await kernel.workspaces.ref(tenant.slug)


def event(member: int, kind: str, at: datetime, **properties: Any) -> scrm.EventOut:
    """A delivered event as the outbox hands it over (a synthetic, unique id)."""
    return scrm.EventOut(
        id=next(_ids),
        member_id=member,
        type=kind,
        properties=properties,
        occurred_at=at,
        recorded_at=at,
        source="test",
        idempotency_key=None,
    )


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)  # type: ignore[misc]


async def rebuilt(kernel: scrm.Kernel, workspace_id: int, events: int) -> None:
    """Wait for the rebuild queued when analytics was switched on to have applied ``events`` events."""
    for _ in range(500):
        rows = await kernel.db.fetch("SELECT COUNT(*) AS n FROM analytics_applied WHERE workspace = {}", workspace_id)
        if rows[0]["n"] >= events:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the rebuild did not finish")
