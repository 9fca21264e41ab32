"""Benchmark the lottery plugin on PostgreSQL against this machine's own limits.

    uv run python bench/lottery.py [--quick]

* **Entries/s**: ``POST /api/v1/lottery/campaigns/{id}/entries`` (one member per request, each once:
  wrk with ``lottery_entries.lua``) on ``scrm serve``, against the hand-written single-insert route
  ``bench/baselines.py event`` (one asyncpg ``INSERT`` per request, no auth), alternating runs and
  keeping the best of each, at as many connections as the pool has and oversubscribed; p50/p99.
  Target: ≥ 0.60 of the baseline's rate.
* **Draw**: ``POST …/draw`` over 1,000,000 entries (COPYed into ``lottery_entry`` for setup), one
  prize tier of 1 and one of 9, timed through HTTP (it includes telling the 10 winners through the
  consent door); once with one ticket each and once with 1–10 tickets. Target ≤ 1 s.
* **Verification**: ``fairness.verify`` over the exported file (the same work as ``scrm lottery
  verify``), and the export's download. Target ≤ 1 s.

Prints one table (the same layout as ``bench/run.py``) and writes ``bench/results/lottery.json``.
Exit status: 0 all targets met, 1 a target missed, 2 a benchmark failed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
from harness import BenchError, WrkResult, check_wrk, create_database, drop_database, parse_wrk, pg_execute, serving
from run import (
    FULL,
    QUICK,
    WRK_INSTALL_HINT,
    Bench,
    Figure,
    Report,
    add_request_figures,
    best,
    progress,
    setup,
    table,
    write_json,
)
from scrm_lottery import fairness
from workload import COPY_COLUMNS, copy_records

BENCH_DIR = Path(__file__).resolve().parent
LUA = BENCH_DIR / "lottery_entries.lua"
RESULTS = BENCH_DIR / "results" / "lottery.json"
ENTRY_TARGET = 0.60
DRAW_TARGET_S = 1.0
QUANTITIES = [1, 9]


@dataclass(frozen=True)
class Sizes:
    members: int  # members COPYed into the workspace (the draw's entries are all of them)
    runs: int  # rounds of the entry benchmark (each concurrency)


class Api:
    """Calls to the scrm server with the benchmark's key."""

    def __init__(self, base_url: str, key: str) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=600)

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = self.http.request(method, path, json=body)
        if response.status_code != expect:
            raise BenchError(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
        return response.json()

    def campaign(self, name: str, entry_mode: str = "single") -> int:
        at = datetime.now(UTC)
        body = {
            "name": name,
            "opens_at": (at - timedelta(minutes=1)).isoformat(),
            "closes_at": (at + timedelta(hours=6)).isoformat(),
            "entry_mode": entry_mode,
            "prizes": [{"name": f"Prize {i}", "quantity": q} for i, q in enumerate(QUANTITIES)],
        }
        campaign_id: int = self.call("POST", "/api/v1/lottery/campaigns", body, 201)["id"]
        self.call("POST", f"/api/v1/lottery/campaigns/{campaign_id}/open")
        return campaign_id


async def copy_members(b: Bench, count: int) -> tuple[int, int]:
    conn = await asyncpg.connect(b.dsn)
    try:
        for start in range(1, count + 1, 100_000):
            records = copy_records(b.workspace_id, start, min(100_000, count + 1 - start))
            await conn.copy_records_to_table("scrm_member", records=records, columns=COPY_COLUMNS)
        low, high = await conn.fetchrow("SELECT min(id), max(id) FROM scrm_member WHERE workspace = $1", b.workspace_id)
    finally:
        await conn.close()
    return int(low), int(high)


async def copy_entries(b: Bench, campaign_id: int, member_ids: range, weighted: bool) -> None:
    at = datetime.now(UTC)
    draw = random.Random(campaign_id)
    records = [
        (b.workspace_id, campaign_id, m, True, draw.randint(1, 10) if weighted else 1, 0, at) for m in member_ids
    ]
    conn = await asyncpg.connect(b.dsn)
    try:
        await conn.copy_records_to_table(
            "lottery_entry",
            records=records,
            columns=["workspace", "campaign", "member_id", "entered", "tickets", "points_spent", "created_at"],
        )
    finally:
        await conn.close()


def wrk_entries(url: str, path: str, first: int, seconds: float, connections: int, key: str | None) -> WrkResult:
    """One wrk run entering members ``first``, ``first + 1``, …; one thread."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(LUA)]
    if key:
        argv += ["-H", f"Authorization: Bearer {key}"]
    argv += [url, "--", path, str(first), "1"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return parse_wrk(done.stdout)


def bench_entries(b: Bench, server_url: str, api: Api, low: int, high: int, runs: int) -> None:
    """Entries through the API against the hand-written single insert, alternating, best of ``runs``."""
    campaign_id = api.campaign("entries")
    path = f"/api/v1/lottery/campaigns/{campaign_id}/entries"
    command = b.baseline_command("event", "--dsn", b.dsn, "--workspace", str(b.workspace_id))
    command += ["--pool-size", str(b.config.pool_size)]
    first = low
    with serving("baseline-event", command, b.tmp) as baseline:
        warm = wrk_entries(server_url, path, first, b.config.warmup_s, b.config.connections[0], b.key)
        first += warm.requests + 1000
        for connections in b.config.connections:
            base_runs, scrm_runs = [], []
            for n in range(runs):
                progress(f"entries @{connections} connections, round {n + 1}/{runs}")
                base_runs.append(b.wrk(f"{baseline.base_url}/events", connections, post_event=("/events", low, high)))
                mine = wrk_entries(server_url, path, first, b.config.duration_s, connections, b.key)
                first += mine.requests + 1000
                if first > high:
                    raise BenchError("ran out of members to enter; give --members more")
                scrm_runs.append(mine)
            what = ("asyncpg POST event (one insert)", "POST lottery entry", "entry")
            add_request_figures(b.report, f"@{connections}", what, best(base_runs), best(scrm_runs), ENTRY_TARGET)
    counted = api.call("GET", f"/api/v1/lottery/campaigns/{campaign_id}/entries/count")["entries"]
    progress(f"  {counted:,} entries stored")


def bench_draw(b: Bench, api: Api, low: int, high: int, weighted: bool) -> None:
    n = high - low + 1
    label = f"{n:,} entries{', 1-10 tickets' if weighted else ''}"
    campaign_id = api.campaign(f"draw {label}", "tickets" if weighted else "single")
    progress(f"draw: COPY {label}")
    asyncio.run(copy_entries(b, campaign_id, range(low, high + 1), weighted))
    asyncio.run(pg_execute(b.database, "VACUUM ANALYZE lottery_entry", "CHECKPOINT"))
    api.call("POST", f"/api/v1/lottery/campaigns/{campaign_id}/close")
    progress(f"draw: {label}")
    began = time.perf_counter()
    result = api.call("POST", f"/api/v1/lottery/campaigns/{campaign_id}/draw")
    drawn_s = time.perf_counter() - began
    if result["entry_count"] != n or len(result["winners"]) != sum(QUANTITIES):
        raise BenchError(f"the draw saw {result['entry_count']} entries and {len(result['winners'])} winners")
    b.report.add(Figure(f"scrm: draw {label}", drawn_s, "s", limit=DRAW_TARGET_S, target=1.0, higher_is_better=False))

    began = time.perf_counter()
    raw = api.http.get(f"/api/v1/lottery/campaigns/{campaign_id}/entries/export").content
    b.report.add(Figure(f"scrm: export {label} ({len(raw) / 2**20:.1f} MiB)", time.perf_counter() - began, "s"))
    began = time.perf_counter()
    bundle = msgspec.json.decode(raw)
    winners = fairness.verify(
        bundle["commitment"],
        bytes.fromhex(bundle["seed"]),
        bundle["member_ids"],
        bundle["tickets"],
        bundle["quantities"],
        expected_hash=bundle["entries_hash"],
        expected_winners=bundle["winners"],
    )
    verify_s = time.perf_counter() - began
    if [w.member_id for w in winners] != [w["member_id"] for w in result["winners"]]:
        raise BenchError("verification gave other winners than the draw")
    b.report.add(Figure(f"verify: {label}", verify_s, "s", limit=DRAW_TARGET_S, target=1.0, higher_is_better=False))


def run(b: Bench, sizes: Sizes) -> None:
    progress(f"COPY {sizes.members:,} members")
    low, high = asyncio.run(copy_members(b, sizes.members))
    asyncio.run(pg_execute(b.database, "VACUUM ANALYZE scrm_member", "CHECKPOINT"))
    with serving("scrm", b.scrm.serve_command(), b.tmp, env=b.scrm.env) as server:
        api = Api(server.base_url, b.key)
        api.call("POST", "/api/v1/plugins", {"name": "lottery", "enabled": True})
        bench_entries(b, server.base_url, api, low, high, sizes.runs)
        bench_draw(b, api, low, high, weighted=False)
        bench_draw(b, api, low, high, weighted=True)


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark the lottery plugin (PostgreSQL).")
    parser.add_argument("--quick", action="store_true", help="100,000 entries and short runs")
    parser.add_argument("--members", type=int, help="members (and entries of the draw); default 1,000,000")
    parser.add_argument("--duration", type=float, help="seconds of each measured wrk run")
    args = parser.parse_args()
    if check_wrk() is None:
        print(WRK_INSTALL_HINT, file=sys.stderr)
        return 2
    config = QUICK if args.quick else FULL
    if args.duration:
        config = replace(config, duration_s=args.duration)
    sizes = Sizes(members=args.members or (100_000 if args.quick else 1_000_000), runs=config.rounds)
    report = Report()
    failure = ""
    began = time.monotonic()
    database = asyncio.run(create_database())
    try:
        with tempfile.TemporaryDirectory(prefix="scrm-bench-lottery-") as tmp:
            b = setup(config, database, Path(tmp), report)
            run(b, sizes)
    except BenchError as exc:
        failure = str(exc)
    finally:
        asyncio.run(drop_database(database))
    print(table(report.figures))
    write_json(RESULTS, config, "quick" if args.quick else "full", report, time.monotonic() - began, failure)
    if failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 2
    return 0 if all(f.ok is not False for f in report.figures) else 1


if __name__ == "__main__":
    sys.exit(main())
