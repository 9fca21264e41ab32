"""Benchmark the polls plugin on PostgreSQL against this machine's own limits.

    uv run python bench/polls.py [--quick]

* **Ballots/s**: ``POST /api/v1/polls/{id}/ballots`` (one member per request, each once: wrk with
  ``polls_ballots.lua``; a single choice and an NPS score) on ``scrm serve``, against the hand-written
  single-insert route ``bench/baselines.py event`` (one asyncpg ``INSERT`` per request, no auth),
  alternating runs and keeping the best of each, at as many connections as the pool has and
  oversubscribed; p50/p99. Target: ≥ 0.60 of the baseline's rate. A ballot writes the ballot, its
  answers, the voter's tags, the live counts and the ``poll.voted`` event in one transaction.
* **Results at 1,000,000 ballots** (COPYed into ``polls_ballot`` / ``polls_answer`` for setup, the
  live counts built from them as the ballots would have): ``GET …/results`` through HTTP (the live
  counts: what the plugin does), and the two ways of counting measured in the database directly —
  reading the counts (``polls_tally``, summing its slots) against aggregating the answers through
  their index (``GROUP BY`` over ``polls_answer``). Target ≤ 50 ms.

Prints one table (the same layout as ``bench/run.py``) and writes ``bench/results/polls.json``.
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
LUA = BENCH_DIR / "polls_ballots.lua"
RESULTS = BENCH_DIR / "results" / "polls.json"
BALLOT_TARGET = 0.60
RESULTS_TARGET_MS = 50.0
SLOTS = 16  # scrm_polls.tally.SLOTS
TIMINGS = 21  # calls timed for each results figure (the median is reported)


@dataclass(frozen=True)
class Sizes:
    members: int  # members COPYed into the workspace (each votes at most once)
    ballots: int  # ballots COPYed for the results figures
    runs: int  # rounds of the ballot benchmark (each concurrency)


@dataclass(frozen=True)
class Poll:
    id: int
    single: int
    options: tuple[int, int, int]
    nps: int


def create_poll(api: Api, name: str) -> Poll:
    body = {
        "name": name,
        "questions": [
            {"kind": "single", "title": "Which drink?", "options": ["Latte", "Tea", "Juice"]},
            {"kind": "nps", "title": "Recommend us?"},
        ],
    }
    poll = api.call("POST", "/api/v1/polls", body, 201)
    api.call("POST", f"/api/v1/polls/{poll['id']}/open")
    single, nps = poll["questions"]
    options = tuple(o["id"] for o in single["options"])
    return Poll(poll["id"], single["id"], (options[0], options[1], options[2]), nps["id"])


def wrk_ballots(url: str, poll: Poll, first: int, seconds: float, connections: int, key: str) -> WrkResult:
    """One wrk run casting the ballots of members ``first``, ``first + 1``, …; one thread."""
    path = f"/api/v1/polls/{poll.id}/ballots"
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(LUA)]
    argv += ["-H", f"Authorization: Bearer {key}", url, "--", path, str(first), "1", str(poll.single)]
    argv += [*(str(o) for o in poll.options), str(poll.nps)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return parse_wrk(done.stdout)


def bench_ballots(b: Bench, server_url: str, api: Api, low: int, high: int, runs: int) -> None:
    """Ballots through the API against the hand-written single insert, alternating, best of ``runs``."""
    poll = create_poll(api, "ballots")
    command = b.baseline_command("event", "--dsn", b.dsn, "--workspace", str(b.workspace_id))
    command += ["--pool-size", str(b.config.pool_size)]
    first = low
    with serving("baseline-event", command, b.tmp) as baseline:
        warm = wrk_ballots(server_url, poll, first, b.config.warmup_s, b.config.connections[0], b.key)
        first += warm.requests + 1000
        for connections in b.config.connections:
            base_runs, scrm_runs = [], []
            for n in range(runs):
                progress(f"ballots @{connections} connections, round {n + 1}/{runs}")
                base_runs.append(b.wrk(f"{baseline.base_url}/events", connections, post_event=("/events", low, high)))
                mine = wrk_ballots(server_url, poll, first, b.config.duration_s, connections, b.key)
                first += mine.requests + 1000
                if first > high:
                    raise BenchError("ran out of members to vote; give --members more")
                scrm_runs.append(mine)
            what = ("asyncpg POST event (one insert)", "POST poll ballot", "ballot")
            add_request_figures(b.report, f"@{connections}", what, best(base_runs), best(scrm_runs), BALLOT_TARGET)
    counted = api.call("GET", f"/api/v1/polls/{poll.id}/results")["ballots"]
    progress(f"  {counted:,} ballots stored")


async def copy_ballots(b: Bench, poll: Poll, count: int) -> None:
    """``count`` ballots with their answers COPYed in, and the live counts built from them (each
    ballot adding to the slot of its id, as a ballot through the API does)."""
    at = datetime.now(UTC)
    conn = await asyncpg.connect(b.dsn)
    try:
        for start in range(0, count, 200_000):
            size = min(200_000, count - start)
            first = await conn.fetchval(
                "SELECT setval('polls_ballot_id_seq', nextval('polls_ballot_id_seq') + $1) - $1", size - 1
            )
            ids = range(first, first + size)
            await conn.copy_records_to_table(
                "polls_ballot",
                records=[(i, b.workspace_id, poll.id, 10**12 + i, 0, at) for i in ids],
                columns=["id", "workspace", "poll", "member_id", "points", "created_at"],
            )
            answers = [(b.workspace_id, poll.id, i, poll.single, poll.options[i % 3], None) for i in ids]
            answers += [(b.workspace_id, poll.id, i, poll.nps, None, i % 11) for i in ids]
            await conn.copy_records_to_table(
                "polls_answer",
                records=answers,
                columns=["workspace", "poll", "ballot", "question", "option_id", "score"],
            )
        await conn.execute(
            "INSERT INTO polls_tally (workspace, poll, question, value, slot, n) "
            "SELECT workspace, poll, question, COALESCE(option_id, score), ballot % $2, COUNT(*) FROM polls_answer "
            "WHERE poll = $1 GROUP BY workspace, poll, question, COALESCE(option_id, score), ballot % $2 "
            "UNION ALL SELECT workspace, poll, question, -1, ballot % $2, COUNT(*) FROM polls_answer "
            "WHERE poll = $1 GROUP BY workspace, poll, question, ballot % $2 "
            "UNION ALL SELECT workspace, poll, 0, 0, id % $2, COUNT(*) FROM polls_ballot "
            "WHERE poll = $1 GROUP BY workspace, poll, id % $2 "
            "ON CONFLICT (poll, question, value, slot) DO UPDATE SET n = polls_tally.n + excluded.n",
            poll.id,
            SLOTS,
        )
    finally:
        await conn.close()


TALLY_SQL = (
    "SELECT question, value, SUM(n) AS n FROM polls_tally WHERE poll = $1 AND workspace = $2 GROUP BY question, value"
)
AGGREGATE_SQL = [
    "SELECT question, option_id, score, COUNT(*) AS n FROM polls_answer WHERE poll = $1 AND workspace = $2 "
    "GROUP BY question, option_id, score",
    "SELECT question, COUNT(DISTINCT ballot) AS n FROM polls_answer WHERE poll = $1 AND workspace = $2 GROUP BY question",
    "SELECT COUNT(*) AS n FROM polls_ballot WHERE poll = $1 AND workspace = $2",
]


async def time_sql(b: Bench, statements: list[str], poll_id: int) -> float:
    """The median time, in ms, of running ``statements`` one after another (after one warm-up)."""
    conn = await asyncpg.connect(b.dsn)
    try:
        timings = []
        for _ in range(TIMINGS + 1):
            began = time.perf_counter()
            for sql in statements:
                await conn.fetch(sql, poll_id, b.workspace_id)
            timings.append((time.perf_counter() - began) * 1000)
        return statistics.median(timings[1:])
    finally:
        await conn.close()


def bench_results(b: Bench, api: Api, ballots: int) -> None:
    poll = create_poll(api, "results")
    progress(f"results: COPY {ballots:,} ballots")
    asyncio.run(copy_ballots(b, poll, ballots))
    asyncio.run(pg_execute(b.database, "VACUUM ANALYZE polls_ballot", "VACUUM ANALYZE polls_answer", "CHECKPOINT"))
    label = f"{ballots:,} ballots"
    found = api.call("GET", f"/api/v1/polls/{poll.id}/results")
    if found["ballots"] != ballots or found["questions"][0]["answered"] != ballots:
        raise BenchError(f"the results counted {found['ballots']} ballots, not {ballots}")
    progress(f"results: {label}")
    timings = []
    for _ in range(TIMINGS):
        began = time.perf_counter()
        api.call("GET", f"/api/v1/polls/{poll.id}/results")
        timings.append((time.perf_counter() - began) * 1000)
    b.report.add(
        Figure(
            f"scrm: GET results, {label} (HTTP, median)",
            statistics.median(timings),
            "ms",
            limit=RESULTS_TARGET_MS,
            target=1.0,
            higher_is_better=False,
        )
    )
    counters = asyncio.run(time_sql(b, [TALLY_SQL], poll.id))
    aggregate = asyncio.run(time_sql(b, AGGREGATE_SQL, poll.id))
    b.report.add(Figure(f"db: counts from the live counters, {label}", counters, "ms"))
    b.report.add(Figure(f"db: counts by indexed aggregate, {label}", aggregate, "ms", limit=counters))


def run(b: Bench, sizes: Sizes) -> None:
    progress(f"COPY {sizes.members:,} members")
    low, high = asyncio.run(copy_members(b, sizes.members))
    asyncio.run(pg_execute(b.database, "VACUUM ANALYZE scrm_member", "CHECKPOINT"))
    with serving("scrm", b.scrm.serve_command(), b.tmp, env=b.scrm.env) as server:
        api = Api(server.base_url, b.key)
        api.call("POST", "/api/v1/plugins", {"name": "polls", "enabled": True})
        bench_ballots(b, server.base_url, api, low, high, sizes.runs)
        bench_results(b, api, sizes.ballots)


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark the polls plugin (PostgreSQL).")
    parser.add_argument("--quick", action="store_true", help="100,000 members and ballots, short runs")
    parser.add_argument("--members", type=int, help="members who may vote; default 300,000")
    parser.add_argument("--ballots", type=int, help="ballots of the results figures; default 1,000,000")
    parser.add_argument("--duration", type=float, help="seconds of each measured wrk run")
    args = parser.parse_args()
    if check_wrk() is None:
        print(WRK_INSTALL_HINT, file=sys.stderr)
        return 2
    config = QUICK if args.quick else FULL
    if args.duration:
        config = replace(config, duration_s=args.duration)
    sizes = Sizes(
        members=args.members or (100_000 if args.quick else 300_000),
        ballots=args.ballots or (100_000 if args.quick else 1_000_000),
        runs=config.rounds,
    )
    report = Report()
    failure = ""
    began = time.monotonic()
    database = asyncio.run(create_database())
    try:
        with tempfile.TemporaryDirectory(prefix="scrm-bench-polls-") as tmp:
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
