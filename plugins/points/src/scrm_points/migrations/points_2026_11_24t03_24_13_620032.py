"""points: tier changes are written with their tag and event at once (the hooks now receive the
kernel), so ``points_tier_change`` is history only: its ``applied_at`` column and the index of
pending changes go (the index first: SQLite cannot drop an indexed column)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-11-24T03:24:13:620032"
VERSION = "1.38.0"
DESCRIPTION = "points: tier changes are history only (no applied_at)"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="points", description=DESCRIPTION)

    async def drop_pending_index() -> None:  # raw steps run before the column is dropped
        engine = engine_finder()
        assert engine is not None
        await engine.run_querystring(QueryString("DROP INDEX IF EXISTS points_tier_change_pending"))

    manager.add_raw(drop_pending_index)
    manager.drop_column(
        table_class_name="TierChange",
        tablename="points_tier_change",
        column_name="applied_at",
        db_column_name="applied_at",
        schema=None,
    )
    return manager
