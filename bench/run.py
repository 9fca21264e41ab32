"""Benchmark scrm against this machine's own limits, in one run.

    uv run python bench/run.py [--quick]

Measures the limits (an empty Litestar route, hand-written Litestar + asyncpg routes for a member
lookup and an event insert, raw PostgreSQL COPY of members and of events) and scrm's own figures
(member lookup, bulk import, memory during import, event ingestion one by one and in batches, outbox
delivery by ``scrm worker`` through Redis) on a throw-away PostgreSQL database, prints one table and
writes it to ``bench/results/latest.json``.
Exit status: 0 all targets met, 1 a target missed, 2 a benchmark failed or gave a wrong result.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import baselines
import httpx
from harness import (
    WRK_INSTALL_HINT,
    BenchError,
    RssSampler,
    Server,
    WrkResult,
    check_wrk,
    create_database,
    drop_database,
    memory_kib,
    pg_dsn,
    pg_execute,
    redis_cli,
    run_wrk,
    running,
    serving,
)
from workload import EventWorkload, stream_file, write_ndjson

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "latest.json"
MIB = 1024
WORKSPACE = "bench"
GET_TARGET = 0.60  # scrm's GET req/s over the hand-written route's
IMPORT_TARGET = 0.30  # scrm's import rows/s over COPY's
MEMORY_GROWTH_TARGET = 1.25  # peak RSS of the large import over the small one's
EVENT_BATCH_TARGET = 0.40  # scrm's batch ingestion events/s over COPY's
EVENT_POST_TARGET = 0.60  # scrm's single-event POST req/s over the hand-written route's
ALONE_EVENTS = 100_000  # at most, the batch load run before the worker starts (the API's rate alone)
PLUGIN = "testplugin"  # subscribed to scrm_event_recorded; counts each event once in testplugin_tally
PG_HINT = "PostgreSQL must accept user postgres without a password on 127.0.0.1:5432 (see bench/README.md)."


@dataclass(frozen=True)
class Config:
    """How much work each benchmark does."""

    seed_rows: int  # members imported first; the GET benchmark draws its ids from them
    large_rows: int  # members of the large import (memory must stay flat)
    warmup_s: float
    duration_s: float
    rounds: int  # GET runs alternate baseline/scrm this many times; the best of each is kept
    # wrk connections: first as many as the server's pool has connections, then oversubscribed
    connections: tuple[int, ...] = (10, 32)
    threads: int = 1
    pool_size: int = 10  # scrm's default SCRM_DB_POOL_SIZE; the baseline uses the same
    events: int = 1_000_000  # events of the batch load (then the outbox must drain)
    event_batch: int = 1000  # events per POST of the batch load (scrm's maximum)
    event_clients: int = 4  # batch-load clients posting at once
    redis_url: str = "redis://127.0.0.1:6379/14"  # flushed at the start and the end
    api_processes: int = 1  # processes of the event benchmarks' server (`scrm serve --workers N`)


FULL = Config(seed_rows=100_000, large_rows=1_000_000, warmup_s=3, duration_s=15, rounds=2)
QUICK = Config(seed_rows=20_000, large_rows=50_000, warmup_s=1, duration_s=4, rounds=1, events=50_000)


@dataclass
class Figure:
    """One line of the report. ``ratio`` is ``value / limit``; ``target`` applies to the ratio."""

    name: str
    value: float
    unit: str
    limit: float | None = None
    target: float | None = None
    higher_is_better: bool = True
    error: str = ""

    @property
    def ratio(self) -> float | None:
        return self.value / self.limit if self.limit else None

    @property
    def ok(self) -> bool | None:
        if self.error:
            return False
        if self.target is None or self.ratio is None:
            return None
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    @property
    def target_text(self) -> str:
        if self.target is None:
            return ""
        return f"{'≥' if self.higher_is_better else '≤'} {self.target:.2f}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "ok": self.ok, "target_text": self.target_text or None}


@dataclass
class Report:
    """The figures in the order they were measured, and facts about the machine."""

    figures: list[Figure] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        progress(f"  {figure.name}: {_number(figure.value)} {figure.unit}")
        return figure


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- scrm ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scrm:
    """How to run the scrm CLI against the benchmark database."""

    env: Mapping[str, str]

    def cli(self, *args: str) -> str:
        """Run ``uv run scrm ARGS``; returns the last line of its output."""
        return self.output(*args).splitlines()[-1]

    def output(self, *args: str) -> str:
        """Run ``uv run scrm ARGS``; returns its whole output."""
        done = subprocess.run(
            ["uv", "run", "--no-sync", "scrm", *args],
            env=dict(self.env),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"scrm {' '.join(args[:2])} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout.strip()

    def serve_command(self, processes: int = 1) -> list[str]:
        return ["uv", "run", "--no-sync", "scrm", "serve", "--port", "{port}", "--workers", str(processes)]


def scrm_env(database: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SCRM_DATABASE_URL": pg_dsn(database),
        "SCRM_SECRET_KEY": secrets.token_urlsafe(30),  # 40 characters
        "SCRM_DATA_DIR": str(data_dir),
    }


@dataclass(frozen=True)
class Bench:
    """What every phase needs: sizes, the throw-away database, a scratch directory, scrm and its key."""

    config: Config
    database: str
    tmp: Path
    scrm: Scrm
    key: str
    workspace_id: int
    report: Report

    @property
    def dsn(self) -> str:
        return pg_dsn(self.database)

    def wrk(self, url: str, connections: int, **options: Any) -> WrkResult:
        """A measured wrk run with this benchmark's durations."""
        return run_wrk(
            url,
            duration_s=self.config.duration_s,
            warmup_s=self.config.warmup_s,
            connections=connections,
            threads=self.config.threads,
            **options,
        )

    def baseline_command(self, *args: str) -> list[str]:
        return [sys.executable, str(BENCH_DIR / "baselines.py"), *args, "--port", "{port}"]


