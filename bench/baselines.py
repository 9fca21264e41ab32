"""The machine's own limits, which scrm's figures are divided by.

* ``empty``: a Litestar route returning ``{}`` — the cost of uvicorn + Litestar alone;
* ``member``: a hand-written Litestar + asyncpg route running the same primary-key select as
  scrm's ``GET /api/v1/members/{id}`` (same columns, same tags subquery), no ORM, no auth;
* ``event``: a hand-written Litestar + asyncpg ``POST /events`` inserting one event (a JSON object)
  into ``scrm_event`` itself, its idempotency key into ``scrm_event_key`` with the same ``ON
  CONFLICT`` as scrm; no member check beyond the foreign key, no outbox, no auth; and ``GET
  /members/{id}/events``, a member's 50 newest events by the same index as scrm's;
* :func:`copy_rate`: raw PostgreSQL ``COPY`` of member rows into a copy of ``scrm_member``;
* :func:`event_copy_rate`: raw ``COPY`` of event rows into a copy of ``scrm_event``.

The three apps are served exactly like ``scrm serve`` (uvicorn, one process, same options)::

    python bench/baselines.py empty --port 8001
    python bench/baselines.py member --port 8002 --dsn postgresql://postgres@127.0.0.1/DB --workspace 1
    python bench/baselines.py event --port 8003 --dsn postgresql://postgres@127.0.0.1/DB --workspace 1
"""

from __future__ import annotations

import argparse
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
import msgspec
import uvicorn
from litestar import Litestar, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import PathParameter
from workload import COPY_COLUMNS, EVENT_COPY_COLUMNS, copy_records

# scrm's MemberService.get, with asyncpg's $n placeholders
MEMBER_SQL = (
    "SELECT m.id, m.external_id, m.display_name, m.status, m.identities, m.attributes, m.created_at, m.updated_at, "
    "(SELECT json_agg(t.name)::text FROM scrm_member_tag mt JOIN scrm_tag t ON t.id = mt.tag "
    "WHERE mt.member = m.id) AS tags "
    "FROM scrm_member m WHERE m.id = $1 AND m.workspace = $2"
)
COPY_TABLE = "bench_member_copy"
EVENT_COPY_TABLE = "bench_event_copy"
# one event, as scrm's insert stores it (scrm draws the id first and writes an outbox row too): on
# the partitioned log the key's uniqueness is scrm_event_key's primary key, the event goes in only
# if its key row did
EVENT_SQL = (
    "WITH k AS (INSERT INTO scrm_event_key (workspace, idempotency_key, event_id) "
    "SELECT $1::bigint, $8::text, nextval('scrm_event_id_seq') WHERE $8 IS NOT NULL "
    "ON CONFLICT DO NOTHING RETURNING event_id) "
    "INSERT INTO scrm_event (id, workspace, member, type, properties, occurred_at, recorded_at, source, "
    "idempotency_key) SELECT coalesce((SELECT event_id FROM k), nextval('scrm_event_id_seq')), "
    "$1, $2::bigint, $3::text, $4::jsonb, $5::timestamptz, $6::timestamptz, $7::text, $8 "
    "WHERE $8 IS NULL OR EXISTS (SELECT FROM k) RETURNING id"
)
EVENT_BY_KEY_SQL = "SELECT event_id FROM scrm_event_key WHERE workspace = $1 AND idempotency_key = $2"
# a member's timeline, first page: scrm's EventService.list for one member
TIMELINE_SQL = (
    "SELECT id, member, type, properties, occurred_at, recorded_at, source, idempotency_key FROM scrm_event "
    "WHERE workspace = $1 AND member = $2 ORDER BY occurred_at DESC, id DESC LIMIT 50"
)
# one event by id: scrm's EventService.get without a guess of its month (every month is probed)
EVENT_BY_ID_SQL = (
    "SELECT id, member, type, properties, occurred_at, recorded_at, source, idempotency_key FROM scrm_event "
    "WHERE id = $1 AND workspace = $2"
)
_decode = msgspec.json.decode
_encode = msgspec.json.encode


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/empty", sync_to_thread=False)
def empty() -> dict[str, Any]:
    return {}


def empty_app() -> Litestar:
    """The smallest Litestar app: what one uvicorn process can answer at most."""
    return Litestar(route_handlers=[healthz, empty], debug=False, logging_config=None, openapi_config=None)


class Member(msgspec.Struct):
    id: int
    external_id: str | None
    display_name: str
    status: str
    identities: dict[str, Any]
    attributes: dict[str, Any]
    tags: list[str]
    created_at: datetime
    updated_at: datetime


