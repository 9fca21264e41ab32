"""agency: the unique indexes of OAuth 2 apps, tokens and codes (every lookup is by one of them)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-07T13:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "agency: oauth indexes"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS scrm_oauth_app_client ON scrm_oauth_app (client_id)",
    "CREATE INDEX IF NOT EXISTS scrm_oauth_app_workspace ON scrm_oauth_app (workspace, id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS scrm_oauth_token_jti ON scrm_oauth_token (jti)",
    "CREATE UNIQUE INDEX IF NOT EXISTS scrm_oauth_token_refresh ON scrm_oauth_token (refresh_hash)",
    "CREATE INDEX IF NOT EXISTS scrm_oauth_token_app ON scrm_oauth_token (app)",
    "CREATE UNIQUE INDEX IF NOT EXISTS scrm_oauth_code_hash ON scrm_oauth_code (code_hash)",
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