def setup(config: Config, database: str, tmp: Path, report: Report) -> Bench:
    """Migrate the database and create the workspace and API key with the scrm CLI."""
    progress(f"setting up database {database}")
    scrm = Scrm(scrm_env(database, tmp / "data"))
    scrm.cli("migrate")
    slug = scrm.cli("workspaces", "create", WORKSPACE)
    key = scrm.cli("keys", "create", "--workspace", slug, "--scopes", "*")
    workspace_id = asyncio.run(fetchval(database, "SELECT id FROM scrm_workspace WHERE slug = $1", slug))
    report.meta["postgresql"] = asyncio.run(fetchval(database, "SHOW server_version"))
    return Bench(config, database, tmp, scrm, key, workspace_id, report)


# --- the benchmarks ---------------------------------------------------------------------------


def bench_empty_route(b: Bench) -> None:
    """The most one uvicorn + Litestar process answers, for scale."""
    progress("baseline: empty Litestar route")
    connections = b.config.connections[0]
    with serving("baseline-empty", b.baseline_command("empty"), b.tmp) as server:
        result = b.wrk(f"{server.base_url}/empty", connections)
    b.report.add(
        Figure(
            f"baseline: empty Litestar route @{connections}", result.requests_per_s, "req/s", error=wrk_errors(result)
        )
    )


@dataclass(frozen=True)
class CopyLimits:
    seed: float
    large: float


def bench_copy(b: Bench) -> CopyLimits:
    """Raw COPY of the same rows the imports will send, into a copy of the member table."""
    progress("baseline: PostgreSQL COPY")
    seed, large = b.config.seed_rows, b.config.large_rows
    limits = CopyLimits(
        seed=asyncio.run(baselines.copy_rate(b.dsn, b.workspace_id, 1, seed)),
        large=asyncio.run(baselines.copy_rate(b.dsn, b.workspace_id, seed + 1, large)),
    )
    no_fk = asyncio.run(baselines.copy_rate(b.dsn, b.workspace_id, seed + 1, large, foreign_key=False))
    b.report.add(Figure(f"baseline: COPY {seed:,} members", limits.seed, "rows/s"))
    b.report.add(Figure(f"baseline: COPY {large:,} members", limits.large, "rows/s"))
    b.report.add(Figure(f"baseline: COPY {large:,}, no foreign key", no_fk, "rows/s"))
    asyncio.run(pg_execute(b.database, "CHECKPOINT"))
    return limits


