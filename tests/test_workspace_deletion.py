"""Deleting a workspace while one of its deliveries runs (PostgreSQL: SQLite has one writer).

The deletion's cascade locks the workspace's members and then its outbox rows; a delivery holds its
outbox rows and then marks members active. Without an order between them the two waited for each
other (a deadlock, SQLSTATE 40P01, which failed the deletion). A delivery now locks its workspace's
row first (``FOR KEY SHARE``, as any insert referencing it would), so the deletion waits for the
delivery to commit and then deletes what it left. A delivery of claimed rows (the careful path)
held no lock the deletion needed: the deletion went through under it, and the delivery then wrote
the plugins' rows of a workspace whose plugins had already deleted theirs; it now waits instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from conftest import Tenant
from scrm.kernel import Kernel
from scrm.testing import BACKEND
from test_outbox_delivery import visits

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="row locks: SQLite has one writer")


async def _blocked_by(kernel: Kernel, pid: int, deleting: asyncio.Task[None]) -> None:
    """Wait until the deletion waits for a lock that backend ``pid`` holds (or, not waiting, is done)."""
    blocked = "SELECT 1 FROM pg_stat_activity WHERE {} = ANY(pg_blocking_pids(pid))"
    while True:
        if deleting.done() or await kernel.db.fetch(blocked, pid):
            return
        await asyncio.sleep(0.01)


async def _careful(self: Any) -> None:
    """A take that failed: the rows go the careful way (claimed under a lease, then delivered)."""
    return None


@pytest.mark.parametrize("path", ["taken", "claimed"])
async def test_deleting_a_workspace_while_its_events_are_delivered(
    kernel: Kernel, tenant: Tenant, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """Hold the delivery of new events (taken in one transaction, or claimed and then delivered)
    between reading them and marking their member active, start deleting the workspace, let the
    delivery go on once the deletion waits for it: both finish, and nothing of the workspace is left."""
    if path == "claimed":
        monkeypatch.setattr(type(kernel.outbox), "_deliver_taken", _careful)
    await tenant.enable("testplugin")
    member = (await tenant.member())["id"]
    await kernel.jobs.idle()
    await kernel.outbox.drain()
    holding: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    go = asyncio.Event()
    mark_active = kernel.members.mark_active

    async def held(ws: Any, events: Sequence[Any], **options: Any) -> None:
        if ws.id == tenant.id and not holding.done():
            holding.set_result(int((await kernel.db.fetch("SELECT pg_backend_pid() AS pid"))[0]["pid"]))
            await go.wait()
        await mark_active(ws, events, **options)

    monkeypatch.setattr(kernel.members, "mark_active", held)
    await visits(tenant, member, 3)  # their member was never active: delivering them locks the member
    deliverer = await asyncio.wait_for(holding, 120)  # the in-process delivery job holds them
    deleting = asyncio.create_task(kernel.workspaces.delete(tenant.slug))
    await _blocked_by(kernel, deliverer, deleting)
    go.set()
    await deleting
    await kernel.jobs.idle()
    await kernel.outbox.drain()
    # a delivery that ran on after the plugins deleted their rows would have left its own behind
    for table in ("scrm_outbox", "scrm_member", "scrm_event", "testplugin_seen"):
        assert await kernel.db.fetch(f"SELECT 1 FROM {table} WHERE workspace = {{}}", tenant.id) == [], table
