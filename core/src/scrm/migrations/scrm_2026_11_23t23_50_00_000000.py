"""One role per operator and workspace; the lookups behind the team page, session expiry and the
login rate limit."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-11-23T23:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "operator role uniqueness and console lookups"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS scrm_operator_role_unique ON scrm_operator_role (operator, workspace)",
    "CREATE INDEX IF NOT EXISTS scrm_operator_role_workspace ON scrm_operator_role (workspace)",
    "CREATE INDEX IF NOT EXISTS scrm_operator_session_operator ON scrm_operator_session (operator)",
    "CREATE INDEX IF NOT EXISTS scrm_operator_session_expires ON scrm_operator_session (expires_at)",
    "CREATE INDEX IF NOT EXISTS scrm_login_failure_username ON scrm_login_failure (username, at)",
    "CREATE INDEX IF NOT EXISTS scrm_login_failure_ip ON scrm_login_failure (ip, at)",
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
