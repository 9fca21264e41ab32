"""The audit plugin's tables and indexes (both engines): one policy per workspace (a unique
index, the arbiter of its upsert)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-09T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit tables"

INDEXES = [
    "CREATE INDEX IF NOT EXISTS audit_request_queue ON audit_request (workspace, status, due_at)",
    "CREATE INDEX IF NOT EXISTS audit_request_member ON audit_request (workspace, member_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS audit_policy_workspace ON audit_policy (workspace)",
    "CREATE INDEX IF NOT EXISTS audit_check_latest ON audit_check (workspace, id)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="audit", description=DESCRIPTION)

    async def create() -> None:
        from scrm_audit.tables import TABLES

        engine = engine_finder()
        assert engine is not None
        for table in TABLES:
            await table.create_table(if_not_exists=True)
        for statement in INDEXES:
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(create)
    return manager
