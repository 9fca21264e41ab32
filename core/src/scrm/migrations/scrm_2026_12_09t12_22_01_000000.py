"""audit: one record per (workspace, seq) and one chain head per workspace, enforced by the
database; the indexes the trail's filters (actor, action, target, time) are served by."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-09T12:22:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit: the trail's indexes"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS scrm_audit_seq ON scrm_audit (workspace, seq)",
    "CREATE UNIQUE INDEX IF NOT EXISTS scrm_audit_chain_workspace ON scrm_audit_chain (workspace)",
    "CREATE INDEX IF NOT EXISTS scrm_audit_actor ON scrm_audit (workspace, actor_kind, actor_id, seq)",
    "CREATE INDEX IF NOT EXISTS scrm_audit_action ON scrm_audit (workspace, action, seq)",
    "CREATE INDEX IF NOT EXISTS scrm_audit_target ON scrm_audit (workspace, target_type, target_id, seq)",
    "CREATE INDEX IF NOT EXISTS scrm_audit_at ON scrm_audit (workspace, at)",
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
