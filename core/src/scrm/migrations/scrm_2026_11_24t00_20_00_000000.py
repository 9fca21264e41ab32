"""The indexes behind member search (``q``): a display-name prefix and a channel identity's value.

PostgreSQL only. ``q`` matches the external id, a name prefix or any identity value (an OR of three
conditions), and each branch needs an index for the planner to combine them (a bitmap OR) instead of
reading the whole workspace. The identity index is GIN in the default ``jsonb_ops`` class: it
serves ``identities @? '$.* ? (@ == "…")'``, a value under any channel; ``jsonb_path_ops`` would
need the channel named. SQLite, the embedded default for small workspaces, scans.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import PostgresEngine, engine_finder
from piccolo.querystring import QueryString

ID = "2026-11-24T00:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for member search by name prefix and identity"

INDEXES = [
    "CREATE INDEX IF NOT EXISTS scrm_member_name_prefix ON scrm_member (workspace, lower(display_name) text_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS scrm_member_identities ON scrm_member USING gin (identities)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="scrm", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = engine_finder()
        assert engine is not None
        if not isinstance(engine, PostgresEngine):
            return
        for statement in INDEXES:
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(create_indexes)
    return manager
