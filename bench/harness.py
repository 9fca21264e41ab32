"""Shared machinery of the benchmarks: servers, wrk runs, memory sampling and throw-away databases.

Every benchmark — the baselines and scrm alike — starts its server with :func:`serving`, loads it
with :func:`run_wrk` and reads memory with :class:`RssSampler`, so the figures being compared are
taken the same way. Everything targets 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import asyncpg
import httpx

HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
LUA_SCRIPT = Path(__file__).with_name("wrk_report.lua")
WRK_INSTALL_HINT = (
    "wrk is not installed; it generates the load from a separate process.\n"
    "Install it with:  sudo apt-get update && sudo apt-get install -y wrk   (Debian/Ubuntu)"
)


class BenchError(RuntimeError):
    """A benchmark could not run or produced a wrong result (not merely a slow one)."""


# --- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A server process this harness started (in its own process group) and the port it serves."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        """The process actually serving: the deepest descendant (``uv run`` starts a child)."""
        pid = self.process.pid
        while children := _children(pid):
            pid = children[-1]
        return pid

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, grace_s: float = 10.0) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after ``grace_s`` seconds."""
        if self.process.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue


def _children(pid: int) -> list[int]:
    """Child process ids of ``pid``, whichever of its threads started them."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children += [int(p) for p in (task / "children").read_text().split()]
    return sorted(children)


def wait_ready(server: Server, path: str = "/healthz", timeout_s: float = 60.0) -> None:
    """Poll ``GET path`` until it answers 200; fail with the server's log if it dies or times out."""
    deadline = time.monotonic() + timeout_s
    url = server.base_url + path
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise BenchError(f"{server.name} did not answer {url} within {timeout_s:.0f}s:\n{server.log_tail()}")


@contextlib.contextmanager
def serving(name: str, command: Sequence[str], log_dir: Path, env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """Start ``command`` (``{port}`` in it is replaced by a free port), wait for ``/healthz``,
    yield the :class:`Server` and always stop it afterwards."""
    port = free_port()
    log_path = log_dir / f"{name}.log"
    argv = [part.replace("{port}", str(port)) for part in command]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=True,  # its own process group, so stop() reaches `uv run`'s child too
        )
    server = Server(name, process, port, log_path)
    try:
        wait_ready(server)
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def running(
    name: str, command: Sequence[str], log_dir: Path, ready_text: str, env: Mapping[str, str] | None = None
) -> Iterator[Server]:
    """Start a process that serves no HTTP (``scrm worker``), wait until its log shows
    ``ready_text``, yield it as a :class:`Server` without a port and always stop it afterwards."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    server = Server(name, process, 0, log_path)
    try:
        deadline = time.monotonic() + 60
        while ready_text not in server.log_tail(200):
            if process.poll() is not None:
                raise BenchError(f"{name} exited with {process.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                raise BenchError(f"{name} did not log {ready_text!r} within 60s:\n{server.log_tail()}")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


# --- load with wrk -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, latency percentiles (milliseconds) and error counts."""

    requests: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    status_errors: int


def check_wrk() -> str | None:
    """The wrk binary's path, or None when it is not installed."""
    return shutil.which("wrk")


def run_wrk(
    url: str,
    *,
    duration_s: float,
    connections: int,
    threads: int,
    headers: Mapping[str, str] | None = None,
    random_path: tuple[str, int, int] | None = None,
    post_event: tuple[str, int, int] | None = None,
    warmup_s: float = 0.0,
) -> WrkResult:
    """Load ``url`` with wrk for ``duration_s`` (after an unmeasured warm-up) and parse the result.

    With ``random_path=(prefix, low, high)`` each request goes to ``prefix + random id``. With
    ``post_event=(path, low, high)`` each request POSTs one event (a JSON object) to ``path``, for a
    random member id in ``[low, high]`` and with an idempotency key no other request of any run uses.
    """
    for seconds, measured in ((warmup_s, False), (duration_s, True)):
        if seconds <= 0:
            continue
        argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
        argv += ["-s", str(LUA_SCRIPT)]
        for name, value in (headers or {}).items():
            argv += ["-H", f"{name}: {value}"]
        argv.append(url)
        if random_path:
            argv += ["--", random_path[0], str(random_path[1]), str(random_path[2])]
        elif post_event:
            path, low, high = post_event
            argv += ["--", "event", path, str(low), str(high), secrets.token_hex(6)]  # keys unique per run
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
        if done.returncode != 0:
            raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        if measured:
            return parse_wrk(done.stdout)
    raise BenchError("run_wrk: duration_s must be positive")


