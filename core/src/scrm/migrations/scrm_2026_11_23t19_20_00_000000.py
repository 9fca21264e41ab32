"""Unique rules and indexes of the core that span several columns (piccolo's auto migrations
write single-column ones only, and SQLite cannot add table constraints after creation)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-11-23T19:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique rules and composite indexes for listings, tag filters and key lookups"

INDEXES = [
    # the uniqueness rules of the core (also the arbiters of its ON CONFLICT clauses)
    "CREATE UNIQUE INDEX IF NOT EXISTS scrm_member_external_id ON scrm_member (workspace, external_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS scrm_tag_name ON scrm_tag (workspace, name)",
    "CREATE UNIQUE INDEX IF NOT EXISTS scrm_member_tag_unique ON scrm_member_tag (member, tag)",
    "CREATE UNIQUE INDEX IF NOT EXISTS scrm_workspace_plugin_unique ON scrm_workspace_plugin (workspace, plugin)",
    # member listings are keyset-paginated by id within a workspace
    "CREATE INDEX IF NOT EXISTS scrm_member_workspace_id ON scrm_member (workspace, id)",
    "CREATE INDEX IF NOT EXISTS scrm_member_workspace_created ON scrm_member (workspace, created_at)",
    # filtering members by tag walks from the tag to its members
    "CREATE INDEX IF NOT EXISTS scrm_member_tag_tag_member ON scrm_member_tag (tag, member)",
    "CREATE INDEX IF NOT EXISTS scrm_api_key_workspace ON scrm_api_key (workspace)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="scrm", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = engine_finder()
        assert engine is not None
        for statement in INDEXES:
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(create_indexes)
    return manager
