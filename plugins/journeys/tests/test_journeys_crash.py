"""A worker SIGKILLed in the middle of a step: the step is rolled back and done once by the next
worker — never twice, never skipped (the database effects); an outside call (a webhook) is at least
once, with the same idempotency key. And two workers racing over the same due runs take each step once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from channels_helpers import free_port
from journeys_helpers import BASE, event, live, runs, welcome
from scrm import Kernel
from scrm_journeys import runner

WORKER = Path(__file__).with_name("journeys_worker.py")


class Receiver:
    """A webhook receiver that holds the first request until released (the worker dies meanwhile)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.keys: list[str] = []
        self.arrived = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            box.keys.append(self.headers["Idempotency-Key"])
            box.arrived.set()
            box.release.wait(30)
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", box.port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield box
    box.release.set()
    server.shutdown()
    server.server_close()


async def test_a_killed_worker_delays_a_step_but_never_repeats_or_skips_it(
    tenant: Any, kernel: Kernel, receiver: Receiver, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_steps(kernel: Kernel, *args: Any, **kwargs: Any) -> int:
        return 0

    # only the worker process takes steps until it is killed: not this process's wake-ups, nor its
    # own in-process ``journeys.tick`` cron (it would reach the webhook first and win the race)
    advance = runner.advance
    monkeypatch.setattr(runner, "_wake", no_steps)
    monkeypatch.setattr(runner, "advance", no_steps)
    body = welcome(
        definition={
            "trigger": {"kind": "event", "event_type": "signup"},
            "steps": [
                {"type": "action", "action": "tag_add", "tag": "welcomed"},
                {"type": "action", "action": "webhook", "url": receiver.url},
                {"type": "action", "action": "tag_add", "tag": "done"},
            ],
        }
    )
    journey = await live(tenant, body)
    member = await tenant.member(display_name="Crash")
    await event(tenant, member["id"], "signup")
    await kernel.jobs.idle()
    [run] = await runs(tenant, journey["id"])
    assert (run["status"], run["position"]) == ("active", 0)

    env = {
        **os.environ,
        "SCRM_DATABASE_URL": database_url,
        "SCRM_SECRET_KEY": kernel.settings.secret_key,
        "SCRM_DATA_DIR": str(tmp_path),
        "SCRM_OUTBOUND_ALLOW": ",".join(kernel.settings.outbound_allow),  # the receiver is on loopback
    }
    env.pop("SCRM_REDIS_URL", None)
    worker = await asyncio.create_subprocess_exec(
        sys.executable, str(WORKER), env=env, stdout=asyncio.subprocess.DEVNULL
    )
    try:
        assert await asyncio.to_thread(receiver.arrived.wait, 60), "the worker never reached the webhook step"
        os.kill(worker.pid, signal.SIGKILL)  # mid-step: inside the webhook step's transaction
        assert await asyncio.wait_for(worker.wait(), 10) == -signal.SIGKILL
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    [run] = await runs(tenant, journey["id"])
    assert (run["status"], run["position"]) == ("active", 1)  # step 0 committed, step 1 rolled back
    receiver.release.set()
    deadline = time.monotonic() + 30
    while (await runs(tenant, journey["id"]))[0]["status"] != "completed":
        assert time.monotonic() < deadline, "the run never completed"
        await advance(kernel)  # PostgreSQL frees the dead worker's row lock when it notices
        await asyncio.sleep(0.1)

    trail = (await tenant.get(f"{BASE}/{journey['id']}/runs/{run['id']}")).json()["trail"]
    assert [(s["position"], s["outcome"]) for s in trail] == [(0, "passed"), (1, "passed"), (2, "passed")]
    tag_events = (await tenant.get(f"/api/v1/members/{member['id']}/events", params={"type": "tags.changed"})).json()
    assert sorted(tuple(e["properties"]["added"]) for e in tag_events["items"]) == [("done",), ("welcomed",)]
    # the outside call was repeated, with the same key, so the receiver can drop the repeat
    assert receiver.keys == [f"journey:{run['id']}:1"] * 2


async def test_racing_workers_take_each_step_once(tenant: Any, kernel: Kernel) -> None:
    body = welcome(
        definition={
            "trigger": {"kind": "event", "event_type": "signup"},
            "steps": [
                {"type": "action", "action": "tag_add", "tag": "one"},
                {"type": "wait", "seconds": 0},
                {"type": "action", "action": "tag_add", "tag": "two"},
            ],
        }
    )
    journey = await live(tenant, body)
    members = [await tenant.member(display_name=f"R{i}") for i in range(30)]
    response = await tenant.post("/api/v1/events", [{"member_id": m["id"], "type": "signup"} for m in members])
    assert response.status_code in (200, 201, 202), response.text
    await kernel.jobs.idle()
    await asyncio.gather(*(runner.advance(kernel) for _ in range(4)))
    await kernel.jobs.idle()
    done = await runs(tenant, journey["id"], status="completed", limit=100)
    assert len(done) == 30
    rows = await kernel.sql.fetch(
        "SELECT run, position, COUNT(*) AS n FROM journeys_step WHERE journey = {} GROUP BY run, position",
        journey["id"],
    )
    assert len(rows) == 30 * 3
    assert {r["n"] for r in rows} == {1}