def import_members(server: Server, key: str, ndjson: Path, rows: int) -> tuple[float, RssSampler]:
    """Stream an NDJSON file to the import endpoint while sampling the server's memory.

    Returns rows per second and the memory sampler; raises unless every row was created.
    """
    with RssSampler(server.pid) as rss:
        began = time.perf_counter()
        response = httpx.post(
            f"{server.base_url}/api/v1/members/import",
            content=stream_file(ndjson),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"},
            timeout=httpx.Timeout(1800.0, connect=10.0),
        )
        elapsed = time.perf_counter() - began
    if response.status_code != 200:
        raise BenchError(f"import answered {response.status_code}: {response.text[:500]}")
    result: dict[str, Any] = response.json()
    if result.get("created") != rows or result.get("failed_rows") != 0:
        summary = {k: v for k, v in result.items() if k != "errors"} | {"errors": result.get("errors", [])[:3]}
        raise BenchError(f"import of {rows} rows did not create them all: {summary}")
    return rows / elapsed, rss


def bench_import(b: Bench, server: Server, ndjson: Path, rows: int, copy_limit: float) -> RssSampler:
    """Import ``rows`` members through the API; figure its rate against COPY of the same database
    work: the members, and the ``member.created`` event the import records for each of them."""
    progress(f"scrm: import {rows:,} members")
    asyncio.run(pg_execute(b.database, "CHECKPOINT"))
    rate, rss = import_members(server, b.key, ndjson, rows)
    progress(f"baseline: COPY the {rows:,} member.created events")
    events_rate = asyncio.run(member_created_copy_rate(b, rows))
    limit = 1 / (1 / copy_limit + 1 / events_rate)
    b.report.add(Figure(f"baseline: COPY {rows:,} members and their member.created events", limit, "rows/s"))
    b.report.add(Figure(f"scrm: import {rows:,} members", rate, "rows/s", limit=limit, target=IMPORT_TARGET))
    return rss


async def member_created_copy_rate(b: Bench, rows: int) -> float:
    """COPY rate of one ``member.created`` event for each of the last ``rows`` members imported."""
    conn = await asyncpg.connect(b.dsn)
    try:
        found = await conn.fetch(
            "SELECT id FROM scrm_member WHERE workspace = $1 ORDER BY id DESC LIMIT $2", b.workspace_id, rows
        )
    finally:
        await conn.close()
    ids = sorted(row["id"] for row in found)
    at = datetime.now(UTC)

    def records(first: int, count: int) -> list[tuple[Any, ...]]:
        return [
            (b.workspace_id, ids[i], "member.created", '{"tags": ["tea"]}', at, at, "import", None)
            for i in range(first, first + count)
        ]

    return await baselines.event_copy_rate(b.dsn, b.workspace_id, records, rows)


def bench_get_member(b: Bench, server: Server) -> None:
    """``GET /api/v1/members/{id}`` against the hand-written route, at each concurrency.

    Both servers stay up; the runs alternate baseline, scrm, baseline… so that whatever else the
    machine does disturbs both alike, and the best run of each is kept.
    """
    asyncio.run(pg_execute(b.database, "VACUUM ANALYZE scrm_member", "CHECKPOINT"))
    sql = "SELECT min(id), max(id) FROM scrm_member WHERE workspace = $1"
    low, high = asyncio.run(fetchrow(b.database, sql, b.workspace_id))
    command = b.baseline_command("member", "--dsn", b.dsn, "--workspace", str(b.workspace_id))
    command += ["--pool-size", str(b.config.pool_size)]
    with serving("baseline-member", command, b.tmp) as baseline:
        for connections in b.config.connections:
            base_runs, scrm_runs = [], []
            for n in range(b.config.rounds):
                progress(f"GET member @{connections} connections, round {n + 1}/{b.config.rounds}")
                base_runs.append(b.wrk(baseline.base_url, connections, random_path=("/members/", low, high)))
                scrm_runs.append(
                    b.wrk(
                        server.base_url,
                        connections,
                        random_path=("/api/v1/members/", low, high),
                        headers={"Authorization": f"Bearer {b.key}"},
                    )
                )
            add_get_figures(b.report, connections, best(base_runs), best(scrm_runs))


