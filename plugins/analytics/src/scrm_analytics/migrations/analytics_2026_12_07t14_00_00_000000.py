"""The analytics plugin's tables and their unique keys (the arbiters of its upserts)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-07T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "analytics tables"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS analytics_daily_key ON analytics_daily (workspace, metric, day, key)",
    "CREATE UNIQUE INDEX IF NOT EXISTS analytics_active_key ON analytics_active (workspace, grain, period, member_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS analytics_cohort_key ON analytics_cohort (workspace, grain, cohort, period)",
    "CREATE UNIQUE INDEX IF NOT EXISTS analytics_member_key ON analytics_member (workspace, member_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS analytics_applied_event ON analytics_applied (event_id)",
    "CREATE INDEX IF NOT EXISTS analytics_applied_at ON analytics_applied (applied_at)",
    "CREATE UNIQUE INDEX IF NOT EXISTS analytics_config_workspace ON analytics_config (workspace)",
    "CREATE UNIQUE INDEX IF NOT EXISTS analytics_cost_month ON analytics_cost (workspace, month)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="analytics", description=DESCRIPTION)

    async def create() -> None:
        from scrm_analytics.tables import TABLES

        engine = engine_finder()
        assert engine is not None
        for table in TABLES:
            await table.create_table(if_not_exists=True)
        for statement in INDEXES:
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(create)
    return manager
