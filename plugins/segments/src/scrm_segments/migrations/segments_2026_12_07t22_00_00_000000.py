"""Applied events as runs of consecutive ids: ``segments_applied`` gains ``last_id`` (a row covers
``event_id`` to ``last_id``; the rows already there cover their one event). On PostgreSQL an
exclusion constraint keeps runs from overlapping, so two racing deliveries cannot both apply an
event (see ``scrm_segments.applied``); runs are read by ``(workspace, event_id)``.

The first migration creates the tables from their current classes, so a new database has the
column already: it is added only where it is missing."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-07T22:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "segments applied runs"
INDEX = "CREATE INDEX IF NOT EXISTS segments_applied_workspace ON segments_applied (workspace, event_id)"
EXCLUDE = (
    "ALTER TABLE segments_applied ADD CONSTRAINT segments_applied_runs "
    "EXCLUDE USING gist (int8range(event_id, last_id, '[]') WITH &&)"
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="segments", description=DESCRIPTION)

    async def add() -> None:
        engine = engine_finder()
        assert engine is not None
        postgres = engine.engine_type == "postgres"
        if postgres:
            rows = await engine.run_querystring(
                QueryString(
                    "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'segments_applied'"
                )
            )
        else:
            rows = await engine.run_querystring(QueryString("PRAGMA table_info(segments_applied)"))
        if "last_id" not in {row["name"] for row in rows}:
            await engine.run_querystring(QueryString("ALTER TABLE segments_applied ADD COLUMN last_id BIGINT"))
            await engine.run_querystring(QueryString("UPDATE segments_applied SET last_id = event_id"))
        await engine.run_querystring(QueryString(INDEX))
        if postgres:
            for statement in (
                "ALTER TABLE segments_applied ALTER COLUMN last_id SET NOT NULL",
                "ALTER TABLE segments_applied DROP CONSTRAINT IF EXISTS segments_applied_runs",
                EXCLUDE,
            ):
                await engine.run_querystring(QueryString(statement))

    manager.add_raw(add)
    return manager