def add_request_figures(
    report: Report,
    at: str,
    what: tuple[str, str, str],
    base: WrkResult,
    mine: WrkResult,
    target: float,
    scrm_at: str | None = None,
) -> None:
    """Rate, p50 and p99 of a baseline run and of scrm's, scrm's as ratios to the baseline's.
    ``what`` names them: the baseline's rate, scrm's rate, and both latencies; ``at`` says how they
    ran (``scrm_at``, when given, how scrm's run differed)."""
    baseline_rate, scrm_rate, latency = what
    scrm_at = scrm_at or at
    report.add(Figure(f"baseline: {baseline_rate} {at}", base.requests_per_s, "req/s", error=wrk_errors(base)))
    report.add(Figure(f"baseline: {latency} p50 {at}", base.p50_ms, "ms"))
    report.add(Figure(f"baseline: {latency} p99 {at}", base.p99_ms, "ms"))
    report.add(
        Figure(
            f"scrm: {scrm_rate} {scrm_at}",
            mine.requests_per_s,
            "req/s",
            limit=base.requests_per_s,
            target=target,
            error=wrk_errors(mine),
        )
    )
    report.add(Figure(f"scrm: {latency} p50 {scrm_at}", mine.p50_ms, "ms", limit=base.p50_ms))
    report.add(Figure(f"scrm: {latency} p99 {scrm_at}", mine.p99_ms, "ms", limit=base.p99_ms))


def add_get_figures(report: Report, connections: int, base: WrkResult, mine: WrkResult) -> None:
    what = ("asyncpg GET member", "GET /api/v1/members/{id}", "GET member")
    add_request_figures(report, f"@{connections}", what, base, mine, GET_TARGET)


def best(runs: list[WrkResult]) -> WrkResult:
    """The run with the highest throughput (the least disturbed by anything else on the machine)."""
    return max(runs, key=lambda r: r.requests_per_s)


def wrk_errors(result: WrkResult) -> str:
    return f"{result.errors} of {result.requests} requests failed" if result.errors else ""


# --- events -------------------------------------------------------------------------------------


def bench_events(b: Bench) -> None:
    """The event figures, on a scrm server whose jobs go to Redis, with ``testplugin`` enabled in the
    workspace (so every event is delivered to its ``scrm_event_recorded``).

    Single-event POSTs and a smaller batch load first with no worker running (the API alone), then
    single-event POSTs with one ``scrm worker``, against the hand-written route; COPY of the batch
    load's events; then the batch load itself, with the worker delivering, and the time until it has
    delivered all of it.
    """
    redis_url = b.config.redis_url
    progress(f"events: flushing Redis {redis_url}")
    redis_cli(redis_url, "FLUSHDB")
    env = {**b.scrm.env, "SCRM_REDIS_URL": redis_url}
    low, high = asyncio.run(member_range(b))
    base = datetime.now(UTC) - timedelta(milliseconds=b.config.events, minutes=1)
    workload = EventWorkload(low, high, base)
    alone_count = min(b.config.events, ALONE_EVENTS)
    alone_workload = EventWorkload(low, high, base, key_prefix="n")
    baseline_command = b.baseline_command("event", "--dsn", b.dsn, "--workspace", str(b.workspace_id))
    baseline_command += ["--pool-size", str(b.config.pool_size)]
    worker_command = ["uv", "run", "--no-sync", "scrm", "worker"]
    try:
        with contextlib.ExitStack() as stack:
            command = b.scrm.serve_command(b.config.api_processes)
            server = stack.enter_context(serving("scrm-events", command, b.tmp, env=env))
            enable_plugin(server, b.key)
            baseline = stack.enter_context(serving("baseline-event", baseline_command, b.tmp))
            post = PostEvent(b, server, baseline, low, high)
            alone = [post.scrm(n, "no worker") for n in range(b.config.rounds)]  # delivery waits in the outbox
            alone_batches = batch_load_alone(b, server, alone_workload, alone_count)
            worker = stack.enter_context(running("scrm-worker", worker_command, b.tmp, "scrm worker:", env=env))
            waiting = "the events posted while no worker ran"
            asyncio.run(wait_outbox_empty(b, worker, waiting, timeout_s=max(300, alone_count / 200)))
            base_runs, scrm_runs = [], []
            for n in range(b.config.rounds):
                base_runs.append(post.baseline(n))
                scrm_runs.append(post.scrm(n, "worker running"))
                asyncio.run(wait_outbox_empty(b, worker, "the events of the POST run"))  # the next run starts idle
            baseline.stop()
            add_post_event_figures(b.report, post, best(base_runs), best(scrm_runs), best(alone))
            copy_limit = bench_event_copy(b, workload)
            b.report.add(
                Figure(
                    f"scrm: POST {alone_count:,} events, batches @{b.config.event_clients}, no worker",
                    alone_batches,
                    "rows/s",
                    limit=copy_limit,
                )
            )
            bench_event_load(b, server, worker, workload, copy_limit)
    finally:
        redis_cli(redis_url, "FLUSHDB")


