"""The points plugin's benchmark on PostgreSQL, as ratios to figures measured in the same run.

    uv run python bench/points.py            # 200,000 events, 15 s wrk runs
    uv run python bench/points.py --quick    # 20,000 events, 4 s wrk runs

1. **Awards while ingesting**: a batch load (``POST /api/v1/events``, JSON arrays of 1,000 from 4
   clients, bench/workload.py's events) delivered by the server's in-process jobs (the embedded
   mode: no Redis), timed from the first batch posted until the outbox is empty — first with no
   plugin enabled, then (other events, same shape) with points enabled and 5 rules active (two on
   ``checkin``, two on ``order.paid``, one on ``coupon.used``: half the events earn). Figure: events/s
   with points over events/s without (target ≥ 0.5), and the awards made.
2. **Check-ins/s**: wrk ``POST /api/v1/points/checkins`` (each request a member not yet checked in
   today) against the hand-written single-insert route (``bench/baselines.py event``, wrk posting one
   event per request), same connections; p50/p99 (target ≥ 0.5).
3. **Redemptions/s**: wrk ``POST /api/v1/points/rewards/{id}/redemptions`` for random members who
   hold points, a reward of unlimited stock, against the same baseline (target ≥ 0.5).
4. **The core's own one-event POST** (``POST /api/v1/events``, wrk posting one event per request, its
   delivery in the same process), against the same baseline, shown: a check-in records one event,
   so this is the most a check-in can reach here; the check-in's rate over it is shown too.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and wrk; uses bench/harness.py and
bench/run.py's setup. Only points and the test plugin are loaded (``SCRM_PLUGINS``).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from harness import BenchError, WrkResult, check_wrk, create_database, drop_database, parse_wrk, serving
from run import (
    FULL,
    QUICK,
    Bench,
    Config,
    Figure,
    Report,
    add_request_figures,
    import_members,
    member_range,
    post_batches,
    setup,
    table,
    wait_outbox_empty,
)
from workload import EventWorkload, write_ndjson

LUA = Path(__file__).with_name("points_wrk.lua")
INGEST_TARGET = 0.5
REQUEST_TARGET = 0.5
RULES = [
    {"name": "Check-in", "event_type": "checkin", "points": 5, "daily_cap": 50},
    {"name": "Check-in, page n≥5", "event_type": "checkin", "points": 1, "conditions": {"n": {"min": 5}}},
    {"name": "Order", "event_type": "order.paid", "points": 20},
    {"name": "Order, page 0", "event_type": "order.paid", "points": 7, "conditions": {"page": "/p/0"}},
    {"name": "Coupon", "event_type": "coupon.used", "points": 3, "total_cap": 300},
]


def api(b: Bench, base_url: str, method: str, path: str, body: object = None) -> httpx.Response:
    response = httpx.request(
        method, base_url + path, json=body, headers={"Authorization": f"Bearer {b.key}"}, timeout=60
    )
    if response.status_code >= 300:
        raise BenchError(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
    return response


def ingest(b: Bench, base_url: str, workload: EventWorkload, count: int) -> float:
    """Events/s from the first batch posted to the outbox drained (delivery included)."""
    bodies = [workload.body(first, min(1000, count - first)) for first in range(0, count, 1000)]

    async def load() -> float:
        began, _ = await post_batches(b, _Server(base_url), bodies, 1000, count)
        drained = await wait_outbox_empty(b, None, "delivery", timeout_s=600)
        return count / (drained - began)

    return asyncio.run(load())


class _Server:
    """What run.post_batches needs of a server: its base URL."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url


