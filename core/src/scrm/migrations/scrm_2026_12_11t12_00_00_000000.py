"""Workspace events: ``scrm_event.member`` may be null (an event about the workspace itself, such as
the audit plugin's ``audit.chain_broken`` alert).

A raw step, because SQLite cannot drop a NOT NULL constraint in place (piccolo's ``alter_column``
would send it ``ALTER COLUMN``): there the table is rebuilt the way SQLite documents ("making other
kinds of table schema changes"): a new table from the current definition without the constraint,
the rows copied, the old table dropped, the new one renamed, its indexes made again — inside the
migration's transaction, so it happens whole or not at all. Nothing references ``scrm_event``, and
ids are copied, so the outbox's event ids still name their events. On PostgreSQL it is one
``ALTER TABLE … DROP NOT NULL`` (which also reaches the partitions of a partitioned table). Both are
no-ops when the column is already nullable. (An auto migration generated later may propose this
``alter_column`` again: drop it, this one did the work.)
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-11T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "workspace events: scrm_event.member may be null"

#: the member column as the first migration created it on SQLite
NOT_NULL = '"member" INTEGER NOT NULL'


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="scrm", description=DESCRIPTION)

    async def member_nullable() -> None:
        engine = engine_finder()
        assert engine is not None
        if engine.engine_type != "sqlite":
            await engine.run_ddl("ALTER TABLE scrm_event ALTER COLUMN member DROP NOT NULL")
            return
        [table] = await engine.run_querystring(
            QueryString("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'scrm_event'")
        )
        if NOT_NULL not in table["sql"]:
            return
        indexes = await engine.run_querystring(
            QueryString(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'scrm_event' AND sql IS NOT NULL"
            )
        )
        create = table["sql"].replace(NOT_NULL, '"member" INTEGER', 1)
        create = create.replace('"scrm_event"', '"scrm_event_rebuilt"', 1)
        for statement in (
            create,
            "INSERT INTO scrm_event_rebuilt SELECT * FROM scrm_event",
            "DROP TABLE scrm_event",
            "ALTER TABLE scrm_event_rebuilt RENAME TO scrm_event",
            *(index["sql"] for index in indexes),
        ):
            await engine.run_ddl(statement)  # as is: the definition holds braces (DEFAULT '{}')

    manager.add_raw(member_nullable)
    return manager
