"""Where the single-event POST and the worker's delivery spend their time: py-spy samples of a
``scrm serve`` process under wrk (``POST /api/v1/events``, one event per request, with
``testplugin`` enabled so every event is delivered to a plugin), then of a ``scrm worker`` delivering
what was posted, on a throw-away PostgreSQL database.

    uv pip install py-spy                       # not a dependency of scrm: a tool
    uv run python bench/profile_events.py [--seconds 10] [--out bench/results/profile]

Prints, for each process, the functions holding the most samples (self and total, by percent) and
writes py-spy's collapsed stacks (``*.txt``, for flamegraph tools) next to the summary. It also
counts the statements the delivery ran per event (``pg_stat_statements`` is not needed: the
database's transaction and tuple counters are read before and after).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from harness import BenchError, create_database, drop_database, redis_cli, running, serving
from run import QUICK, Report, enable_plugin, import_members, member_range, post_batches, setup, wait_outbox_empty
from workload import EventWorkload, write_ndjson

MEMBERS = 5_000


def summarise(collapsed: Path, top: int = 25) -> str:
    """The functions with the most samples: own (the leaf) and total (anywhere on the stack)."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        samples += n
        frames = [f for f in stack.split(";") if f]
        if not frames:
            continue
        own[_short(frames[-1])] += n
        for frame in {_short(f) for f in frames}:
            total[frame] += n
    lines = [f"{samples} samples", "", "own %  function"]
    lines += [f"{100 * n / samples:5.1f}  {name}" for name, n in own.most_common(top)]
    lines += ["", "total %  function"]
    lines += [f"{100 * n / samples:5.1f}  {name}" for name, n in total.most_common(top * 2)]
    return "\n".join(lines)


def _short(frame: str) -> str:
    """``fn (path/to/module.py:12)`` as ``fn (module.py)``: lines of one function added up."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    return f"{name} ({'/'.join(parts[-2:])})"


def record(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    argv = [spy, "record", "--pid", str(pid), "--duration", str(round(seconds)), "--rate", "200"]
    argv += ["--format", "raw", "--output", str(out), "--nonblocking"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def counters(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT xact_commit, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted "
            "FROM pg_stat_database WHERE datname = current_database()"
        )
        return dict(row)
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--redis-db", type=int, default=12)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "profile")
    parser.add_argument(
        "--batches", type=int, default=0, help="also profile this many 1,000-event batches posted from 4 clients"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    database = asyncio.run(create_database())
    try:
        with tempfile.TemporaryDirectory(prefix="scrm-profile-") as tmp_name:
            tmp = Path(tmp_name)
            b = setup(QUICK, database, tmp, Report())
            redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
            redis_cli(redis_url, "FLUSHDB")
            env = {**b.scrm.env, "SCRM_REDIS_URL": redis_url}
            ndjson = tmp / "members.ndjson"
            write_ndjson(ndjson, 1, MEMBERS)
            with serving("scrm-profile", b.scrm.serve_command(), tmp, env=env) as server:
                import_members(server, b.key, ndjson, MEMBERS)
                enable_plugin(server, b.key)
                low, high = asyncio.run(member_range(b))
                spy = record(server.pid, args.seconds, args.out / "serve.txt")
                time.sleep(1)
                wrk = b.wrk(
                    server.base_url,
                    args.connections,
                    post_event=("/api/v1/events", low, high),
                    headers={"Authorization": f"Bearer {b.key}"},
                )
                spy.wait()
                print(f"POST /api/v1/events: {wrk.requests_per_s:.0f} req/s, p50 {wrk.p50_ms} ms, p99 {wrk.p99_ms} ms")
                if args.batches:
                    workload = EventWorkload(low, high, datetime.now(UTC) - timedelta(days=1))
                    bodies = [workload.body(n * 1000, 1000) for n in range(args.batches)]
                    spy = record(server.pid, 600, args.out / "batches.txt")
                    time.sleep(1)
                    began, loaded = asyncio.run(post_batches(b, server, bodies, 1000, 1000 * args.batches))
                    spy.send_signal(signal.SIGINT)  # py-spy writes what it has on an interrupt
                    spy.wait()
                    print(f"POST 1,000-event batches @4: {1000 * args.batches / (loaded - began):.0f} events/s")
                pending = asyncio.run(
                    b_fetch(b.dsn, "SELECT COALESCE(SUM(json_array_length(event_ids::json)), 0) FROM scrm_outbox")
                )
                rows = asyncio.run(b_fetch(b.dsn, "SELECT count(*) FROM scrm_outbox"))
                before = asyncio.run(counters(b.dsn))
                command = ["uv", "run", "--no-sync", "scrm", "worker"]
                with running("scrm-worker", command, tmp, "scrm worker:", env=env) as worker:
                    spy = record(worker.pid, args.seconds * 3, args.out / "worker.txt")
                    began = time.monotonic()
                    drained = asyncio.run(wait_outbox_empty(b, worker, "the posted events", timeout_s=600))
                    spy.wait()
                after = asyncio.run(counters(b.dsn))
                for log in tmp.glob("*.log"):
                    shutil.copy(log, args.out / log.name)
                rate = pending / (drained - began)
                print(f"delivery: {pending} events in {rows} outbox rows, {rate:.0f} events/s")
                print("database counters per event delivered:")
                for name, value in after.items():
                    print(f"  {name}: {(value - before[name]) / max(1, pending):.2f}")
    except (BenchError, OSError, asyncpg.PostgresError) as exc:
        print(f"profile failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        asyncio.run(drop_database(database))
    for name in ("serve", "batches", "worker"):
        path = args.out / f"{name}.txt"
        if path.exists():
            summary = summarise(path)
            (args.out / f"{name}-summary.txt").write_text(summary)
            print(f"\n=== {name} ===\n{summary}")
    return 0


async def b_fetch(dsn: str, sql: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


if __name__ == "__main__":
    sys.exit(main())