class Pool:
    """A baseline app's asyncpg pool, opened and closed by the app's lifespan."""

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn, self.size = dsn, size
        self._pool: asyncpg.Pool | None = None

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncIterator[None]:
        self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self.size)
        try:
            yield
        finally:
            await self._pool.close()

    def __call__(self) -> asyncpg.Pool:
        assert self._pool is not None
        return self._pool


def member_app(dsn: str, workspace_id: int, pool_size: int) -> Litestar:
    """``GET /members/{id}``: one asyncpg query from a pool, decoded into a msgspec struct."""
    pool = Pool(dsn, pool_size)

    @get("/members/{member_id:int}")
    async def member(member_id: Annotated[int, PathParameter(gt=0)]) -> Member:
        row = await pool().fetchrow(MEMBER_SQL, member_id, workspace_id)
        if row is None:
            raise NotFoundException(f"No member {member_id}")
        return Member(
            id=row["id"],
            external_id=row["external_id"],
            display_name=row["display_name"],
            status=row["status"],
            identities=_decode(row["identities"]),
            attributes=_decode(row["attributes"]),
            tags=sorted(_decode(row["tags"])) if row["tags"] else [],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    return Litestar(
        route_handlers=[healthz, member],
        lifespan=[pool.lifespan],
        debug=False,
        logging_config=None,
        openapi_config=None,
    )


class EventIn(msgspec.Struct, forbid_unknown_fields=True):
    member_id: int
    type: str
    properties: dict[str, Any] = msgspec.field(default_factory=dict)
    occurred_at: datetime | None = None
    source: str = "api"
    idempotency_key: str | None = None


class EventResult(msgspec.Struct):
    id: int
    status: str


class EventOut(msgspec.Struct):
    id: int
    member_id: int
    type: str
    properties: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime
    source: str
    idempotency_key: str | None


def event_app(dsn: str, workspace_id: int, pool_size: int) -> Litestar:
    """``POST /events``: one event (a JSON object) decoded by msgspec, one asyncpg ``INSERT`` from a
    pool; ``GET /members/{id}/events``: a member's 50 newest events, one asyncpg select."""
    pool = Pool(dsn, pool_size)

    @post("/events", status_code=201)
    async def record_event(data: EventIn) -> Response[EventResult]:
        at = datetime.now(UTC)
        args = (data.member_id, data.type, _encode(data.properties).decode(), data.occurred_at or at, at)
        async with pool().acquire() as conn:
            event_id = await conn.fetchval(EVENT_SQL, workspace_id, *args, data.source, data.idempotency_key)
            if event_id is not None:
                return Response(EventResult(event_id, "created"), status_code=201)
            event_id = await conn.fetchval(EVENT_BY_KEY_SQL, workspace_id, data.idempotency_key)
        return Response(EventResult(event_id, "duplicate"), status_code=200)

    @get("/members/{member_id:int}/events")
    async def timeline(member_id: Annotated[int, PathParameter(gt=0)]) -> list[EventOut]:
        return [_event_out(row) for row in await pool().fetch(TIMELINE_SQL, workspace_id, member_id)]

    @get("/events/{event_id:int}")
    async def event(event_id: Annotated[int, PathParameter(gt=0)]) -> EventOut:
        row = await pool().fetchrow(EVENT_BY_ID_SQL, event_id, workspace_id)
        if row is None:
            raise NotFoundException()
        return _event_out(row)

    return Litestar(
        route_handlers=[healthz, record_event, timeline, event],
        lifespan=[pool.lifespan],
        debug=False,
        logging_config=None,
        openapi_config=None,
    )


def _event_out(row: Any) -> EventOut:
    return EventOut(
        row["id"],
        row["member"],
        row["type"],
        _decode(row["properties"]),
        row["occurred_at"],
        row["recorded_at"],
        row["source"],
        row["idempotency_key"],
    )


async def copy_rate(
    dsn: str, workspace_id: int, first: int, count: int, *, foreign_key: bool = True, chunk: int = 50_000
) -> float:
    """Rows per second of ``COPY`` of members ``first..`` into a fresh copy of ``scrm_member``.

    The copy has the member table's columns, NOT NULLs, indexes (primary key, unique
    ``(workspace, external_id)``…) and, with ``foreign_key``, its foreign key to ``scrm_workspace``:
    the same work per row as scrm's insert, minus everything scrm adds. Records are built outside
    the timed section; all chunks go in one transaction, whose commit is timed too. The table is
    dropped afterwards.
    """
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
        await conn.execute(f"CREATE TABLE {COPY_TABLE} (LIKE scrm_member INCLUDING INDEXES INCLUDING CONSTRAINTS)")
        await conn.execute(f"ALTER TABLE {COPY_TABLE} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        if foreign_key:
            await conn.execute(
                f"ALTER TABLE {COPY_TABLE} ADD FOREIGN KEY (workspace) REFERENCES scrm_workspace (id) ON DELETE CASCADE"
            )
        elapsed = 0.0
        transaction = conn.transaction()
        await transaction.start()
        for start in range(first, first + count, chunk):
            records = copy_records(workspace_id, start, min(chunk, first + count - start))
            began = time.perf_counter()
            await conn.copy_records_to_table(COPY_TABLE, records=records, columns=COPY_COLUMNS)
            elapsed += time.perf_counter() - began
        began = time.perf_counter()
        await transaction.commit()
        elapsed += time.perf_counter() - began
        copied = await conn.fetchval(f"SELECT count(*) FROM {COPY_TABLE}")
        if copied != count:
            raise RuntimeError(f"COPY wrote {copied} rows, expected {count}")
        return count / elapsed
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
        await conn.close()


async def event_copy_rate(
    dsn: str,
    workspace_id: int,
    records: Callable[[int, int], Sequence[tuple[Any, ...]]],
    count: int,
    chunk: int = 50_000,
) -> float:
    """Rows per second of ``COPY`` of ``count`` events into a fresh copy of ``scrm_event``.

    ``records(first, n)`` gives the rows (columns :data:`workload.EVENT_COPY_COLUMNS`). The copy has
    the event table's columns, NOT NULLs, every index (primary key, the unique ``(workspace,
    idempotency_key)``, the three listing indexes) and its foreign keys to ``scrm_workspace`` and
    ``scrm_member``: the database work of storing the events, minus everything scrm adds (the outbox
    row, the transaction around it, the member check, JSON, HTTP). Records are built outside the
    timed section; all chunks go in one transaction, whose commit is timed too.
    """
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {EVENT_COPY_TABLE}")
        await conn.execute(f"CREATE TABLE {EVENT_COPY_TABLE} (LIKE scrm_event INCLUDING INDEXES INCLUDING CONSTRAINTS)")
        await conn.execute(f"ALTER TABLE {EVENT_COPY_TABLE} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        # the key's uniqueness, which scrm keeps in scrm_event_key beside the partitioned log
        await conn.execute(f"CREATE UNIQUE INDEX ON {EVENT_COPY_TABLE} (workspace, idempotency_key)")
        for column, table in (("workspace", "scrm_workspace"), ("member", "scrm_member")):
            await conn.execute(
                f"ALTER TABLE {EVENT_COPY_TABLE} ADD FOREIGN KEY ({column}) REFERENCES {table} (id) ON DELETE CASCADE"
            )
        elapsed = 0.0
        transaction = conn.transaction()
        await transaction.start()
        for start in range(0, count, chunk):
            rows = records(start, min(chunk, count - start))
            began = time.perf_counter()
            await conn.copy_records_to_table(EVENT_COPY_TABLE, records=rows, columns=EVENT_COPY_COLUMNS)
            elapsed += time.perf_counter() - began
        began = time.perf_counter()
        await transaction.commit()
        elapsed += time.perf_counter() - began
        copied = await conn.fetchval(f"SELECT count(*) FROM {EVENT_COPY_TABLE} WHERE workspace = $1", workspace_id)
        if copied != count:
            raise RuntimeError(f"COPY wrote {copied} events, expected {count}")
        return count / elapsed
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {EVENT_COPY_TABLE}")
        await conn.close()


def main() -> None:
    """Serve one baseline app on 127.0.0.1, configured like ``scrm serve``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("app", choices=["empty", "member", "event"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", help="PostgreSQL URL (member, event)")
    parser.add_argument("--workspace", type=int, help="workspace id (member, event)")
    parser.add_argument("--pool-size", type=int, default=10, help="asyncpg pool size (scrm's default: 10)")
    args = parser.parse_args()
    if args.app in ("member", "event"):
        if not args.dsn or args.workspace is None:
            parser.error(f"{args.app} needs --dsn and --workspace")
        make_app = member_app if args.app == "member" else event_app
        app = make_app(args.dsn, args.workspace, args.pool_size)
    else:
        app = empty_app()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
