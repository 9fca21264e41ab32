"""The SDK's tests call a real server: the app served by uvicorn on a loopback port, in a thread of
the test process, on the run's database (either engine; the ``kernel`` fixture has migrated it)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Literal

import pytest
import uvicorn
from scrm import create_app
from scrm.kernel import Kernel
from scrm.settings import Settings
from scrm.testing import BACKEND


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _scope(fixture_name: str, config: pytest.Config) -> Literal["session", "module"]:
    """Per test module on PostgreSQL: while a server runs, its kernel holds piccolo's tables, bound
    to its own pool on the server's loop, and the session's kernel takes them back when it stops. On
    SQLite the tables work from any loop, and a server stopped mid-run leaves aiosqlite threads
    answering a closed loop: one server for the session."""
    return "session" if BACKEND == "sqlite" else "module"


@pytest.fixture(scope=_scope)
def server(kernel: Kernel, settings: Settings) -> Iterator[str]:
    """The base URL of a server of its own kernel (and database pool) on the tests' database. It runs
    no cron job: on SQLite it lives until the session ends, and its outbox sweeper would deliver
    later tests' events on its own thread, where their ``kernel.jobs.idle()`` does not wait for it."""
    app = create_app(kernel=Kernel(settings), configure_logs=False, run_crons=False)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, name="sdk-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=30)
    kernel.bind_tables()  # the server's kernel had taken piccolo's tables over
