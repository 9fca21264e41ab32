"""PostgreSQL: the counter tables keep a fifth of each page free, so delivery's ``n = n + …``
updates (which change no indexed column) stay on their page (HOT) and write no index entry."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-07T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "analytics counters' fillfactor"

FILLFACTOR = [f"ALTER TABLE {table} SET (fillfactor = 80)" for table in ("analytics_daily", "analytics_cohort")]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="analytics", description=DESCRIPTION)

    async def alter() -> None:
        engine = engine_finder()
        assert engine is not None
        if engine.engine_type == "postgres":
            for statement in FILLFACTOR:
                await engine.run_querystring(QueryString(statement))

    manager.add_raw(alter)
    return manager