async def member_range(b: Bench) -> tuple[int, int]:
    """The lowest and highest id of the imported members, which must have every id in between."""
    sql = "SELECT min(id), max(id), count(*) FROM scrm_member WHERE workspace = $1"
    low, high, count = await fetchrow(b.database, sql, b.workspace_id)
    if not count or high - low + 1 != count:
        raise BenchError(f"member ids are not contiguous ({count} members from {low} to {high})")
    return low, high


def enable_plugin(server: Server, key: str) -> None:
    response = httpx.post(
        f"{server.base_url}/api/v1/plugins",
        json={"name": PLUGIN, "enabled": True},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    if response.status_code != 200:
        raise BenchError(f"enabling {PLUGIN} answered {response.status_code}: {response.text[:500]}")


@dataclass(frozen=True)
class PostEvent:
    """wrk runs posting one event per request (random member, fresh idempotency key) to scrm or to
    the hand-written route, at as many connections as scrm's API processes have pool connections
    (both get the same load; the hand-written route is always one process)."""

    b: Bench
    server: Server
    baseline_server: Server
    low: int
    high: int

    @property
    def connections(self) -> int:
        return self.b.config.connections[0] * self.b.config.api_processes

    def baseline(self, n: int) -> WrkResult:
        progress(f"baseline: POST one event @{self.connections}, round {n + 1}/{self.b.config.rounds}")
        return self.b.wrk(self.baseline_server.base_url, self.connections, post_event=("/events", self.low, self.high))

    def scrm(self, n: int, worker: str) -> WrkResult:
        progress(f"scrm: POST one event @{self.connections}, {worker}, round {n + 1}/{self.b.config.rounds}")
        return self.b.wrk(
            self.server.base_url,
            self.connections,
            post_event=("/api/v1/events", self.low, self.high),
            headers={"Authorization": f"Bearer {self.b.key}"},
        )


def add_post_event_figures(
    report: Report, post: PostEvent, base: WrkResult, mine: WrkResult, no_worker: WrkResult
) -> None:
    """The single-event figures; scrm's name its API processes when there are more than one."""
    at = f"@{post.connections}"
    processes = post.b.config.api_processes
    scrm_at = at if processes == 1 else f"{at}, {processes} API processes"
    what = ("asyncpg POST event", "POST /api/v1/events (one)", "POST event")
    add_request_figures(report, at, what, base, mine, EVENT_POST_TARGET, scrm_at)
    report.add(
        Figure(
            f"scrm: POST event {scrm_at}, no worker running",
            no_worker.requests_per_s,
            "req/s",
            limit=base.requests_per_s,
            error=wrk_errors(no_worker),
        )
    )


def batch_load_alone(b: Bench, server: Server, workload: EventWorkload, count: int) -> float:
    """Events/s of a batch load with no worker running (the API alone; delivery waits in the outbox)."""
    batch, clients = b.config.event_batch, b.config.event_clients
    bodies = [workload.body(first, min(batch, count - first)) for first in range(0, count, batch)]
    asyncio.run(pg_execute(b.database, "CHECKPOINT"))
    progress(f"scrm: POST {count:,} events in batches of {batch:,} from {clients} clients, no worker")
    began, loaded = asyncio.run(post_batches(b, server, bodies, batch, count))
    return count / (loaded - began)


def bench_event_copy(b: Bench, workload: EventWorkload) -> float:
    """Raw COPY of the batch load's events into a copy of ``scrm_event`` (its indexes and foreign keys)."""
    count = b.config.events
    progress(f"baseline: COPY {count:,} events")
    asyncio.run(pg_execute(b.database, "CHECKPOINT"))
    ws = b.workspace_id
    rate: float = asyncio.run(
        baselines.event_copy_rate(b.dsn, ws, lambda first, n: workload.copy_records(ws, first, n), count)
    )
    b.report.add(Figure(f"baseline: COPY {count:,} events", rate, "rows/s"))
    return rate


@dataclass(frozen=True)
class EventLoad:
    """What the batch load measured (monotonic seconds)."""

    began: float
    loaded: float  # the last POST answered
    delivered: float  # the outbox was empty
    pending_at_load_end: int  # events not yet delivered when the last POST was answered


def bench_event_load(b: Bench, server: Server, worker: Server, workload: EventWorkload, copy_limit: float) -> None:
    """``config.events`` events through ``POST /api/v1/events`` in batches, from several clients at
    once, while the worker delivers; then the time until the outbox is empty, and a check that the
    plugin counted every event once."""
    count, batch, clients = b.config.events, b.config.event_batch, b.config.event_clients
    progress(f"events: building {count:,} events in batches of {batch:,}")
    bodies = [workload.body(first, min(batch, count - first)) for first in range(0, count, batch)]
    asyncio.run(pg_execute(b.database, "CHECKPOINT"))
    before, redelivered_before = asyncio.run(tally(b))
    progress(f"scrm: POST {count:,} events in batches of {batch:,} from {clients} clients")
    load = asyncio.run(load_events(b, server, worker, bodies, batch, count))
    after, redelivered_after = asyncio.run(tally(b))
    delivered = after - before
    if delivered != count:
        raise BenchError(f"{PLUGIN} counted {delivered} of the {count} events once the outbox was empty")
    status = b.scrm.output("outbox", "status")
    progress("  scrm outbox status: " + "; ".join(status.splitlines()))
    if not status.startswith("pending: 0 event(s)"):
        raise BenchError(f"scrm outbox status after the delivery: {status}")

    rate = count / (load.loaded - load.began)
    report = b.report
    report.add(
        Figure(
            f"scrm: POST {count:,} events, batches of {batch:,} @{clients}",
            rate,
            "rows/s",
            limit=copy_limit,
            target=EVENT_BATCH_TARGET,
        )
    )
    report.add(Figure("scrm: outbox pending at end of load", load.pending_at_load_end, "events"))
    report.add(Figure(f"scrm: outbox lag after {count:,} events", load.delivered - load.loaded, "s"))
    # at least once: deliveries of an event already delivered (a lease ran out, a job ran twice)
    report.add(Figure("scrm: events delivered again", redelivered_after - redelivered_before, "events"))
    # delivery over the whole load: the worker started with the first batch; the limit is ingestion
    report.add(
        Figure(
            f"scrm: outbox delivery, {count:,} events",
            count / (load.delivered - load.began),
            "events/s",
            limit=rate,
        )
    )


async def load_events(
    b: Bench, server: Server, worker: Server, bodies: list[bytes], batch: int, count: int
) -> EventLoad:
    """POST the bodies (see :func:`post_batches`), then wait for the outbox to drain."""
    began, loaded = await post_batches(b, server, bodies, batch, count)
    conn = await asyncpg.connect(b.dsn)
    try:
        pending = await conn.fetchval(PENDING_EVENTS_SQL)
    finally:
        await conn.close()
    progress(f"  loaded in {loaded - began:.1f}s; {pending:,} events waiting for delivery")
    delivered = await wait_outbox_empty(b, worker, f"delivery of {count:,} events", timeout_s=max(300, count / 200))
    return EventLoad(began, loaded, delivered, pending)


async def post_batches(b: Bench, server: Server, bodies: list[bytes], batch: int, count: int) -> tuple[float, float]:
    """POST the bodies from ``config.event_clients`` clients at once; every event must be created.
    Returns the monotonic times of the first request and of the last answer."""
    queue = iter(enumerate(bodies))
    headers = {"Authorization": f"Bearer {b.key}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=b.config.event_clients)
    timeout = httpx.Timeout(300.0, connect=10.0)

    async def client(http: httpx.AsyncClient) -> None:
        for n, body in queue:  # shared by every client: each takes the next body
            response = await http.post("/api/v1/events", content=body, headers=headers)
            if response.status_code != 200:
                raise BenchError(f"batch {n} answered {response.status_code}: {response.text[:500]}")
            expected = min(batch, count - n * batch)
            result = response.json()
            if result.get("created") != expected:
                raise BenchError(f"batch {n} created {result.get('created')} of {expected} events")

    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=timeout) as http:
        began = time.monotonic()
        await asyncio.gather(*(client(http) for _ in range(b.config.event_clients)))
        loaded = time.monotonic()
    return began, loaded


PENDING_EVENTS_SQL = "SELECT COALESCE(SUM(json_array_length(event_ids::json)), 0) FROM scrm_outbox"


async def wait_outbox_empty(b: Bench, worker: Server | None, what: str, timeout_s: float = 300.0) -> float:
    """Poll ``scrm_outbox`` until no row is left; returns the monotonic time it was first seen empty.

    Raises when a row keeps failing (``last_error``), the worker exits, or ``timeout_s`` passes.
    """
    conn = await asyncpg.connect(b.dsn)
    try:
        began = time.monotonic()
        shown = began
        every_s = 10 if timeout_s <= 300 else 60
        while True:
            rows, failing = await conn.fetchrow("SELECT count(*), count(last_error) FROM scrm_outbox")
            at = time.monotonic()
            if rows == 0:
                return at
            if failing:
                error = await conn.fetchval("SELECT last_error FROM scrm_outbox WHERE last_error IS NOT NULL LIMIT 1")
                raise BenchError(f"{what}: {failing} outbox row(s) failing: {error}")
            if worker is not None and worker.process.poll() is not None:
                raise BenchError(f"{what}: the worker exited:\n{worker.log_tail()}")
            if at - began > timeout_s:
                raise BenchError(f"{what}: {rows} outbox row(s) still pending after {timeout_s:.0f}s")
            if at - shown >= every_s:
                shown = at
                pending = await conn.fetchval(PENDING_EVENTS_SQL)
                progress(f"  {what}: {pending:,} events in {rows:,} outbox row(s) pending after {at - began:.0f}s")
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def tally(b: Bench) -> tuple[int, int]:
    """Events the test plugin has counted in the workspace (each once, however often delivered), and
    how many deliveries it saw of events it had already counted."""
    conn = await asyncpg.connect(b.dsn)
    try:
        counted = await conn.fetchval("SELECT events FROM testplugin_tally WHERE workspace = $1", b.workspace_id)
        again = await conn.fetchval(
            "SELECT COALESCE(SUM(redeliveries), 0) FROM testplugin_seen WHERE workspace = $1", b.workspace_id
        )
        return int(counted or 0), int(again)
    finally:
        await conn.close()


def run(config: Config, database: str, tmp: Path, report: Report) -> None:
    """Every benchmark, in order: limits first, then scrm (see bench/README.md)."""
    b = setup(config, database, tmp, report)
    seed, large = config.seed_rows, config.large_rows
    bench_empty_route(b)
    copy = bench_copy(b)

    progress("writing the import files")
    seed_file, large_file = tmp / "seed.ndjson", tmp / "large.ndjson"
    write_ndjson(seed_file, 1, seed)
    write_ndjson(large_file, seed + 1, large)

    with serving("scrm", b.scrm.serve_command(), tmp, env=b.scrm.env) as server:
        idle_kib = memory_kib(server.pid)[0]
        seed_rss = bench_import(b, server, seed_file, seed, copy.seed)  # also the GET benchmark's members
        bench_get_member(b, server)
        large_rss = bench_import(b, server, large_file, large, copy.large)
        # the imports' member.created events: delivered in-process (no plugin enabled yet)
        asyncio.run(wait_outbox_empty(b, None, "the imports' member.created events"))

    report.add(Figure("scrm: RSS before imports", idle_kib / MIB, "MiB"))
    report.add(Figure(f"scrm: peak RSS, import {seed:,}", seed_rss.peak_kib / MIB, "MiB"))
    report.add(
        Figure(
            f"scrm: peak RSS, import {large:,}",
            large_rss.peak_kib / MIB,
            "MiB",
            limit=seed_rss.peak_kib / MIB,
            target=MEMORY_GROWTH_TARGET,
            higher_is_better=False,
        )
    )
    # the kernel updates VmHWM lazily; a sample may have seen a little more
    peak_since_start = max(large_rss.hwm_kib, large_rss.peak_kib, seed_rss.peak_kib)
    report.add(Figure("scrm: peak RSS since start (VmHWM)", peak_since_start / MIB, "MiB"))
    bench_events(b)


async def fetchval(database: str, sql: str, *args: Any) -> Any:
    return (await fetchrow(database, sql, *args))[0]


async def fetchrow(database: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(pg_dsn(database))
    try:
        return await conn.fetchrow(sql, *args)
    finally:
        await conn.close()


# --- output -----------------------------------------------------------------------------------


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int) or abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}"


