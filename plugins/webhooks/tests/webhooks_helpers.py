"""Helpers of the webhooks plugin's tests: a real HTTP receiver on loopback, and settling deliveries."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from scrm import Kernel

BASE = "/api/v1/webhooks"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records what it is sent and answers with ``statuses`` in turn
    (the last one repeated), after ``delay_s``."""

    statuses: list[int] = field(default_factory=lambda: [200])
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def answer(self) -> int:
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]


@contextmanager
def receiver(statuses: list[int] | None = None, delay_s: float = 0.0) -> Iterator[Receiver]:
    state = Receiver(statuses=list(statuses or [200]), delay_s=delay_s)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with lock:
                state.received.append(Received(self.path, dict(self.headers.items()), body, time.monotonic()))
                status = state.answer()
            time.sleep(state.delay_s)
            try:
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the sender gave up waiting

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


async def settle(kernel: Kernel, workspace_id: int, timeout_s: float = 10.0) -> None:
    """Deliver the workspace's stored events to plugins, then wait for the delivery jobs they queued."""
    for _ in range(int(timeout_s / 0.02)):
        await kernel.outbox.drain()
        rows = await kernel.db.fetch("SELECT COUNT(*) AS n FROM scrm_outbox WHERE workspace = {}", workspace_id)
        if rows[0]["n"] == 0:
            await kernel.jobs.idle()
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the outbox did not drain")


async def subscribe(tenant: Any, url: str, types: list[str] | None = None) -> dict[str, Any]:
    await tenant.enable("webhooks")
    response = await tenant.post(f"{BASE}/subscriptions", {"url": url, "event_types": types or ["order.*"]})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def event(tenant: Any, member_id: int, type_: str = "order.paid", **properties: Any) -> None:
    response = await tenant.post(
        "/api/v1/events", {"member_id": member_id, "type": type_, "properties": properties or {"amount": 12}}
    )
    assert response.status_code in (200, 201, 202), response.text


async def deliveries(tenant: Any, subscription_id: int, **params: Any) -> list[dict[str, Any]]:
    response = await tenant.get(f"{BASE}/subscriptions/{subscription_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
