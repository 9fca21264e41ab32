"""Does a single request cost the same when the event log is large? PostgreSQL, measured at two sizes.

    uv run python bench/events_scale.py                          # 1,000,000 then 20,000,000 events
    uv run python bench/events_scale.py --sizes 100000,1000000   # quicker

It makes a database ``bench_<random>`` (dropped at the end), migrates it, imports ``--members``
members by COPY, then COPYs events into one workspace until the log holds the first size, measures,
COPYs more until it holds the next size, measures again. The events are spread over ``--months``
months ending yesterday (random times, so each load lands in every month), over all members, one
of four types, with two small properties and an idempotency key each.

At each size, in rounds that alternate so all four see the same machine load, one request at a
time, in-process (httpx's ASGI transport: no network, no HTTP server):

* ``POST /api/v1/events``: one event (a JSON object), a random member, a fresh idempotency key;
* ``GET /api/v1/members/{id}/events``: a random member's timeline, first page (50, newest first);
* the same two as hand-written routes (``bench/baselines.py``'s ``event`` app: one asyncpg insert
  with the same ``ON CONFLICT``, one asyncpg select by the same index), measured in the same run.

It prints the median latency of each, scrm's ratio to its hand-written route, and the ratio of the
large size to the small one for each figure — the claim is that this ratio stays within 1.2.
Loading is not what is measured: before each COPY the listing indexes are dropped and built again
afterwards (much faster than maintaining them row by row), then the table is vacuumed and analysed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
from baselines import event_app
from harness import create_database, drop_database, pg_dsn
from scrm import create_app
from scrm.kernel import Kernel
from scrm.schemas import WorkspaceCreate
from scrm.settings import Settings
from workload import COPY_COLUMNS, EVENT_COPY_COLUMNS, EVENT_TYPES, copy_records

CHUNK = 200_000
_encode = msgspec.json.Encoder().encode


def event_records(
    workspace: int, members: tuple[int, int], first: int, count: int, span: tuple[datetime, float]
) -> list[tuple[Any, ...]]:
    """Events ``first .. first+count-1`` as COPY records: random member and time in the span."""
    rng = random.Random(first)
    low, high = members
    start, seconds = span
    at = datetime.now(UTC)
    properties = [_encode({"page": f"/p/{n}", "n": n % 10}).decode() for n in range(100)]
    return [
        (
            workspace,
            rng.randint(low, high),
            EVENT_TYPES[i % len(EVENT_TYPES)],
            properties[i % 100],
            start + timedelta(seconds=rng.random() * seconds),
            at,
            "api",
            f"s-{i:09d}",
        )
        for i in range(first, first + count)
    ]


async def copy_events(dsn: str, workspace: int, members: tuple[int, int], first: int, count: int, months: int) -> float:
    """COPY events into ``scrm_event`` (and their keys into ``scrm_event_key`` where the log keeps
    them there); returns the seconds it took, index rebuilds and VACUUM ANALYZE included."""
    began = time.perf_counter()
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    span = (end - timedelta(days=30.4 * months), timedelta(days=30.4 * months).total_seconds())
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET maintenance_work_mem = '1GB'")
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'scrm_event' AND indexname NOT LIKE '%pkey'"
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        since = await conn.fetchval("SELECT coalesce(max(id), 0) FROM scrm_event")
        for start in range(first, first + count, CHUNK):
            records = event_records(workspace, members, start, min(CHUNK, first + count - start), span)
            await conn.copy_records_to_table("scrm_event", records=records, columns=EVENT_COPY_COLUMNS)
        for index in indexes:  # a partitioned index's definition says ON ONLY: built on no partition
            await conn.execute(index["indexdef"].replace(" ON ONLY ", " ON "))
        if await conn.fetchval("SELECT to_regclass('scrm_event_key') IS NOT NULL"):
            await conn.execute(
                "INSERT INTO scrm_event_key (workspace, idempotency_key, event_id) "
                "SELECT workspace, idempotency_key, id FROM scrm_event WHERE id > $1",
                since,
            )
        await conn.execute("VACUUM ANALYZE")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    return time.perf_counter() - began


async def measure(
    client: httpx.AsyncClient, baseline: httpx.AsyncClient, members: tuple[int, int], rounds: int, per_round: int
) -> dict[str, dict[str, float]]:
    """Median milliseconds of each of the four requests over ``rounds`` alternating rounds."""
    rng = random.Random()
    times: dict[str, list[float]] = {}
    tag = secrets.token_hex(4)
    counter = 0

    def event() -> dict[str, Any]:
        nonlocal counter
        counter += 1
        return {
            "member_id": rng.randint(*members),
            "type": "page.view",
            "properties": {"page": "/p/1", "n": 1},
            "idempotency_key": f"b-{tag}-{counter}",
        }

    routes = {
        "POST event": [
            (client, lambda: ("POST", "/api/v1/events", event())),
            (baseline, lambda: ("POST", "/events", event())),
        ],
        "GET timeline": [
            (client, lambda: ("GET", f"/api/v1/members/{rng.randint(*members)}/events", None)),
            (baseline, lambda: ("GET", f"/members/{rng.randint(*members)}/events", None)),
        ],
    }
    for round_ in range(rounds):
        for figure, pair in routes.items():
            for target, request in pair if round_ % 2 == 0 else pair[::-1]:
                name = f"{figure} {'scrm' if target is client else 'hand-written'}"
                for _ in range(per_round):
                    method, path, body = request()
                    start = time.perf_counter()
                    response = await target.request(method, path, json=body)
                    times.setdefault(name, []).append(time.perf_counter() - start)
                    if response.status_code not in (200, 201):
                        raise RuntimeError(f"{name}: {response.status_code} {response.text}")
    return {name: {"ms": statistics.median(values) * 1000} for name, values in times.items()}


async def run(sizes: list[int], members_n: int, months: int, rounds: int, per_round: int) -> None:
    database = await create_database()
    dsn = pg_dsn(database)
    try:
        with tempfile.TemporaryDirectory() as data:
            settings = Settings.from_env(
                {
                    "SCRM_DATABASE_URL": dsn,
                    "SCRM_DATA_DIR": str(Path(data)),
                    "SCRM_SECRET_KEY": "bench-" + "x" * 40,
                    "SCRM_LOG_LEVEL": "WARNING",
                }
            )
            kernel = Kernel(settings)
            await kernel.migrate()
            await kernel.start()
            try:
                await _run(kernel, dsn, sizes, members_n, months, rounds, per_round)
            finally:
                await kernel.stop()
    finally:
        await drop_database(database)


async def _run(
    kernel: Kernel, dsn: str, sizes: list[int], members_n: int, months: int, rounds: int, per_round: int
) -> None:
    ws = await kernel.workspaces.create(WorkspaceCreate(slug="bench", name="Bench"))
    key = (await kernel.keys.create(await kernel.workspaces.ref("bench"), ["*"], "bench")).key
    conn = await asyncpg.connect(dsn)
    try:
        for start in range(0, members_n, CHUNK):
            records = copy_records(ws.id, start, min(CHUNK, members_n - start))
            await conn.copy_records_to_table("scrm_member", records=records, columns=COPY_COLUMNS)
        low, high = await conn.fetchrow("SELECT min(id), max(id) FROM scrm_member WHERE workspace = $1", ws.id)
    finally:
        await conn.close()
    members = (int(low), int(high))
    app = create_app(kernel=kernel, configure_logs=False)
    baseline_app = event_app(dsn, ws.id, 10)
    results: dict[int, dict[str, dict[str, float]]] = {}
    loaded = 0
    async with (
        baseline_app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", headers={"Authorization": f"Bearer {key}"}
        ) as client,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=baseline_app), base_url="http://baseline") as baseline,
    ):
        for size in sizes:
            seconds = await copy_events(dsn, ws.id, members, loaded, size - loaded, months)
            print(f"loaded {size - loaded:,} events ({size:,} in all) in {seconds:.0f} s", flush=True)
            loaded = size
            await measure(client, baseline, members, 1, 50)  # warm up
            results[size] = await measure(client, baseline, members, rounds, per_round)
            await kernel.jobs.idle()
            await kernel.outbox.drain()
            _print_size(size, results[size])
    small, large = sizes[0], sizes[-1]
    print(f"\nratio {large:,} / {small:,} events (median latency; within 1.2 is flat):")
    for name in results[small]:
        print(f"  {name:28} {results[large][name]['ms'] / results[small][name]['ms']:.2f}")


def _print_size(size: int, figures: dict[str, dict[str, float]]) -> None:
    print(f"{size:,} events:")
    for figure in ("POST event", "GET timeline"):
        ours, theirs = figures[f"{figure} scrm"]["ms"], figures[f"{figure} hand-written"]["ms"]
        print(f"  {figure:14} scrm {ours:.2f} ms  hand-written {theirs:.2f} ms  ratio {theirs / ours:.2f}", flush=True)


def _sizes(text: str) -> list[int]:
    sizes = [int(part.replace("_", "")) for part in text.split(",")]
    if len(sizes) < 2 or sizes != sorted(set(sizes)) or sizes[0] <= 0:
        raise argparse.ArgumentTypeError("two or more growing sizes, e.g. 1000000,20000000")
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_sizes, default=[1_000_000, 20_000_000], help="events at each measurement")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=24, help="months the events are spread over")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--per-round", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(run(args.sizes, args.members, args.months, args.rounds, args.per_round))


if __name__ == "__main__":
    main()
