"""The admin console's heavy pages at realistic scale on PostgreSQL, and the database work under them.

    uv run python bench/console.py                     # 200,000 members, 1,000,000 events
    uv run python bench/console.py --quick             # 20,000 members, 100,000 events
    uv run python bench/console.py --members N --events M [--runs 20]

Needs PostgreSQL on 127.0.0.1:5432, user ``postgres`` with trust auth, allowed to create databases.
The run creates its own database ``scrm_bench_console_<random>`` and drops it at the end.

Setup: a kernel migrates the database and creates a workspace (``Asia/Shanghai``); members (display
names, ``{"email", "phone"}`` identities, ``created_at`` over the last 90 days, ``last_active_at`` for
60% of them, 1% blocked), ten tags (``scrm_member_tag``, ~1.07 tags per member; ``vip`` on 5%) and
events (four types, ``occurred_at`` over the last 90 days, in id order as they would arrive) are
written with asyncpg ``COPY``; consent grants for ``marketing.email`` (a tenth of the members, at most
20,000) go through ``kernel.consents.append`` in batches of 1,000 (the ledger is hash-chained); then
``VACUUM ANALYZE``. An owner signs in (a real session cookie) and an ``httpx`` client calls the
console in-process (``ASGITransport``: no network, no uvicorn).

Each page is timed ``--runs`` times after 2 warm-ups, three ways:

* ``console``: the whole ``GET`` (session check, the services, template rendering), which must be 200;
* ``service``: the ``kernel`` service calls the page makes, awaited directly (``kernel.reports.*`` for
  the dashboard, ``kernel.members.list`` + ``kernel.tags.names`` for the member list, …);
* ``raw SQL``: the same statements by hand on one asyncpg connection (``$n`` placeholders, prepared
  statements cached by asyncpg): the limit of the stack. ``raw/console`` is the share of the page's
  time that is database work.

Any page whose console median is over 300 ms gets an ``EXPLAIN (ANALYZE, BUFFERS)`` of each of its
raw statements printed after the table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from scrm import create_app
from scrm.kernel import Kernel
from scrm.schemas import ConsentIn, WorkspaceCreate
from scrm.services.consents import COLUMNS as CONSENT_COLUMNS
from scrm.services.events import EventFilter
from scrm.services.members import MemberFilter
from scrm.services.reports import ACTIVE_DAYS, RECENT_EVENT_DAYS, _Period
from scrm.settings import Settings

PG = "postgresql://postgres@127.0.0.1:5432"
SLUG = "bench"
ZONE = "Asia/Shanghai"
DAYS = 90
SLOW_MS = 300.0
CHUNK = 100_000
SURNAMES = ["Li", "Wang", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun", "Lin", "Ma"]
GIVEN = ["Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Yan", "Jie", "Tao", "Mei", "Hao", "Xin", "Yu", "Emma"]
CITIES = ["Shanghai", "Beijing", "Shenzhen", "Hangzhou", "Chengdu", "Guangzhou"]
#: tag -> share of the members carrying it
TAGS = {
    "vip": 0.05,
    "newsletter": 0.30,
    "wholesale": 0.02,
    "beijing": 0.10,
    "shanghai": 0.12,
    "churn-risk": 0.08,
    "birthday-month": 0.08,
    "app-user": 0.25,
    "event-2025": 0.04,
    "referrer": 0.03,
}
EVENT_TYPES = [("page.view", 0.6), ("message.opened", 0.2), ("order.paid", 0.1), ("form.submitted", 0.1)]


def progress(message: str) -> None:
    print(f"[console-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- data ---------------------------------------------------------------------------------------


def email(i: int) -> str:
    return f"user{i}@example.com"


async def fill(conn: asyncpg.Connection, ws_id: int, members: int, events: int, rng: random.Random) -> tuple[int, int]:
    """COPY members, tags and events; return the members' first and last id."""
    end = datetime.now(UTC)
    start = end - timedelta(days=DAYS)
    span = (end - start).total_seconds()
    t0 = time.perf_counter()
    for first in range(0, members, CHUNK):
        rows: list[tuple[Any, ...]] = []
        for i in range(first, min(first + CHUNK, members)):
            created = start + timedelta(seconds=span * i / members + rng.random() * 60)
            active = created + (end - created) * rng.random() if rng.random() < 0.6 else None
            name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"
            identities = {"email": email(i), "phone": f"+86138{i:08d}"}
            rows.append(
                (
                    ws_id,
                    f"ext-{i}",
                    name,
                    "blocked" if rng.random() < 0.01 else "active",
                    json.dumps(identities),
                    json.dumps({"city": rng.choice(CITIES)}),
                    created,
                    created,
                    active,
                )
            )
        await conn.copy_records_to_table(
            "scrm_member",
            records=rows,
            columns=[
                "workspace",
                "external_id",
                "display_name",
                "status",
                "identities",
                "attributes",
                "created_at",
                "updated_at",
                "last_active_at",
            ],
        )
    lo, hi = await conn.fetchrow("SELECT min(id), max(id) FROM scrm_member WHERE workspace = $1", ws_id)
    if hi - lo + 1 != members:
        raise RuntimeError("member ids are not contiguous")
    progress(f"{members:,} members copied in {time.perf_counter() - t0:.1f}s")

    t0 = time.perf_counter()
    tag_ids = {}
    for name in TAGS:
        tag_ids[name] = await conn.fetchval(
            "INSERT INTO scrm_tag (workspace, name, description, created_at) VALUES ($1, $2, '', $3) RETURNING id",
            ws_id,
            name,
            start,
        )
    links = [
        (ws_id, lo + i, tag_ids[name], start)
        for i in range(members)
        for name, share in TAGS.items()
        if rng.random() < share
    ]
    await conn.copy_records_to_table(
        "scrm_member_tag", records=links, columns=["workspace", "member", "tag", "created_at"]
    )
    progress(f"{len(links):,} member tags copied in {time.perf_counter() - t0:.1f}s")

    t0 = time.perf_counter()
    types = [t for t, _ in EVENT_TYPES]
    weights = [w for _, w in EVENT_TYPES]
    for first in range(0, events, CHUNK):
        count = min(CHUNK, events - first)
        kinds = rng.choices(types, weights, k=count)
        rows = []
        for j in range(count):
            i = first + j
            at = start + timedelta(seconds=span * i / events)
            kind = kinds[j]
            props = f'{{"path": "/p/{i % 500}", "ref": "wx"}}' if kind == "page.view" else f'{{"amount": {i % 997}}}'
            rows.append((ws_id, lo + rng.randrange(members), kind, props, at, at, "api"))
        await conn.copy_records_to_table(
            "scrm_event",
            records=rows,
            columns=["workspace", "member", "type", "properties", "occurred_at", "recorded_at", "source"],
        )
    progress(f"{events:,} events copied in {time.perf_counter() - t0:.1f}s")
    return lo, hi


