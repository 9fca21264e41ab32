"""The index behind the member filters on activity (``active_after``, ``inactive_since``)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-11-23T21:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index members by last activity"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="scrm", description=DESCRIPTION)

    async def create_index() -> None:
        engine = engine_finder()
        assert engine is not None
        await engine.run_querystring(
            QueryString(
                "CREATE INDEX IF NOT EXISTS scrm_member_workspace_active ON scrm_member (workspace, last_active_at)"
            )
        )

    manager.add_raw(create_index)
    return manager
