"""scrm's own suite runs on the public test helpers (``scrm.testing``, enabled in the root
``conftest.py``); test modules import its helpers from here by the name ``conftest``."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from scrm.testing import BACKEND, PG_URL, Tenant, make_tenant, problem

__all__ = ["BACKEND", "PG_URL", "ROOT", "RedisServer", "Tenant", "core_route", "make_tenant", "problem"]

ROOT = Path(__file__).resolve().parents[1]
#: first-party plugins whose own suites (plugins/<name>/tests) prove scopes and isolation of their routes
PLUGINS_WITH_OWN_SUITES = ("points", "lottery")


def core_route(path: str) -> bool:
    """Whether the route-by-route checks of this suite cover ``path``: the core's routes and the test
    plugin's, not those of a first-party plugin, whose own suite covers them."""
    return not any(path.startswith(f"/api/v1/{name}/") for name in PLUGINS_WITH_OWN_SUITES)


class RedisServer:
    """A private redis-server that a test can restart (losing everything queued, as Redis without
    persistence does)."""

    def __init__(self, tmp: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.tmp = tmp
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.tmp,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
