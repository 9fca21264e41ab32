"""The event log partitioned by month of ``occurred_at`` (PostgreSQL only; SQLite keeps one table).

In one transaction, under an exclusive lock: the table is renamed away, a partitioned
``scrm_event`` made like it (same columns, defaults and NOT NULLs, whatever earlier migrations
made of them), with a partition for every month that holds events, for this month and the next
three, and a default partition; the rows are copied over, the old table dropped, and its primary
key, foreign keys and listing indexes made again on the new one. The id sequence carries over.

PostgreSQL wants the partition key in every unique constraint of a partitioned table: the primary
key becomes ``(id, occurred_at)`` (ids still come from the one sequence), and the idempotency key's
uniqueness per workspace moves to the side table ``scrm_event_key (workspace, idempotency_key)``,
its primary key, filled here from the existing events. The event insert writes a key row and the
event in one statement, the event only where its key row went in (``scrm.services.events``).
"""

from datetime import UTC, datetime

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import PostgresEngine, engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-11T00:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "events: monthly partitions on PostgreSQL; idempotency keys in scrm_event_key"

OLD = "scrm_event_unpartitioned"
AHEAD_MONTHS = 3


def _month_bounds(year: int, month: int) -> tuple[str, str, str]:
    """The partition's name and its bounds as timestamptz literals."""
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return f"scrm_event_{year:04d}_{month:02d}", f"'{start.isoformat()}'", f"'{end.isoformat()}'"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="scrm", description=DESCRIPTION)

    async def partition_events() -> None:
        engine = engine_finder()
        assert engine is not None
        if not isinstance(engine, PostgresEngine):
            return

        async def run(sql: str) -> list[dict[str, object]]:
            return await engine.run_querystring(QueryString(sql))  # type: ignore[no-any-return]

        await run("LOCK TABLE scrm_event IN ACCESS EXCLUSIVE MODE")
        await run(f"ALTER TABLE scrm_event RENAME TO {OLD}")
        foreign_keys = await run(
            f"SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint "
            f"WHERE conrelid = '{OLD}'::regclass AND contype = 'f'"
        )
        indexes = await run(
            f"SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            f"WHERE i.indrelid = '{OLD}'::regclass AND NOT i.indisunique"
        )
        await run("ALTER SEQUENCE scrm_event_id_seq OWNED BY NONE")
        await run(f"CREATE TABLE scrm_event (LIKE {OLD} INCLUDING DEFAULTS) PARTITION BY RANGE (occurred_at)")
        await run("CREATE TABLE scrm_event_default PARTITION OF scrm_event DEFAULT")
        months = {
            (int(row["y"]), int(row["m"]))  # type: ignore[call-overload]
            for row in await run(
                "SELECT DISTINCT extract(year FROM occurred_at AT TIME ZONE 'UTC') AS y, "
                f"extract(month FROM occurred_at AT TIME ZONE 'UTC') AS m FROM {OLD}"
            )
        }
        today = datetime.now(UTC)
        for ahead in range(AHEAD_MONTHS + 1):
            index = today.year * 12 + today.month - 1 + ahead
            months.add((index // 12, index % 12 + 1))
        for year, month in sorted(months):
            name, start, end = _month_bounds(year, month)
            await run(f"CREATE TABLE {name} PARTITION OF scrm_event FOR VALUES FROM ({start}) TO ({end})")
        await run(f"INSERT INTO scrm_event SELECT * FROM {OLD}")
        await run(
            "CREATE TABLE scrm_event_key (workspace bigint NOT NULL REFERENCES scrm_workspace (id) "
            "ON UPDATE CASCADE ON DELETE CASCADE, idempotency_key varchar(200) NOT NULL, event_id bigint NOT NULL, "
            "PRIMARY KEY (workspace, idempotency_key))"
        )
        await run(
            "INSERT INTO scrm_event_key (workspace, idempotency_key, event_id) "
            f"SELECT workspace, idempotency_key, id FROM {OLD} WHERE idempotency_key IS NOT NULL"
        )
        await run(f"DROP TABLE {OLD}")
        await run("ALTER TABLE scrm_event ADD PRIMARY KEY (id, occurred_at)")
        for foreign_key in foreign_keys:
            await run(f"ALTER TABLE scrm_event ADD CONSTRAINT {foreign_key['conname']} {foreign_key['def']}")
        for index in indexes:
            await run(str(index["def"]).replace(f" ON public.{OLD} ", " ON scrm_event "))
        await run("ALTER SEQUENCE scrm_event_id_seq OWNED BY scrm_event.id")
        await run("ANALYZE scrm_event")

    manager.add_raw(partition_events)
    return manager
