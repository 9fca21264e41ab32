"""Helpers of the segments plugin's tests (imported by the test modules next to it)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import scrm

BASE = "/api/v1/segments"


async def settle(kernel: scrm.Kernel, workspace_id: int) -> None:
    """Deliver the workspace's pending events (the in-process job may hold a row for a moment)."""
    for _ in range(500):
        await kernel.outbox.drain()
        rows = await kernel.db.fetch(
            "SELECT COUNT(*) AS n FROM scrm_outbox WHERE workspace = {} AND last_error IS NULL", workspace_id
        )
        if rows[0]["n"] == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the outbox did not drain")


async def events(tenant: Any, *items: tuple[int, str, datetime, dict[str, Any]]) -> None:
    """Post events (member, type, occurred_at, properties)."""
    body = [
        {"member_id": m, "type": t, "occurred_at": at.isoformat(), "properties": props} for m, t, at, props in items
    ]
    response = await tenant.post("/api/v1/events", body)
    assert response.status_code in (200, 201), response.text


async def count(tenant: Any, definition: dict[str, Any]) -> int:
    response = await tenant.post(f"{BASE}/preview", {"definition": definition})
    assert response.status_code == 200, response.text
    n: int = response.json()["count"]
    return n


async def members_of(tenant: Any, segment_id: int) -> list[int]:
    response = await tenant.get("/api/v1/members", params={"segment": segment_id, "limit": 500})
    assert response.status_code == 200, response.text
    return sorted(m["id"] for m in response.json()["items"])
