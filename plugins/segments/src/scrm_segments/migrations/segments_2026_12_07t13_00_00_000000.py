"""The segments plugin's tables, indexes and unique rules (both engines).

The unique indexes are the arbiters of the plugin's upserts (one profile per member, one counter
per member, type and day, one applied row per event); ``segments_profile_stage`` serves the hourly
lifecycle pass (members of a stage whose idleness crossed a boundary) and stage conditions."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-07T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "segments tables"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS segments_segment_name ON segments_segment (workspace, name)",
    "CREATE UNIQUE INDEX IF NOT EXISTS segments_config_workspace ON segments_config (workspace)",
    "CREATE UNIQUE INDEX IF NOT EXISTS segments_profile_member ON segments_profile (workspace, member_id)",
    "CREATE INDEX IF NOT EXISTS segments_profile_stage ON segments_profile (workspace, stage, ref_at)",
    "CREATE INDEX IF NOT EXISTS segments_profile_cluster ON segments_profile (workspace, cluster)",
    "CREATE UNIQUE INDEX IF NOT EXISTS segments_daily_key ON segments_daily (workspace, member_id, type, day)",
    "CREATE INDEX IF NOT EXISTS segments_daily_type ON segments_daily (workspace, type, day, member_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS segments_applied_event ON segments_applied (event_id)",
    "CREATE INDEX IF NOT EXISTS segments_applied_at ON segments_applied (applied_at)",
    "CREATE UNIQUE INDEX IF NOT EXISTS segments_cluster_key ON segments_cluster (workspace, cluster)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="segments", description=DESCRIPTION)

    async def create() -> None:
        from scrm_segments.tables import TABLES

        engine = engine_finder()
        assert engine is not None
        for table in TABLES:
            await table.create_table(if_not_exists=True)
        for statement in INDEXES:
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(create)
    return manager
