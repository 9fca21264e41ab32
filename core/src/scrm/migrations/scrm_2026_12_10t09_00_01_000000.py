"""consents: one refusal counter per (workspace, day, purpose, channel, reason), enforced by the
database: what the door's upsert counts on."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-10T09:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "consents: the refusal counters' unique index"

INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS scrm_contact_refusal_key "
    "ON scrm_contact_refusal (workspace, day, purpose, channel, reason)"
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="scrm", description=DESCRIPTION)

    async def create_index() -> None:
        engine = engine_finder()
        assert engine is not None
        await engine.run_querystring(QueryString(INDEX))

    manager.add_raw(create_index)
    return manager