def wrk_points(b: Bench, url: str, *args: str) -> WrkResult:
    """A measured wrk run of points_wrk.lua (same durations and connections as the baseline's)."""
    config = b.config
    argv = ["wrk", f"-t{config.threads}", f"-c{config.connections[0]}", "--timeout", "10s", "-s", str(LUA)]
    argv += ["-H", f"Authorization: Bearer {b.key}"]
    result = None
    for seconds in (config.warmup_s, config.duration_s):
        done = subprocess.run(
            [*argv, f"-d{max(1, round(seconds))}s", url, "--", *args], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise BenchError(f"wrk failed: {done.stderr or done.stdout}")
        result = parse_wrk(done.stdout)
        if args[0] == "seq":  # the warm-up checked these members in: start after them
            args = ("seq", str(int(args[1]) + result.requests + 10))
    assert result is not None
    return result


async def give_points(b: Bench, low: int, high: int, points: int) -> None:
    """Balances for the redemption run, written straight into the plugin's tables (one lot each)."""
    conn = await asyncpg.connect(b.dsn)
    try:
        at = datetime.now(UTC)
        await conn.execute(
            "WITH t AS (INSERT INTO points_transaction (workspace, member_id, kind, amount, reason, reference, "
            "created_at) SELECT $1, m, 'adjust', $4, 'bench', 'adjust:bench:' || m, $5 FROM generate_series($2::bigint, $3::bigint) m "
            "RETURNING id, member_id), l AS (INSERT INTO points_lot (workspace, member_id, transaction_id, amount, remaining, "
            "earned_at) SELECT $1, member_id, id, $4, $4, $5 FROM t) "
            "INSERT INTO points_account (workspace, member_id, balance, lifetime, updated_at) "
            "SELECT $1, member_id, $4, $4, $5 FROM t ON CONFLICT (workspace, member_id) DO UPDATE SET "
            "balance = points_account.balance + excluded.balance, lifetime = points_account.lifetime + excluded.lifetime",
            b.workspace_id,
            low,
            high,
            points,
            at,
        )
        await conn.execute("VACUUM ANALYZE points_account")
        await conn.execute("VACUUM ANALYZE points_lot")
    finally:
        await conn.close()


def run(config: Config, database: str, tmp: Path, report: Report, events: int, members: int) -> None:
    b = setup(config, database, tmp, report)
    env = {**b.scrm.env, "SCRM_PLUGINS": "points,testplugin"}
    b = replace(b, scrm=replace(b.scrm, env=env))
    ndjson = tmp / "members.ndjson"
    write_ndjson(ndjson, 1, members)
    with serving("scrm-points", b.scrm.serve_command(), tmp, env=env) as server:
        import_members(server, b.key, ndjson, members)
        asyncio.run(wait_outbox_empty(b, None, "the import's member.created events", timeout_s=600))
        low, high = asyncio.run(member_range(b))
        base = datetime.now(UTC) - timedelta(milliseconds=2 * events, minutes=1)

        print("ingestion without points", file=sys.stderr)
        plain = ingest(b, server.base_url, EventWorkload(low, high, base, key_prefix="a"), events)
        api(b, server.base_url, "POST", "/api/v1/plugins", {"name": "points", "enabled": True})
        for rule in RULES:
            api(b, server.base_url, "POST", "/api/v1/points/rules", rule)
        print("ingestion with points and 5 rules", file=sys.stderr)
        began = time.monotonic()
        with_points = ingest(b, server.base_url, EventWorkload(low, high, base, key_prefix="b"), events)
        awards = asyncio.run(_count(b, "SELECT count(*) FROM points_transaction WHERE kind = 'award'"))
        report.add(Figure("baseline: ingest + deliver, no plugin", plain, "events/s"))
        report.add(
            Figure("points: ingest + deliver, 5 rules", with_points, "events/s", limit=plain, target=INGEST_TARGET)
        )
        report.add(Figure("points: awards made", awards, "awards"))
        report.add(Figure("points: awards/s", awards / (time.monotonic() - began), "awards/s"))

        reward = api(b, server.base_url, "POST", "/api/v1/points/rewards", {"name": "Voucher", "cost": 1}).json()
        asyncio.run(give_points(b, low, high, 1_000_000))
        baseline_command = b.baseline_command("event", "--dsn", b.dsn, "--workspace", str(b.workspace_id))
        with serving("baseline-event", baseline_command, tmp) as baseline:
            at = f"@{config.connections[0]}"
            rates = {}
            for name, path, args in [
                ("check-in", "/api/v1/points/checkins", ("seq", str(low))),
                ("redemption", f"/api/v1/points/rewards/{reward['id']}/redemptions", ("random", str(low), str(high))),
            ]:
                print(f"{name}: baseline, then scrm", file=sys.stderr)
                base_run = b.wrk(baseline.base_url, config.connections[0], post_event=("/events", low, high))
                mine = wrk_points(b, server.base_url + path, *args)
                what = ("asyncpg POST event", f"POST {name}", name)
                add_request_figures(report, at, what, base_run, mine, REQUEST_TARGET)
                rates[name] = mine.requests_per_s
            print("the core's POST /api/v1/events (one event): baseline, then scrm", file=sys.stderr)
            base_run = b.wrk(baseline.base_url, config.connections[0], post_event=("/events", low, high))
            core = b.wrk(
                server.base_url,
                config.connections[0],
                post_event=("/api/v1/events", low, high),
                headers={"Authorization": f"Bearer {b.key}"},
            )
            report.add(Figure(f"baseline: asyncpg POST event {at}", base_run.requests_per_s, "req/s"))
            report.add(
                Figure(f"scrm: POST /api/v1/events (one) {at}", core.requests_per_s, "req/s", base_run.requests_per_s)
            )
            report.add(
                Figure(
                    f"points: check-in over the core's one-event POST {at}",
                    rates["check-in"],
                    "req/s",
                    core.requests_per_s,
                )
            )


async def _count(b: Bench, sql: str) -> int:
    conn = await asyncpg.connect(b.dsn)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int)
    parser.add_argument("--duration", type=float)
    args = parser.parse_args()
    config = QUICK if args.quick else FULL
    if args.duration:
        config = replace(config, duration_s=args.duration)
    events = args.events or (20_000 if args.quick else 200_000)
    members = 20_000 if args.quick else 100_000
    if check_wrk() is None:
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2
    report = Report()
    database = asyncio.run(create_database())
    failure = ""
    try:
        with tempfile.TemporaryDirectory(prefix="scrm-points-bench-") as tmp:
            run(config, database, Path(tmp), report, events, members)
    except (BenchError, OSError, asyncpg.PostgresError, httpx.HTTPError) as exc:
        failure = f"{type(exc).__name__}: {exc}"
    finally:
        asyncio.run(drop_database(database))
    print(table(report.figures))
    if failure:
        print(f"\nbenchmark failed: {failure}", file=sys.stderr)
        return 2
    return 1 if any(f.ok is False for f in report.figures) else 0


if __name__ == "__main__":
    sys.exit(main())