async def add_consents(kernel: Kernel, ws: Any, lo: int, count: int) -> None:
    t0 = time.perf_counter()
    for first in range(0, count, 1000):
        items = [
            ConsentIn(member_id=lo + i * 10, purpose="marketing.email", status="granted", source="bench")
            for i in range(first, min(first + 1000, count))
        ]
        await kernel.consents.append(ws, items)
    progress(f"{count:,} consent grants appended in {time.perf_counter() - t0:.1f}s")


# --- timing -------------------------------------------------------------------------------------

Statement = tuple[str, Sequence[Any]]


@dataclass
class Page:
    name: str
    url: str
    service: Callable[[], Awaitable[Any]]
    raw: list[Statement]


@dataclass
class Timing:
    median: float
    p95: float


async def timed(call: Callable[[], Awaitable[Any]], runs: int) -> Timing:
    for _ in range(2):
        await call()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return Timing(statistics.median(samples), samples[max(0, math.ceil(0.95 * runs) - 1)])


def pages(kernel: Kernel, ws: Any, lo: int, hi: int) -> list[Page]:
    """The pages, each with the service calls it makes and those calls' SQL by hand."""
    base = f"/console/w/{SLUG}"
    member_cols = kernel.members.columns
    event_cols = kernel.events.columns
    tags_sql = "SELECT name FROM scrm_tag WHERE workspace = $1 ORDER BY name"
    purposes_sql = "SELECT name, description, created_at FROM scrm_consent_purpose WHERE workspace = $1 ORDER BY name"
    wid = ws.id

    def dashboard(days: int) -> Page:
        period = _Period.of(ws, days)
        at = datetime.now(UTC)

        async def service() -> None:
            await kernel.reports.headline(ws)
            await kernel.reports.member_growth(ws, days)
            await kernel.reports.events_per_day(ws, days)
            await kernel.reports.consent_coverage(ws)

        per_day = (
            "SELECT ({col} AT TIME ZONE $1::text)::date AS bucket, COUNT(*) AS n FROM {table} "
            "WHERE workspace = $2 AND {col} >= $3 AND {col} < $4{extra} GROUP BY 1"
        )
        raw: list[Statement] = [
            (
                "SELECT (SELECT COUNT(*) FROM scrm_member WHERE workspace = $1 AND status <> 'erased') AS members, "
                "(SELECT COUNT(*) FROM scrm_member WHERE workspace = $1 AND last_active_at >= $2 "
                "AND status <> 'erased') AS active, "
                "(SELECT COUNT(*) FROM scrm_event WHERE workspace = $1 AND occurred_at >= $3 AND occurred_at <= $4) "
                "AS recent_events",
                [wid, at - timedelta(days=ACTIVE_DAYS), at - timedelta(days=RECENT_EVENT_DAYS), at],
            ),
            (
                "SELECT COUNT(*) AS n FROM scrm_member WHERE workspace = $1 AND created_at < $2 AND status <> 'erased'",
                [wid, period.start],
            ),
            (
                per_day.format(col="created_at", table="scrm_member", extra=" AND status <> 'erased'"),
                [ZONE, wid, period.start, period.end],
            ),
            (per_day.format(col="occurred_at", table="scrm_event", extra=""), [ZONE, wid, period.start, period.end]),
            (purposes_sql, [wid]),
            ("SELECT COUNT(*) AS n FROM scrm_member WHERE workspace = $1 AND status = 'active'", [wid]),
            (
                "SELECT c.purpose, COUNT(*) AS granted FROM scrm_consent c JOIN ("
                "SELECT member, purpose, MAX(seq) AS seq FROM scrm_consent WHERE workspace = $1 GROUP BY member, purpose"
                ") latest ON c.workspace = $1 AND c.seq = latest.seq "
                "JOIN scrm_member m ON m.id = c.member AND m.workspace = $1 "
                "WHERE c.status = 'granted' AND m.status = 'active' GROUP BY c.purpose",
                [wid],
            ),
        ]
        query = "" if days == 30 else f"?days={days}"
        return Page(f"dashboard {days}d", f"{base}/{query}", service, raw)

    def member_list(name: str, query: str, filters: MemberFilter, where: str, args: list[Any]) -> Page:
        async def service() -> None:
            await kernel.members.list(ws, filters, None, 50)
            await kernel.tags.names(ws)

        n = len(args)
        raw: list[Statement] = [
            (
                f"SELECT {member_cols} FROM scrm_member m WHERE m.workspace = $1 AND m.id > $2{where} "
                f"ORDER BY m.id LIMIT ${n + 3}",
                [wid, 0, *args, 51],
            ),
            (tags_sql, [wid]),
        ]
        if filters.tags:  # the service looks the tag's id up first
            raw.insert(0, ("SELECT id, name FROM scrm_tag WHERE workspace = $1 AND name IN ($2)", [wid, "vip"]))
        return Page(name, f"{base}/members{query}", service, raw)

    target_email = email((hi - lo) // 2)
    q_where = (
        " AND (m.external_id = $3 OR lower(m.display_name) LIKE $4 ESCAPE '\\' OR m.identities @? CAST($5 AS jsonpath))"
    )

    def q_args(q: str) -> list[Any]:
        return [
            q,
            q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",
            f"$.* ? (@ == {json.dumps(q)})",
        ]

    member_id = lo + (hi - lo) // 2 // 10 * 10  # one with a consent grant (every tenth member has one)

    async def member_service() -> None:
        await kernel.members.get(ws, member_id)
        await kernel.tags.names(ws)
        await kernel.consents.state(ws, member_id)
        await kernel.consents.purposes.list(ws)
        await kernel.events.list(ws, EventFilter(member_id=member_id), None, 25)

    member_raw: list[Statement] = [
        (f"SELECT {member_cols} FROM scrm_member m WHERE m.id = $1 AND m.workspace = $2", [member_id, wid]),
        (tags_sql, [wid]),
        ("SELECT status FROM scrm_member WHERE id = $1 AND workspace = $2", [member_id, wid]),
        (
            f"SELECT {CONSENT_COLUMNS} FROM scrm_consent WHERE member = $1 AND workspace = $2 ORDER BY seq",
            [member_id, wid],
        ),
        (purposes_sql, [wid]),
        (
            f"SELECT {event_cols} FROM scrm_event e WHERE e.workspace = $1 AND e.member = $2 "
            "ORDER BY e.occurred_at DESC, e.id DESC LIMIT $3",
            [wid, member_id, 26],
        ),
    ]

    async def events_service() -> None:
        await kernel.events.list(ws, EventFilter(), None, 50)

    events_raw: list[Statement] = [
        (
            f"SELECT {event_cols} FROM scrm_event e WHERE e.workspace = $1 ORDER BY e.occurred_at DESC, e.id DESC LIMIT $2",
            [wid, 51],
        )
    ]
    return [
        dashboard(30),
        dashboard(90),
        member_list("members list", "", MemberFilter(), "", []),
        member_list(
            "members ?q=<email>", f"?q={target_email}", MemberFilter(q=target_email), q_where, q_args(target_email)
        ),
        member_list("members ?q=Li", "?q=Li", MemberFilter(q="Li"), q_where, q_args("Li")),
        member_list(
            "members ?tag=vip",
            "?tag=vip",
            MemberFilter(tags=("vip",)),
            " AND m.id IN (SELECT member FROM scrm_member_tag WHERE tag = $3)",
            [None],  # filled in once the tag id is known
        ),
        Page("member page", f"{base}/members/{member_id}", member_service, member_raw),
        Page("events", f"{base}/events", events_service, events_raw),
    ]


# --- main ---------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(42)
    database = f"scrm_bench_console_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{PG}/postgres")
    await admin.execute(f'CREATE DATABASE "{database}"')
    progress(f"database {database}: {args.members:,} members, {args.events:,} events")
    url = f"{PG}/{database}"
    kernel: Kernel | None = None
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            settings = Settings.from_env(
                {"SCRM_DATABASE_URL": url, "SCRM_SECRET_KEY": "x" * 40, "SCRM_DATA_DIR": data_dir}
            )
            kernel = Kernel(settings)
            with contextlib.redirect_stdout(io.StringIO()):
                await kernel.migrate()
            await kernel.start()
            await kernel.workspaces.create(WorkspaceCreate(slug=SLUG, name="Bench", time_zone=ZONE))
            ws = await kernel.workspaces.ref(SLUG)
            conn = await asyncpg.connect(url)
            try:
                lo, hi = await fill(conn, ws.id, args.members, args.events, rng)
                await add_consents(kernel, ws, lo, min(20_000, args.members // 10))
                t0 = time.perf_counter()
                await conn.execute("VACUUM ANALYZE")
                progress(f"VACUUM ANALYZE in {time.perf_counter() - t0:.1f}s")
                await measure(kernel, ws, conn, lo, hi, args)
            finally:
                await conn.close()
    finally:
        if kernel is not None:
            with contextlib.suppress(Exception):
                await kernel.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
        progress(f"database {database} dropped")


async def measure(
    kernel: Kernel, ws: Any, conn: asyncpg.Connection, lo: int, hi: int, args: argparse.Namespace
) -> None:
    op = await kernel.operators.create(f"bench-{secrets.token_hex(3)}", "correct horse battery staple")
    await kernel.operators.grant(op.id, ws, "owner")
    token = await kernel.operators.open_session(op.id)
    app = create_app(kernel=kernel, configure_logs=False)
    vip = await conn.fetchval("SELECT id FROM scrm_tag WHERE workspace = $1 AND name = 'vip'", ws.id)
    todo = pages(kernel, ws, lo, hi)
    for page in todo:
        for i, (sql, params) in enumerate(page.raw):
            page.raw[i] = (sql, [vip if p is None else p for p in params])

    # sanity: the hand-written statements find what the services find
    headline = await kernel.reports.headline(ws)
    sql, params = todo[0].raw[0]
    if (await conn.fetchrow(sql, *params))["members"] != headline.members:
        raise RuntimeError("raw headline differs from kernel.reports.headline")
    sql, params = todo[3].raw[0]
    found = await conn.fetch(sql, *params)
    if len(found) != 1:
        raise RuntimeError(f"the email search found {len(found)} members, not 1")
    rows = []
    # the cookie as a header: http.cookiejar never sends a cookie set for a host without a dot ("bench")
    headers = {"Cookie": f"scrm_session={token}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench", headers=headers
    ) as http:
        for page in todo:

            async def console(page: Page = page) -> None:
                r = await http.get(page.url)
                if r.status_code != 200:
                    raise RuntimeError(f"{page.url}: {r.status_code} {r.text[:300]}")

            async def raw(page: Page = page) -> None:
                for sql, params in page.raw:
                    await conn.fetch(sql, *params)

            c = await timed(console, args.runs)
            s = await timed(page.service, args.runs)
            d = await timed(raw, args.runs)
            rows.append((page, c, s, d))
            progress(f"{page.name}: console {c.median:.1f} ms, service {s.median:.1f} ms, raw {d.median:.1f} ms")

    print()
    print(
        f"Console pages: {args.members:,} members, {args.events:,} events, {args.runs} runs each after 2 warm-ups (ms)"
    )
    header = f"| {'page':<22} | {'console med':>11} | {'console p95':>11} | {'service med':>11} | {'raw SQL med':>11} | {'raw SQL p95':>11} | {'raw/console':>11} |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for page, c, s, d in rows:
        print(
            f"| {page.name:<22} | {c.median:>11.1f} | {c.p95:>11.1f} | {s.median:>11.1f} | {d.median:>11.1f} | "
            f"{d.p95:>11.1f} | {d.median / c.median:>11.2f} |"
        )
    slow = [(page, c) for page, c, _, _ in rows if c.median > SLOW_MS]
    for page, c in slow:
        print(
            f"\n## {page.name}: console median {c.median:.0f} ms > {SLOW_MS:.0f} ms; EXPLAIN ANALYZE of its statements"
        )
        for sql, params in page.raw:
            plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *params)
            print(f"\n{sql}\n  -- {params}")
            print("\n".join("    " + r[0] for r in plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=None, help="members (default 200,000; quick 20,000)")
    parser.add_argument("--events", type=int, default=None, help="events (default 1,000,000; quick 100,000)")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per page and way (default 20)")
    parser.add_argument("--quick", action="store_true", help="20,000 members, 100,000 events")
    args = parser.parse_args()
    args.members = args.members or (20_000 if args.quick else 200_000)
    args.events = args.events or (100_000 if args.quick else 1_000_000)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
