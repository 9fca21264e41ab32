"""Members per lifecycle stage, kept with each stage move (``segments_stage_count``), so the
lifecycle funnel and a count's total read four rows instead of counting the profiles; filled from
the profiles already there. On PostgreSQL the counter tables keep a fifth of each page free, so
delivery's ``n = n + …`` updates (which change no indexed column) stay on their page (HOT) and
write no index entry."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-07T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "segments stage counts"

STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS segments_stage_count_key ON segments_stage_count (workspace, stage)",
    "INSERT INTO segments_stage_count (workspace, stage, n) SELECT workspace, stage, COUNT(*) FROM segments_profile "
    "WHERE stage <> '' GROUP BY workspace, stage ON CONFLICT (workspace, stage) DO NOTHING",
]

FILLFACTOR = [f"ALTER TABLE {table} SET (fillfactor = 80)" for table in ("segments_daily", "segments_stage_count")]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="segments", description=DESCRIPTION)

    async def create() -> None:
        from scrm_segments.tables import StageCount

        engine = engine_finder()
        assert engine is not None
        await StageCount.create_table(if_not_exists=True)
        for statement in STATEMENTS + (FILLFACTOR if engine.engine_type == "postgres" else []):
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(create)
    return manager
