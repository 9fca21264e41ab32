"""Jobs on Redis for real: ``scrm worker`` processes deliver the outbox, a worker killed with
SIGKILL mid-delivery and a Redis restart (its queue gone) delay delivery but lose nothing, and each
event's effect in the test plugin is counted once.

The tests run their own redis-server on a free port, so restarting it disturbs nothing else. The
production setting (PostgreSQL) delivers 10,000 events; the embedded SQLite file, where every
handler's commit waits for the disk, 2,000.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from conftest import BACKEND, RedisServer, Tenant, make_tenant
from scrm import create_app
from scrm.kernel import Kernel
from scrm.piccolo_app import APP_CONFIG
from scrm.problems import ServiceUnavailable
from scrm.schemas import WorkspaceCreate
from scrm.settings import Settings
from scrm.testing import start_worker
from scrm_testplugin.tables import Seen, Tally, Welcome

API = "/api/v1"
EVENTS = 10_000 if BACKEND == "postgres" else 2_000
BATCH = 500


@pytest.fixture
async def redis_kernel(kernel: Kernel, settings: Settings, redis_server: RedisServer) -> AsyncIterator[Kernel]:
    """A second kernel on the (migrated) test database whose jobs go to the private Redis."""
    second = Kernel(replace(settings, redis_url=redis_server.url, outbox_lease_s=3.0))
    await second.start()
    yield second
    await second.stop()
    kernel.db.bind([APP_CONFIG, *kernel.plugins.app_configs()])  # tables point at the session's engine again


async def tally(workspace_id: int) -> int:
    rows = await Tally.select(Tally.events).where(Tally.workspace == workspace_id)
    return int(rows[0]["events"]) if rows else 0


async def wait_for(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def test_killed_worker_and_restarted_redis_lose_no_event(
    settings: Settings, redis_kernel: Kernel, redis_server: RedisServer, tmp_path: Path
) -> None:
    app = create_app(kernel=redis_kernel, configure_logs=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://scrm.test") as client:
        tenant: Tenant = await make_tenant(redis_kernel, client, "worker")
        assert (await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": True})).status_code == 200
        member = await tenant.member()
        expected = EVENTS + 1  # and member.created

        async def post_events(first: int, last: int) -> None:
            for start in range(first, last, BATCH):
                batch = [
                    {"member_id": member["id"], "type": "visit", "idempotency_key": f"v-{n}"}
                    for n in range(start, min(start + BATCH, last))
                ]
                response = await tenant.post(f"{API}/events", batch)
                assert response.status_code == 200, response.text

        log = tmp_path / "worker.log"
        await post_events(0, EVENTS // 2)
        first = start_worker(settings, redis_server.url, log, SCRM_OUTBOX_LEASE_SECONDS="3")
        try:
            await wait_for(lambda: _more_than(tenant.id, EVENTS // 20), 60, "the first worker to deliver some events")
            first.send_signal(signal.SIGKILL)  # in the middle of delivering the first half
            first.wait()
        finally:
            if first.poll() is None:
                first.kill()
        delivered_before = await tally(tenant.id)
        assert delivered_before < expected, "the first worker finished before it was killed"

        await post_events(EVENTS // 2, EVENTS)  # queued in Redis with no worker running…
        redis_server.stop()  # …and lost with it
        redis_server.start()

        second = start_worker(settings, redis_server.url, log, SCRM_OUTBOX_LEASE_SECONDS="3")
        try:

            async def all_delivered() -> bool:
                pending = await redis_kernel.db.fetch("SELECT id FROM scrm_outbox WHERE workspace = {}", tenant.id)
                return not pending and await tally(tenant.id) >= expected

            await wait_for(all_delivered, 180, f"all {expected} events to be delivered\n{log.read_text()[-3000:]}")
        finally:
            second.terminate()
            second.wait(timeout=10)

    assert await tally(tenant.id) == expected  # each event's effect counted exactly once
    seen = await Seen.count().where(Seen.workspace == tenant.id)
    assert seen == expected
    stored = await redis_kernel.db.fetch("SELECT COUNT(*) AS n FROM scrm_event WHERE workspace = {}", tenant.id)
    assert int(stored[0]["n"]) == expected


async def _more_than(workspace_id: int, n: int) -> bool:
    return await tally(workspace_id) > n


async def test_without_a_worker_delivery_waits_in_the_outbox(redis_kernel: Kernel, redis_server: RedisServer) -> None:
    """With Redis configured the API does not deliver; a Redis outage while recording only delays."""
    app = create_app(kernel=redis_kernel, configure_logs=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://scrm.test") as client:
        tenant = await make_tenant(redis_kernel, client, "nowork")
        member = await tenant.member()
        redis_server.stop()
        response = await tenant.post(f"{API}/events", {"member_id": member["id"], "type": "visit"})
        assert response.status_code == 201, response.text  # stored although the queue is down
        rows = await redis_kernel.db.fetch("SELECT event_ids FROM scrm_outbox WHERE workspace = {}", tenant.id)
        assert len(rows) == 2  # member.created and the visit, waiting for a worker
        redis_server.start()
        assert await redis_kernel.outbox.drain() >= 2
        assert await redis_kernel.db.fetch("SELECT id FROM scrm_outbox WHERE workspace = {}", tenant.id) == []


async def test_a_plugin_job_runs_on_a_worker(redis_kernel: Kernel, redis_server: RedisServer) -> None:
    """Queued in Redis by one kernel, run by a worker (here in-process, in burst mode)."""
    workspace = await redis_kernel.workspaces.create(WorkspaceCreate(slug=f"jobs-{time.time_ns()}", name="Jobs"))
    await redis_kernel.jobs.enqueue("testplugin.welcome_later", job_id="r-1", workspace_id=workspace.id, member_id=3)
    await redis_kernel.jobs.enqueue("testplugin.welcome_later", job_id="r-1", workspace_id=workspace.id, member_id=3)
    await redis_kernel.jobs.work(burst=True)
    rows = await Welcome.select(Welcome.member_id, Welcome.message).where(Welcome.workspace == workspace.id)
    assert rows == [{"member_id": 3, "message": "Welcome (job r-1)"}]


async def test_queueing_while_redis_is_down_is_a_503(redis_kernel: Kernel, redis_server: RedisServer) -> None:
    redis_server.stop()
    with pytest.raises(ServiceUnavailable) as raised:
        await redis_kernel.jobs.enqueue("testplugin.welcome_later", workspace_id=1, member_id=1)
    assert raised.value.status == 503
