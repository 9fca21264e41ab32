"""One term per workspace in the word list: the unique index behind ``ON CONFLICT`` when a term is
added again."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-08T00:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "moderation word list: one term per workspace"

INDEXES = ["CREATE UNIQUE INDEX IF NOT EXISTS scrm_moderation_term_unique ON scrm_moderation_term (workspace, term)"]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="scrm", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = engine_finder()
        assert engine is not None
        for statement in INDEXES:
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(create_indexes)
    return manager
