"""A revocation reaches every process at once when Redis is configured: the change is announced on a
Redis channel and each process drops its short caches (kernel.forgetting, scrm.cache.ForgetBroadcast).

Two processes: a ``scrm serve`` whose cache would keep a key for an hour (``SCRM_AUTH_CACHE_SECONDS``),
and this test's own kernel, which revokes. The key stops working on the server although its cache
entry has not expired — which only the announcement can do (a change made behind the kernel's back,
straight in the database, is shown not to)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import redis.asyncio
from conftest import RedisServer, Tenant
from scrm.cache import CHANNEL
from scrm.kernel import Kernel
from scrm.settings import Settings

DEADLINE_S = 60.0  # generous: a loaded machine; the cache would hold the key for an hour


async def wait_for(condition: Callable[[], Awaitable[bool]], what: str, log: Path) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}\n{(await asyncio.to_thread(log.read_bytes))[-3000:]!r}")


@pytest.fixture
async def server(settings: Settings, redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[str]:
    """``scrm serve`` on the test database and the private Redis, caching keys for an hour; its URL
    once it answers and listens to the channel."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "SCRM_DATABASE_URL": str(settings.database),
        "SCRM_DATA_DIR": str(settings.data_dir),
        "SCRM_SECRET_KEY": settings.secret_key,
        "SCRM_REDIS_URL": redis_server.url,
        "SCRM_AUTH_CACHE_SECONDS": "3600",
        "SCRM_LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "serve.log"
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "scrm.cli", "serve", "--port", str(port), env=env, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    listener = redis.asyncio.Redis.from_url(redis_server.url)

    async def ready() -> bool:
        assert process.returncode is None, "scrm serve exited (see serve.log)"
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                if (await client.get(f"{base}/readyz")).status_code != 200:
                    return False
        except httpx.TransportError:
            return False
        [(_, subscribers)] = await listener.pubsub_numsub(CHANNEL)
        return bool(subscribers)

    try:
        await wait_for(ready, "scrm serve to answer and listen", log)
        yield base
    finally:
        await listener.aclose()
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


async def test_a_revoked_key_stops_working_in_another_process_at_once(
    kernel: Kernel, settings: Settings, tenant: Tenant, redis_server: RedisServer, server: str
) -> None:
    ws = await kernel.workspaces.ref(tenant.slug)
    created = await kernel.keys.create(ws, ["members:read"], "elsewhere")
    async with httpx.AsyncClient(base_url=server, headers={"Authorization": f"Bearer {created.key}"}) as there:

        async def status() -> int:
            return (await there.get("/api/v1/members")).status_code

        assert await status() == 200  # the server now caches the key for an hour
        revoked_behind_its_back = "UPDATE scrm_api_key SET revoked_at = {} WHERE id = {}"
        await kernel.db.fetch(revoked_behind_its_back, datetime.now(UTC), created.id)
        assert await status() == 200  # unannounced: the cached key still works
        await kernel.db.fetch("UPDATE scrm_api_key SET revoked_at = NULL WHERE id = {}", created.id)

        revoker = Kernel(replace(settings, redis_url=redis_server.url))  # a process that uses Redis
        await revoker.start()
        try:
            await revoker.keys.revoke(ws, created.id)
        finally:
            await revoker.stop()
            kernel.bind_tables()  # the tables point at the session's kernel again

        async def refused() -> bool:
            return await status() == 401

        await wait_for(refused, "the revoked key to be refused by the other process", Path(os.devnull))
