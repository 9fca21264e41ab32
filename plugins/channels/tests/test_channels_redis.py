"""Sends through Redis for real: messages queued to a private redis-server, Redis restarted (its
queue gone, as Redis without persistence loses it) and sends made while it is down are all
delivered by a ``scrm worker`` once it is back — each exactly once, since the database (the
message rows) is the truth and ``channels.sweep`` queues again what Redis lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from channels_helpers import Mailbox, consenting, mailbox, ready
from scrm import Kernel, Settings
from scrm.testing import RedisServer, start_worker
from scrm_channels import messages

__all__ = ["mailbox"]

QUEUED = 30
WHILE_DOWN = 3


@pytest.fixture
async def redis_kernel(kernel: Kernel, settings: Settings, redis_server: RedisServer) -> AsyncIterator[Kernel]:
    """A second kernel on the (migrated) test database whose jobs go to the private Redis."""
    second = Kernel(replace(settings, redis_url=redis_server.url))
    await second.start()
    yield second
    await second.stop()
    kernel.bind_tables()  # the tables point at the session's engine again


async def queued_deliveries(server: RedisServer) -> list[bytes]:
    client = redis.asyncio.Redis.from_url(server.url)
    try:
        return list(await client.keys("arq:job:channels.deliver:*"))
    finally:
        await client.aclose()


async def test_a_redis_restart_loses_no_send_and_repeats_none(
    tenant: Any,
    kernel: Kernel,
    settings: Settings,
    mailbox: Mailbox,
    redis_server: RedisServer,
    redis_kernel: Kernel,
    tmp_path: Path,
) -> None:
    first = await ready(tenant, mailbox)
    others = [
        await consenting(tenant, display_name=f"M{n}", identities={"email": f"m{n}@example.test"}) for n in range(4)
    ]
    members = [first["id"], *(m["id"] for m in others)]
    ws = await redis_kernel.workspace_ref(tenant.id)

    async def send(n: int) -> Any:
        member_id = members[n % len(members)]
        return await messages.send(redis_kernel, ws, member_id, "marketing.email", "welcome", reference=f"r-{n}")

    queued = [await send(n) for n in range(QUEUED)]  # queued in Redis, no worker running…
    assert {s.status for s in queued} == {"queued"}
    assert len(await queued_deliveries(redis_server)) == QUEUED
    redis_server.stop()  # …and lost with it
    down = [await send(n) for n in range(QUEUED, QUEUED + WHILE_DOWN)]  # queueing fails: stored all the same
    assert {s.status for s in down} == {"queued"}
    redis_server.start()
    assert await queued_deliveries(redis_server) == []
    # a caller's redelivered calls are duplicates, not new messages
    assert {(await send(n)).duplicate for n in range(5)} == {True}

    log = tmp_path / "worker.log"
    worker = start_worker(settings, redis_server.url, log)
    total = QUEUED + WHILE_DOWN
    try:
        deadline = time.monotonic() + 120
        while len(mailbox.received) < total:
            assert time.monotonic() < deadline, f"{len(mailbox.received)} of {total} arrived\n{log.read_text()[-3000:]}"
            await asyncio.sleep(0.2)
        await asyncio.sleep(6)  # a sweep later: nothing more arrives
    finally:
        worker.terminate()
        worker.wait(timeout=10)

    assert len(mailbox.received) == total
    assert len({m["Message-ID"] for m in mailbox.received}) == total  # each message once
    rows = await kernel.sql.fetch(
        "SELECT status, attempts, COUNT(*) AS n FROM channels_message WHERE workspace = {} GROUP BY status, attempts",
        tenant.id,
    )
    assert [(r["status"], r["attempts"], r["n"]) for r in rows] == [("sent", 1, total)]
    attempts = await kernel.sql.fetch(
        "SELECT status, COUNT(*) AS n FROM channels_attempt WHERE workspace = {} GROUP BY status", tenant.id
    )
    assert [(r["status"], r["n"]) for r in attempts] == [("sent", total)]
