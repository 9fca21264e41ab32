"""Which statement stores a 1,000-event batch fastest on PostgreSQL? scrm's against the alternative
tried, and against raw ``COPY``, in one process, the same batches, rounds interleaved.

    uv run python bench/batch_statement.py [--rounds 5] [--batches 40] [--clients 4] [--redis-db 9]

A throw-away database (migrated by scrm: the event log partitioned by month), one workspace,
10,000 members. Each round stores ``--batches`` batches of 1,000 events (random members, two
small properties, an idempotency key each), ``--clients`` batches at a time, through each of:

* ``scrm``: ``kernel.events.record`` as it is — one ``INSERT … SELECT FROM unnest($1, …)``
  statement (the arrays sent in asyncpg's binary format) that checks the members, writes the keys to
  ``scrm_event_key``, the events and the outbox row, and answers created/duplicate per item;
* ``staged COPY``: the same statement reading the batch from a temporary table that asyncpg's
  ``copy_records_to_table`` (binary ``COPY``) filled first, in one transaction: ``BEGIN``, ``CREATE
  TEMP TABLE IF NOT EXISTS … ON COMMIT DELETE ROWS``, ``COPY``, the statement, ``COMMIT``;
* ``raw COPY``: ``COPY`` of the same rows into a copy of ``scrm_event`` with its indexes, the
  key's unique index and its foreign keys — storing and nothing else (no key table, no member
  check, no outbox, no answers).

It prints events/s of each per round and the median ratio to raw COPY. No HTTP: what is compared
is the database work of the statement, which is what a choice between them changes (``bench/run.py``
measures the whole ``POST`` of 1,000-event arrays). Its Redis database is flushed at the start and
the end; no worker runs, so nothing is delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
from harness import create_database, drop_database, pg_dsn
from scrm.kernel import Kernel
from scrm.schemas import WorkspaceCreate
from scrm.services.events import NewEvent
from scrm.settings import Settings
from workload import EVENT_COPY_COLUMNS

BATCH = 1000
_encode = msgspec.json.Encoder().encode
STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS bench_event_stage (ord bigint, member bigint, type text, properties text, "
    "occurred_at timestamptz, source text, key text) ON COMMIT DELETE ROWS"
)
#: scrm's statement (``Events._insert_postgres``) with its input read from the staging table.
STAGED_INSERT = (
    "WITH input AS (SELECT nextval('scrm_event_id_seq') AS id, s.* FROM bench_event_stage s), "
    "members AS (SELECT count(*) AS found FROM input JOIN scrm_member m "
    "ON m.id = input.member AND m.workspace = $1 AND m.status <> 'erased'), "
    "keys AS (INSERT INTO scrm_event_key (workspace, idempotency_key, event_id) "
    "SELECT $1, key, id FROM input WHERE key IS NOT NULL AND (SELECT found FROM members) = $2 "
    "ORDER BY ord ON CONFLICT DO NOTHING RETURNING event_id), "
    "inserted AS (INSERT INTO scrm_event "
    "(id, workspace, member, type, properties, occurred_at, recorded_at, source, idempotency_key) "
    "SELECT id, $1, member, type, properties::jsonb, occurred_at, $3, source, key FROM input "
    "WHERE (SELECT found FROM members) = $2 AND (key IS NULL OR id IN (SELECT event_id FROM keys)) "
    "ORDER BY ord RETURNING id), "
    "outbox AS (INSERT INTO scrm_outbox (workspace, event_ids, available_at, attempts, created_at) "
    "SELECT $1, json_agg(id ORDER BY id)::text, $3, 0, $3 FROM inserted HAVING count(*) > 0 RETURNING id) "
    "SELECT input.id, input.key, inserted.id IS NOT NULL AS created, (SELECT id FROM outbox) AS outbox_id "
    "FROM input LEFT JOIN inserted ON inserted.id = input.id ORDER BY input.ord"
)
COPY_TABLE = "bench_event_copy"


def batch(workspace: int, members: tuple[int, int], tag: str, n: int) -> list[NewEvent]:
    at = datetime.now(UTC)
    return [
        NewEvent(
            member_id=random.randint(*members),
            type="page.view",
            properties={"page": f"/p/{i % 100}", "n": i % 10},
            occurred_at=at - timedelta(seconds=i),
            source="api",
            idempotency_key=f"{tag}-{n}-{i}",
        )
        for i in range(BATCH)
    ]


async def staged(conn: asyncpg.Connection, workspace: int, events: list[NewEvent]) -> None:
    async with conn.transaction():
        await conn.execute(STAGE)
        records = [
            (i, e.member_id, e.type, _encode(e.properties).decode(), e.occurred_at, e.source, e.idempotency_key)
            for i, e in enumerate(events)
        ]
        await conn.copy_records_to_table("bench_event_stage", records=records)
        rows = await conn.fetch(STAGED_INSERT, workspace, len(events), datetime.now(UTC))
    if sum(1 for row in rows if row["created"]) != len(events):
        raise RuntimeError("staged COPY stored fewer events than sent")


async def raw_copy(conn: asyncpg.Connection, workspace: int, events: list[NewEvent]) -> None:
    at = datetime.now(UTC)
    records = [
        (workspace, e.member_id, e.type, _encode(e.properties).decode(), e.occurred_at, at, e.source, e.idempotency_key)
        for e in events
    ]
    await conn.copy_records_to_table(COPY_TABLE, records=records, columns=EVENT_COPY_COLUMNS)


async def rate(store: Callable[[list[NewEvent]], Awaitable[Any]], batches: list[list[NewEvent]], clients: int) -> float:
    pending = iter(batches)

    async def client() -> None:
        for events in pending:
            await store(events)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return len(batches) * BATCH / (time.perf_counter() - began)


async def run(rounds: int, batches_n: int, clients: int, redis_db: int) -> None:
    database = await create_database()
    try:
        with tempfile.TemporaryDirectory() as data:
            settings = Settings.from_env(
                {
                    "SCRM_DATABASE_URL": pg_dsn(database),
                    "SCRM_DATA_DIR": data,
                    "SCRM_SECRET_KEY": secrets.token_urlsafe(30),
                    "SCRM_REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
                }
            )
            kernel = Kernel(settings)
            await kernel.migrate()
            await kernel.start()
            await kernel.jobs._redis.flushdb()  # type: ignore[union-attr]
            pool = await asyncpg.create_pool(pg_dsn(database), min_size=clients, max_size=clients)
            try:
                await compare(kernel, pool, database, rounds, batches_n, clients)
            finally:
                await pool.close()
                await kernel.jobs._redis.flushdb()  # type: ignore[union-attr]
                await kernel.stop()
    finally:
        await drop_database(database)


async def compare(kernel: Kernel, pool: asyncpg.Pool, database: str, rounds: int, batches_n: int, clients: int) -> None:
    ws = await kernel.workspaces.create(WorkspaceCreate(slug="bench", name="Bench"))
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO scrm_member (workspace, external_id, status, attributes, created_at, updated_at) "
            "SELECT $1, 'm' || n, 'active', '{}', now(), now() FROM generate_series(1, 10000) n",
            ws.id,
        )
        low, high = await conn.fetchrow("SELECT min(id), max(id) FROM scrm_member WHERE workspace = $1", ws.id)
        await conn.execute(f"CREATE TABLE {COPY_TABLE} (LIKE scrm_event INCLUDING INDEXES INCLUDING CONSTRAINTS)")
        await conn.execute(f"ALTER TABLE {COPY_TABLE} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        await conn.execute(f"CREATE UNIQUE INDEX ON {COPY_TABLE} (workspace, idempotency_key)")
        for column, table in (("workspace", "scrm_workspace"), ("member", "scrm_member")):
            await conn.execute(f"ALTER TABLE {COPY_TABLE} ADD FOREIGN KEY ({column}) REFERENCES {table} (id)")

    def with_conn(
        store: Callable[[asyncpg.Connection, int, list[NewEvent]], Awaitable[None]],
    ) -> Callable[[list[NewEvent]], Awaitable[None]]:
        async def run_one(events: list[NewEvent]) -> None:
            async with pool.acquire() as conn:
                await store(conn, ws.id, events)

        return run_one

    contenders: dict[str, Callable[[list[NewEvent]], Awaitable[Any]]] = {
        "scrm": lambda events: kernel.events.record(ws, events),
        "staged COPY": with_conn(staged),
        "raw COPY": with_conn(raw_copy),
    }
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    serial = iter(range(1_000_000))
    for round_ in range(rounds + 1):  # the first round warms up (caches, prepared statements)
        names = list(contenders)
        names = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in names:
            batches = [batch(ws.id, (low, high), name[:2], next(serial)) for _ in range(batches_n if round_ else 4)]
            measured = await rate(contenders[name], batches, clients)
            if round_:
                rates[name].append(measured)
    print(f"{BATCH:,}-event batches, {clients} at a time, {batches_n} per round, PostgreSQL ({database})")
    copy = statistics.median(rates["raw COPY"])
    for name, values in rates.items():
        shown = " ".join(f"{v:,.0f}" for v in values)
        print(
            f"  {name:12} events/s per round: {shown}   median ratio to raw COPY {statistics.median(values) / copy:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=40, help="batches of 1,000 events per round and contender")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--redis-db", type=int, default=9, help="flushed at the start and the end")
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.batches, args.clients, args.redis_db))


if __name__ == "__main__":
    main()
