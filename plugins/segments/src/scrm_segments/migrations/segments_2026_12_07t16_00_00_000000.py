"""Watched segments: who watches a segment, and the members of watched segments, with the unique
rules that make an entry or an exit one row transition (see ``scrm_segments.watch``)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-07T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "segments watchers and members"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS segments_watch_key ON segments_watch (segment, watcher)",
    "CREATE INDEX IF NOT EXISTS segments_watch_workspace ON segments_watch (workspace, segment)",
    "CREATE UNIQUE INDEX IF NOT EXISTS segments_member_key ON segments_member (segment, member_id)",
    "CREATE INDEX IF NOT EXISTS segments_member_member ON segments_member (workspace, member_id)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="segments", description=DESCRIPTION)

    async def create() -> None:
        from scrm_segments.tables import Member, Watch

        engine = engine_finder()
        assert engine is not None
        for table in (Watch, Member):
            await table.create_table(if_not_exists=True)
        for statement in INDEXES:
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(create)
    return manager