def parse_wrk(output: str) -> WrkResult:
    """Read the ``WRK_JSON`` line printed by ``wrk_report.lua``'s ``done()`` hook."""
    for line in output.splitlines():
        if line.startswith("WRK_JSON "):
            data = json.loads(line.removeprefix("WRK_JSON "))
            break
    else:
        raise BenchError(f"no WRK_JSON line in wrk output:\n{output}")
    seconds = data["duration_us"] / 1e6
    latency = data["latency_us"]
    errors = sum(data[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts"))
    return WrkResult(
        requests=int(data["requests"]),
        seconds=seconds,
        requests_per_s=data["requests"] / seconds if seconds else 0.0,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        errors=int(errors),
        status_errors=int(data["status_errors"]),
    )


# --- memory ------------------------------------------------------------------------------------


def memory_kib(pid: int) -> tuple[int, int]:
    """``(VmRSS, VmHWM)`` of a process in KiB: its resident memory now and at its peak so far."""
    values = {"VmRSS": 0, "VmHWM": 0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in values:
            values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


class RssSampler:
    """Samples a process's VmRSS in a background thread while the ``with`` block runs.

    ``peak_kib`` is the largest sample (the peak of *this* block, unlike VmHWM, which is the
    process's peak since it started); ``hwm_kib`` is VmHWM read when the block ends.
    """

    def __init__(self, pid: int, interval_s: float = 0.02) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.before_kib, _ = memory_kib(pid)
        self.peak_kib = self.before_kib
        self.hwm_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.peak_kib = max(self.peak_kib, memory_kib(self.pid)[0])
            self._stop.wait(self.interval_s)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(OSError):
            rss, self.hwm_kib = memory_kib(self.pid)
            self.peak_kib = max(self.peak_kib, rss)


# --- Redis -------------------------------------------------------------------------------------

REDIS_HINT = (
    "the event benchmarks need Redis on 127.0.0.1:6379 (sudo apt-get install -y redis-server) and redis-cli; "
    "--redis-db picks the database they flush and use"
)


def redis_cli(url: str, *args: str) -> str:
    """Run ``redis-cli -u URL ARGS``; raises :class:`BenchError` with a hint if Redis is not there."""
    if shutil.which("redis-cli") is None:
        raise BenchError(f"redis-cli is not installed; {REDIS_HINT}")
    done = subprocess.run(["redis-cli", "-u", url, *args], capture_output=True, text=True, timeout=30, check=False)
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0 or output.startswith(("Could not connect", "ERR")):
        raise BenchError(f"redis-cli {' '.join(args)} failed: {output}; {REDIS_HINT}")
    return output


# --- PostgreSQL --------------------------------------------------------------------------------


def pg_dsn(database: str) -> str:
    return f"postgresql://{PG_USER}@{HOST}:{PG_PORT}/{database}"


async def create_database() -> str:
    """Create an empty database ``bench_<random>`` and return its name."""
    name = f"bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(pg_dsn("postgres"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_database(name: str) -> None:
    """Drop a database this harness created, disconnecting whatever still uses it."""
    if not name.startswith("bench_"):
        raise BenchError(f"refusing to drop {name!r}: not a benchmark database")
    conn = await asyncpg.connect(pg_dsn("postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def pg_execute(database: str, *statements: str) -> None:
    """Run maintenance statements (VACUUM, CHECKPOINT…) outside a transaction."""
    conn = await asyncpg.connect(pg_dsn(database))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()
