"""Benchmark the referrals plugin on PostgreSQL against this machine's own limits.

    uv run python bench/referrals.py [--quick]

* **Code resolution**: ``GET /api/v1/referrals/codes/{code}`` (a landing: the code, its campaign, the
  inviter's name; each counted as an invitation opened), codes drawn at random from 10,000 issued;
* **Join with a code**: ``POST /api/v1/referrals/joins`` (a new member created and attributed in one
  transaction: the member, its ``member.created`` event, the referral, the identity digest and the
  ``referral.joined`` event, after the attribution checks), a new external id per request, codes
  drawn from the 10,000; and, with no target of its own, the core's ``POST /api/v1/members`` (what
  creating a member costs, which a join includes), as a ratio to the same baseline and the join's
  rate as a ratio to it;
* **Attribution of a new member**: ``POST /api/v1/referrals/attributions`` for members COPYed a
  moment before (each once): the plugin's own work of a join without the core's member creation;

each on ``scrm serve`` against the hand-written single-insert route ``bench/baselines.py event`` (one
asyncpg ``INSERT`` per request, no auth), alternating runs and keeping the best of each, at as many
connections as the pool has and oversubscribed; p50/p99. Target: ≥ 0.60 of the baseline's rate.

Prints one table (the same layout as ``bench/run.py``) and writes ``bench/results/referrals.json``.
Exit status: 0 all targets met, 1 a target missed, 2 a benchmark failed.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from harness import BenchError, WrkResult, check_wrk, create_database, drop_database, parse_wrk, pg_execute, serving
from lottery import Api, copy_members
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

BENCH_DIR = Path(__file__).resolve().parent
JOINS_LUA = BENCH_DIR / "referrals_joins.lua"
RESULTS = BENCH_DIR / "results" / "referrals.json"
TARGET = 0.60
CODES = 10_000
PREFIX = "BN"  # the benchmark's codes: BN10000000 … (the alphabet of real codes does not matter to a lookup)
FIRST = 10_000_000
CLAIMS = "/api/v1/referrals/attributions"


async def copy_codes(b: Bench, campaign_id: int, low: int) -> None:
    """One code per member for the first :data:`CODES` members."""
    at = datetime.now(UTC)
    conn = await asyncpg.connect(b.dsn)
    try:
        await conn.copy_records_to_table(
            "referrals_code",
            records=[(b.workspace_id, campaign_id, low + n, f"{PREFIX}{FIRST + n}", at) for n in range(CODES)],
            columns=["workspace", "campaign", "member_id", "code", "created_at"],
        )
    finally:
        await conn.close()


def wrk_joins(
    url: str, seconds: float, connections: int, key: str, path: str = "/api/v1/referrals/joins", first_member: int = 0
) -> WrkResult:
    """One wrk run of joins (or, with ``path`` ``/api/v1/members``, of the core's member creation),
    each with a new external id; one thread."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(JOINS_LUA)]
    argv += ["-H", f"Authorization: Bearer {key}", url, "--", path, secrets.token_hex(4)]
    argv += [PREFIX, str(FIRST), str(FIRST + CODES - 1), str(first_member)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    result = parse_wrk(done.stdout)
    if result.errors:
        raise BenchError(f"joins: {result.errors} of {result.requests} requests failed")
    return result


def bench(b: Bench, server_url: str, runs: int, low: int, high: int) -> None:
    """Code resolution and joins against the hand-written single insert, alternating, best of ``runs``."""
    command = b.baseline_command("event", "--dsn", b.dsn, "--workspace", str(b.workspace_id))
    command += ["--pool-size", str(b.config.pool_size)]
    headers = {"Authorization": f"Bearer {b.key}"}
    resolve = (f"{server_url}/api/v1/referrals/codes/{PREFIX}", FIRST, FIRST + CODES - 1)
    next_member = low + CODES  # members without a code, attributed once each
    with serving("baseline-event", command, b.tmp) as baseline:
        b.wrk(resolve[0], b.config.connections[0], headers=headers, random_path=resolve)
        wrk_joins(server_url, b.config.warmup_s, b.config.connections[0], b.key)
        for connections in b.config.connections:
            base_runs, resolved, joined, created, claimed = [], [], [], [], []
            for n in range(runs):
                progress(f"codes and joins @{connections} connections, round {n + 1}/{runs}")
                base_runs.append(b.wrk(f"{baseline.base_url}/events", connections, post_event=("/events", low, high)))
                resolved.append(b.wrk(resolve[0], connections, headers=headers, random_path=resolve))
                joined.append(wrk_joins(server_url, b.config.duration_s, connections, b.key))
                created.append(wrk_joins(server_url, b.config.duration_s, connections, b.key, "/api/v1/members"))
                claim = wrk_joins(server_url, b.config.duration_s, connections, b.key, CLAIMS, next_member)
                next_member += claim.requests + connections
                if next_member > high:
                    raise BenchError("ran out of members to attribute; give --members more")
                claimed.append(claim)
            base = best(base_runs)
            at = f"@{connections}"
            what = ("asyncpg POST event (one insert)", "GET referral code (landing)", "resolve")
            add_request_figures(b.report, at, what, base, best(resolved), TARGET)
            what = ("asyncpg POST event (one insert)", "POST join with a code", "join")
            add_request_figures(b.report, at, what, base, best(joined), TARGET)
            # what a join cannot be faster than: the core creating a member (no target; for reading the join's)
            mine, core = best(joined), best(created)
            b.report.add(
                Figure(
                    f"scrm: POST member (core) / one insert {at}",
                    core.requests_per_s,
                    "req/s",
                    limit=base.requests_per_s,
                )
            )
            b.report.add(
                Figure(
                    f"scrm: join / core member creation {at}", mine.requests_per_s, "req/s", limit=core.requests_per_s
                )
            )
            what = ("asyncpg POST event (one insert)", "POST attribution of a new member", "attribution")
            add_request_figures(b.report, at, what, base, best(claimed), TARGET)


def run(b: Bench, members: int, runs: int) -> None:
    progress(f"COPY {members:,} members")
    low, high = asyncio.run(copy_members(b, members))
    with serving("scrm", b.scrm.serve_command(), b.tmp, env=b.scrm.env) as server:
        api = Api(server.base_url, b.key)
        api.call("POST", "/api/v1/plugins", {"name": "referrals", "enabled": True})
        campaign = api.call("POST", "/api/v1/referrals/campaigns", {"name": "bench", "burst_limit": 10_000}, 201)
        asyncio.run(copy_codes(b, campaign["id"], low))
        asyncio.run(pg_execute(b.database, "VACUUM ANALYZE scrm_member", "VACUUM ANALYZE referrals_code", "CHECKPOINT"))
        landing = api.call("GET", f"/api/v1/referrals/codes/{PREFIX}{FIRST}")
        if landing["campaign_id"] != campaign["id"]:
            raise BenchError(f"the code resolved to {landing}")
        bench(b, server.base_url, runs, low, high)
        joins = api.call("GET", "/api/v1/referrals/k", None)["joins"]
        progress(f"  {joins:,} joins stored")


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark the referrals plugin (PostgreSQL).")
    parser.add_argument("--quick", action="store_true", help="short runs")
    parser.add_argument("--members", type=int, help="members in the workspace; default 100,000")
    parser.add_argument("--duration", type=float, help="seconds of each measured wrk run")
    args = parser.parse_args()
    if check_wrk() is None:
        print(WRK_INSTALL_HINT, file=sys.stderr)
        return 2
    config = QUICK if args.quick else FULL
    if args.duration:
        config = replace(config, duration_s=args.duration)
    report = Report()
    failure = ""
    began = time.monotonic()
    database = asyncio.run(create_database())
    try:
        with tempfile.TemporaryDirectory(prefix="scrm-bench-referrals-") as tmp:
            b = setup(config, database, Path(tmp), report)
            run(b, max(args.members or 100_000, CODES), config.rounds)
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
