"""A real scrm for the browser: ``scrm demo`` in a subprocess on a free port — the command a newcomer
types — which migrates a database, seeds the demo workspace and serves it."""

from __future__ import annotations

import ast
import asyncio
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from scrm.settings import DatabaseURL

#: the workspace ``scrm demo`` seeds
WORKSPACE = "demo"
SCRIPT = Path(sys.executable).with_name("scrm")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "scrm.cli"]
SECRET = "browser-test-secret-" + "b" * 32
DEMO_MEMBERS = 200
#: what `scrm demo` prints: `  console:    http://…/console/  (user 'demo', password '…')`
CONSOLE_LINE = re.compile(r"console:\s+\S+\s+\(user (?P<user>'[^']*'), password (?P<password>'[^']*')\)")
KEY_LINE = re.compile(r"API key:\s+(?P<key>\S+)")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


@dataclass(frozen=True)
class Server:
    """A running ``scrm serve`` and what ``scrm demo`` printed when it seeded the database."""

    url: str
    backend: str
    username: str
    password: str
    api_key: str
    env: dict[str, str]

    async def cli(self, *args: str) -> str:
        """Run ``scrm ARGS`` on the server's database; returns what it printed."""
        process = await asyncio.create_subprocess_exec(
            *COMMAND, *args, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, f"scrm {' '.join(args)} failed:\n{out.decode()}\n{err.decode()}"
        return out.decode()

    async def new_operator(self, role: str = "operator") -> Credentials:
        """A new operator with ``role`` in the demo workspace (``scrm operators create``), for a test
        that changes what is an operator's own (their language) or needs another role."""
        username = f"e2e-{role}-{secrets.token_hex(3)}"
        printed = await self.cli(
            "operators", "create", username, "--workspace", WORKSPACE, "--role", role, "--generate-password"
        )
        return Credentials(username, printed.strip().splitlines()[-1].removeprefix("password: "))


@contextmanager
def demo_server(env: dict[str, str], data: Path, log: Path) -> Iterator[Server]:
    """``scrm demo`` on ``env``'s database — it migrates, seeds and serves, as ``./dev demo`` does —
    until the block ends. What it prints (the sign-in, the key, then the server's log) goes to
    ``log``, whose end is shown when the server does not come up."""
    port = _free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*COMMAND, "demo", "--host", "127.0.0.1", "--port", str(port), "--members", str(DEMO_MEMBERS)],
            env=env,
            cwd=data,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(process, url, log)
        printed = log.read_text()
        console = CONSOLE_LINE.search(printed)
        key = KEY_LINE.search(printed)
        if console is None or key is None:
            pytest.fail(f"scrm demo printed no console sign-in or API key:\n{printed[-4000:]}")
        yield Server(
            url=url,
            backend=DatabaseURL.parse(env["SCRM_DATABASE_URL"]).dialect,
            username=ast.literal_eval(console["user"]),
            password=ast.literal_eval(console["password"]),
            api_key=key["key"],
            env=env,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, log: Path, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"scrm serve exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"scrm serve was not ready within {seconds}s:\n{log.read_text()[-4000:]}")