def table(figures: list[Figure]) -> str:
    """The figures as an aligned text table, then any error in full."""
    header = ["name", "value", "unit", "limit", "ratio", "target", "ok?"]
    rows = [
        [
            f.name,
            _number(f.value),
            f.unit,
            _number(f.limit),
            f"{f.ratio:.3f}" if f.ratio is not None else "",
            f.target_text,
            {True: "ok", False: "FAIL", None: ""}[f.ok],
        ]
        for f in figures
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {1, 3, 4}

    def line(cells: list[str]) -> str:
        return " | ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    out = [line(header), "-+-".join("-" * w for w in widths), *(line(r) for r in rows)]
    out += [f"error: {f.name}: {f.error}" for f in figures if f.error]
    return "\n".join(out)


def machine() -> dict[str, Any]:
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "wrk": (wrk.stdout or wrk.stderr).split("\n", 1)[0].strip(),
    }


def write_json(path: Path, config: Config, mode: str, report: Report, elapsed_s: float, failure: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": mode,
        "elapsed_s": round(elapsed_s, 1),
        "machine": machine() | report.meta,
        "config": asdict(config),
        "figures": [f.as_dict() for f in report.figures],
        "failure": failure or None,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


# --- entry point ------------------------------------------------------------------------------


def parse_args() -> tuple[Config, str]:
    parser = argparse.ArgumentParser(description="Benchmark scrm against this machine's own limits.")
    parser.add_argument("--quick", action="store_true", help="small sizes and short runs (about 2 minutes)")
    parser.add_argument("--seed-rows", type=int, help="members imported for the GET benchmark")
    parser.add_argument("--large-rows", type=int, help="members of the large import")
    parser.add_argument("--duration", type=float, help="seconds of each measured wrk run")
    parser.add_argument("--events", type=int, help="events of the batch load (then delivered by the worker)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        choices=range(1, 65),
        metavar="N",
        help="API processes of the event benchmarks' scrm server (scrm serve --workers N; default 1)",
    )
    parser.add_argument(
        "--redis-db", type=int, default=14, help="database of Redis on 127.0.0.1:6379 to flush and use (default 14)"
    )
    args = parser.parse_args()
    config = QUICK if args.quick else FULL
    overrides = {
        "seed_rows": args.seed_rows,
        "large_rows": args.large_rows,
        "duration_s": args.duration,
        "events": args.events,
        "redis_url": f"redis://127.0.0.1:6379/{args.redis_db}",
        "api_processes": args.workers,
    }
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    return config, "quick" if args.quick else "full"


def main() -> int:
    config, mode = parse_args()
    if check_wrk() is None:
        print(WRK_INSTALL_HINT, file=sys.stderr)
        return 2
    report = Report()
    failure = ""
    began = time.monotonic()
    try:
        database = asyncio.run(create_database())
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"cannot create a database on {pg_dsn('postgres')}: {exc}\n{PG_HINT}", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="scrm-bench-") as tmp:
            run(config, database, Path(tmp), report)
    except (BenchError, OSError, asyncpg.PostgresError, httpx.HTTPError, subprocess.TimeoutExpired) as exc:
        failure = f"{type(exc).__name__}: {exc}"
    finally:
        asyncio.run(drop_database(database))
    elapsed = time.monotonic() - began
    print(table(report.figures))
    print(f"\n{mode} run, {elapsed:.0f}s; results in {RESULTS.relative_to(BENCH_DIR.parent)}")
    write_json(RESULTS, config, mode, report, elapsed, failure)
    if failure:
        print(f"\nbenchmark failed: {failure}", file=sys.stderr)
        return 2
    if any(f.ok is False and f.error for f in report.figures):
        return 2
    return 1 if any(f.ok is False for f in report.figures) else 0


if __name__ == "__main__":
    sys.exit(main())
