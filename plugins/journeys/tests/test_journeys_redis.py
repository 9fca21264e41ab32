"""Runs waiting through a Redis restart *and* a killed worker: a wait is a row's ``due_at``, not a job
in Redis, so a restarted Redis (its queue gone) and a SIGKILLed ``scrm worker`` only delay the next
step — a fresh worker's ``journeys.tick`` takes every due run from the database, each step once."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from journeys_helpers import BASE, event, live, runs, welcome
from scrm import Kernel, Settings
from scrm.testing import RedisServer, start_worker
from scrm_journeys import runner

MEMBERS = 12
WAIT_S = 3


async def _positions(tenant: Any, journey_id: int) -> list[tuple[str, int]]:
    return [(r["status"], r["position"]) for r in await runs(tenant, journey_id, limit=100)]


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


async def _until(what: str, check: Any, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"{what}\n{_tail(log)}"
        await asyncio.sleep(0.2)


async def test_a_redis_restart_and_a_killed_worker_delay_waiting_runs_but_repeat_no_step(
    tenant: Any,
    kernel: Kernel,
    settings: Settings,
    redis_server: RedisServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def no_steps(kernel: Kernel, *args: Any, **kwargs: Any) -> int:
        return 0

    # only the worker processes take steps: not this process's wake-ups nor its in-process tick
    monkeypatch.setattr(runner, "_wake", no_steps)
    monkeypatch.setattr(runner, "advance", no_steps)
    body = welcome(
        definition={
            "trigger": {"kind": "event", "event_type": "signup"},
            "steps": [
                {"type": "action", "action": "tag_add", "tag": "before"},
                {"type": "wait", "seconds": WAIT_S},
                {"type": "action", "action": "tag_add", "tag": "after"},
            ],
        }
    )
    journey = await live(tenant, body)
    members = [await tenant.member(display_name=f"R{n}") for n in range(MEMBERS)]
    for member in members:
        await event(tenant, member["id"], "signup")
    await kernel.jobs.idle()
    assert await _positions(tenant, journey["id"]) == [("active", 0)] * MEMBERS

    log = tmp_path / "worker.log"
    worker = start_worker(settings, redis_server.url, log)
    try:

        async def all_waiting() -> bool:
            return await _positions(tenant, journey["id"]) == [("waiting", 1)] * MEMBERS

        await _until("the first worker never took the runs to their wait", all_waiting, log)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        redis_server.stop()  # whatever was queued in Redis is gone
        redis_server.start()
        worker = start_worker(settings, redis_server.url, log)

        async def all_completed() -> bool:
            return await _positions(tenant, journey["id"]) == [("completed", 3)] * MEMBERS

        await _until("the runs never completed after the restart", all_completed, log)
    finally:
        worker.kill()
        worker.wait(timeout=10)

    steps = await kernel.sql.fetch(
        "SELECT run, position, COUNT(*) AS n FROM journeys_step WHERE journey = {} AND outcome = 'passed' "
        "GROUP BY run, position",
        journey["id"],
    )
    assert len(steps) == MEMBERS * 3
    assert {s["n"] for s in steps} == {1}
    for member in members:
        changed = (await tenant.get(f"/api/v1/members/{member['id']}/events", params={"type": "tags.changed"})).json()[
            "items"
        ]
        assert sorted(tuple(e["properties"]["added"]) for e in changed) == [("after",), ("before",)]
    detail = (await tenant.get(f"{BASE}/{journey['id']}/runs/{(await runs(tenant, journey['id']))[0]['id']}")).json()
    assert [(s["position"], s["outcome"]) for s in detail["trail"]] == [
        (0, "passed"),
        (1, "waiting"),
        (1, "passed"),
        (2, "passed"),
    ]
