"""Benchmark the contests plugin on PostgreSQL against this machine's own limits.

    uv run python bench/contests.py [--quick]

* **Votes/s**: ``POST /api/v1/contests/contests/{id}/submissions/{sid}/votes`` (one vote per request,
  each by a member who has not voted yet, for an entry among 10,000, with a source address: wrk with
  ``contests_votes.lua``) on ``scrm serve``, against the hand-written single-insert route
  ``bench/baselines.py event`` (one asyncpg ``INSERT`` per request, no auth), alternating runs and
  keeping the best of each; p50/p99. Target: ≥ 0.60 of the baseline's rate. A vote reads its member,
  then joins the votes arriving with it in one transaction of two statements (the contest
  share-locked, the entries, three limit counters, the votes, the counts; the fraud checks), so the
  ratio says what those guarantees cost.
* **Gallery**: ``GET …/submissions?status=approved&limit=50`` over 10,000 approved entries with one
  image each (COPYed for setup), the first page and a page deep in the listing (by its cursor),
  timed from a client on the same machine over loopback (so it is server time plus one local round
  trip); p50 and p99 of 200 requests. Target ≤ 50 ms.

Voters are COPYed members aged 30 days, so the votes raise no ``new-member`` signal (most voters of a
real contest are not new); each vote still runs the source-address check.

Prints one table (the layout of ``bench/run.py``) and writes ``bench/results/contests.json``.
Exit status: 0 all targets met, 1 a target missed, 2 a benchmark failed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
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
from harness import BenchError, WrkResult, check_wrk, create_database, drop_database, parse_wrk, pg_execute, serving
from lottery import copy_members
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
LUA = BENCH_DIR / "contests_votes.lua"
RESULTS = BENCH_DIR / "results" / "contests.json"
VOTE_TARGET = 0.60
GALLERY_TARGET_MS = 50.0
ENTRIES = 10_000
GALLERY_REQUESTS = 200


@dataclass(frozen=True)
class Sizes:
    members: int
    runs: int


class Api:
    def __init__(self, base_url: str, key: str) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=600)

    def call(self, method: str, path: str, body: Any = None, expect: int = 200, **params: Any) -> Any:
        response = self.http.request(method, path, json=body, params=params or None)
        if response.status_code != expect:
            raise BenchError(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
        return response.json()


async def copy_aged_members(b: Bench, count: int) -> tuple[int, int]:
    """``count`` members (``lottery.copy_members``), made 30 days old: voters, not new members."""
    low, high = await copy_members(b, count)
    await pg_execute(
        b.database,
        f"UPDATE scrm_member SET created_at = now() - interval '30 days' WHERE workspace = {int(b.workspace_id)}",
    )
    return low, high


async def copy_entries(b: Bench, contest_id: int, low: int) -> tuple[int, int]:
    """10,000 approved entries (by the first members), one image each."""
    at = datetime.now(UTC)
    conn = await asyncpg.connect(b.dsn)
    try:
        await conn.copy_records_to_table(
            "contests_submission",
            records=[
                (b.workspace_id, contest_id, low + i, f"Entry {i}", "Latte art", "approved", "[]", "", 0, at)
                for i in range(ENTRIES)
            ],
            columns=[
                "workspace",
                "contest",
                "member_id",
                "title",
                "body",
                "status",
                "findings",
                "reason",
                "votes",
                "created_at",
            ],
        )
        first, last = await conn.fetchrow(
            "SELECT min(id), max(id) FROM contests_submission WHERE contest = $1", contest_id
        )
        await conn.copy_records_to_table(
            "contests_media",
            records=[
                (b.workspace_id, s, 0, f"{s}.jpg", "image/jpeg", 123_456, 1280, 960, "0" * 64, f"k/{s}", f"k/{s}.thumb")
                for s in range(int(first), int(last) + 1)
            ],
            columns=[
                "workspace",
                "submission",
                "position",
                "filename",
                "content_type",
                "size",
                "width",
                "height",
                "sha256",
                "storage_key",
                "thumb_key",
            ],
        )
    finally:
        await conn.close()
    return int(first), int(last)


def wrk_votes(
    url: str, contest_id: int, first: int, entries: tuple[int, int], seconds: float, connections: int, key: str | None
) -> WrkResult:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(LUA)]
    if key:
        argv += ["-H", f"Authorization: Bearer {key}"]
    argv += [url, "--", str(contest_id), str(first), "1", str(entries[0]), str(entries[1] - entries[0] + 1)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return parse_wrk(done.stdout)


def bench_votes(
    b: Bench, server_url: str, contest_id: int, entries: tuple[int, int], low: int, high: int, runs: int
) -> int:
    command = b.baseline_command("event", "--dsn", b.dsn, "--workspace", str(b.workspace_id))
    command += ["--pool-size", str(b.config.pool_size)]
    first = low + ENTRIES
    with serving("baseline-event", command, b.tmp) as baseline:
        warm = wrk_votes(server_url, contest_id, first, entries, b.config.warmup_s, b.config.connections[0], b.key)
        first += warm.requests + 1000
        for connections in b.config.connections:
            base_runs, scrm_runs = [], []
            for n in range(runs):
                progress(f"votes @{connections} connections, round {n + 1}/{runs}")
                base_runs.append(b.wrk(f"{baseline.base_url}/events", connections, post_event=("/events", low, high)))
                mine = wrk_votes(server_url, contest_id, first, entries, b.config.duration_s, connections, b.key)
                first += mine.requests + 1000
                if first > high:
                    raise BenchError("ran out of members to vote; give --members more")
                scrm_runs.append(mine)
            what = ("asyncpg POST event (one insert)", "POST contest vote", "vote")
            add_request_figures(b.report, f"@{connections}", what, best(base_runs), best(scrm_runs), VOTE_TARGET)
    return first - low - ENTRIES


def bench_gallery(b: Bench, api: Api, contest_id: int) -> None:
    path = f"/api/v1/contests/contests/{contest_id}/submissions"
    deep = None
    page = api.call("GET", path, status="approved", limit=50)
    for _ in range(100):  # 5,000 entries in
        page = api.call("GET", path, status="approved", limit=50, cursor=page["next_cursor"])
    deep = page["next_cursor"]
    for label, cursor in (("first page", None), ("page 101", deep)):
        times = []
        for _ in range(GALLERY_REQUESTS):
            params: dict[str, Any] = {"status": "approved", "limit": 50}
            if cursor:
                params["cursor"] = cursor
            began = time.perf_counter()
            answer = api.call("GET", path, **params)
            times.append((time.perf_counter() - began) * 1000)
            if len(answer["items"]) != 50:
                raise BenchError(f"the gallery's {label} has {len(answer['items'])} entries, not 50")
        times.sort()
        p50, p99 = statistics.median(times), times[int(len(times) * 0.99) - 1]
        b.report.add(Figure(f"scrm: gallery {label} of {ENTRIES:,}, 50 entries, p50", p50, "ms"))
        b.report.add(
            Figure(
                f"scrm: gallery {label} of {ENTRIES:,}, 50 entries, p99",
                p99,
                "ms",
                limit=GALLERY_TARGET_MS,
                target=1.0,
                higher_is_better=False,
            )
        )


def run(b: Bench, sizes: Sizes) -> None:
    progress(f"COPY {sizes.members:,} members")
    low, high = asyncio.run(copy_aged_members(b, sizes.members))
    asyncio.run(pg_execute(b.database, "VACUUM ANALYZE scrm_member", "CHECKPOINT"))
    with serving("scrm", b.scrm.serve_command(), b.tmp, env=b.scrm.env) as server:
        api = Api(server.base_url, b.key)
        api.call("POST", "/api/v1/plugins", {"name": "contests", "enabled": True})
        at = datetime.now(UTC)
        contest = api.call(
            "POST",
            "/api/v1/contests/contests",
            {
                "name": "Bench contest",
                "submission_closes_at": (at + timedelta(hours=1)).isoformat(),
                "voting_opens_at": (at + timedelta(hours=2)).isoformat(),
                "voting_closes_at": (at + timedelta(hours=12)).isoformat(),
                "rubric": [{"name": "Creativity"}],
                "votes_per_day": 100,
                "votes_per_member": 1000,
            },
            201,
        )
        api.call("POST", f"/api/v1/contests/contests/{contest['id']}/phase", {"phase": "submission"})
        entries = asyncio.run(copy_entries(b, contest["id"], low))
        asyncio.run(pg_execute(b.database, "VACUUM ANALYZE contests_submission", "VACUUM ANALYZE contests_media"))
        api.call("POST", f"/api/v1/contests/contests/{contest['id']}/phase", {"phase": "voting"})
        bench_gallery(b, api, contest["id"])
        cast = bench_votes(b, server.base_url, contest["id"], entries, low, high, sizes.runs)
        stored = api.call("GET", f"/api/v1/contests/contests/{contest['id']}/votes", limit=1)
        progress(f"  about {cast:,} votes cast; latest vote id {stored['items'][0]['id'] if stored['items'] else None}")


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark the contests plugin (PostgreSQL).")
    parser.add_argument("--quick", action="store_true", help="fewer members and short runs")
    parser.add_argument("--members", type=int, help="members (voters); default 300,000")
    parser.add_argument("--duration", type=float, help="seconds of each measured wrk run")
    args = parser.parse_args()
    if check_wrk() is None:
        print(WRK_INSTALL_HINT, file=sys.stderr)
        return 2
    config = QUICK if args.quick else FULL
    if args.duration:
        config = replace(config, duration_s=args.duration)
    sizes = Sizes(members=args.members or (100_000 if args.quick else 300_000), runs=config.rounds)
    report = Report()
    failure = ""
    began = time.monotonic()
    database = asyncio.run(create_database())
    try:
        with tempfile.TemporaryDirectory(prefix="scrm-bench-contests-") as tmp:
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
