"""The journeys plugin's tables, indexes and unique rules (both engines).

``journeys_run_once`` is what keeps a member from entering twice (the entry key is ``once`` unless
re-entry is allowed); ``journeys_step_once`` keeps a step's outcome from being recorded twice for a
run, whatever a killed worker or a redelivered job does."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-07T13:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "journeys tables"

INDEXES = [
    "CREATE INDEX IF NOT EXISTS journeys_journey_live ON journeys_journey (workspace, status)",
    "CREATE UNIQUE INDEX IF NOT EXISTS journeys_version_once ON journeys_version (journey, version)",
    "CREATE UNIQUE INDEX IF NOT EXISTS journeys_run_once ON journeys_run (journey, member_id, entry_key)",
    "CREATE INDEX IF NOT EXISTS journeys_run_due ON journeys_run (status, due_at)",
    "CREATE INDEX IF NOT EXISTS journeys_run_member ON journeys_run (workspace, member_id, status)",
    "CREATE INDEX IF NOT EXISTS journeys_run_journey ON journeys_run (journey, version, position, status)",
    "CREATE UNIQUE INDEX IF NOT EXISTS journeys_step_once ON journeys_step (run, position, outcome)",
    "CREATE INDEX IF NOT EXISTS journeys_step_counts ON journeys_step (journey, version, position, outcome)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="journeys", description=DESCRIPTION)

    async def create() -> None:
        from scrm_journeys.tables import TABLES

        engine = engine_finder()
        assert engine is not None
        for table in TABLES:
            await table.create_table(if_not_exists=True)
        for statement in INDEXES:
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(create)
    return manager
