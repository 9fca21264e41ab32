"""Indexes of the event log, the outbox and the consent ledger, and the default consent purposes of
workspaces that existed before the ledger.

Every index of ``scrm_event`` starts with ``workspace`` or ``member`` so the table can be
hash-partitioned by workspace on PostgreSQL (see the operator guide) without changing a query.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

#: The purposes every workspace starts with, as they were when this migration was written (new
#: workspaces get ``scrm.services.consents.DEFAULT_PURPOSES``).
PURPOSES_THEN = {
    "marketing.email": "Marketing messages by email",
    "marketing.sms": "Marketing messages by SMS",
    "marketing.wecom": "Marketing messages on WeCom / WeChat",
    "profiling": "Analysing behaviour to personalise offers",
    "data.share": "Sharing personal data with partners",
}
ID = "2026-11-23T21:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "event, outbox and consent indexes; default consent purposes"

INDEXES = [
    # one event per idempotency key and workspace (NULL keys never collide)
    "CREATE UNIQUE INDEX IF NOT EXISTS scrm_event_idempotency ON scrm_event (workspace, idempotency_key)",
    # listings: newest first by occurred_at, whole workspace / one type / one member
    "CREATE INDEX IF NOT EXISTS scrm_event_workspace_time ON scrm_event (workspace, occurred_at, id)",
    "CREATE INDEX IF NOT EXISTS scrm_event_workspace_type_time ON scrm_event (workspace, type, occurred_at, id)",
    "CREATE INDEX IF NOT EXISTS scrm_event_member_time ON scrm_event (member, occurred_at, id)",
    # the outbox is claimed oldest-available first
    "CREATE INDEX IF NOT EXISTS scrm_outbox_available ON scrm_outbox (available_at, id)",
    # the consent chain: one record per position, one head per workspace
    "CREATE UNIQUE INDEX IF NOT EXISTS scrm_consent_seq ON scrm_consent (workspace, seq)",
    "CREATE INDEX IF NOT EXISTS scrm_consent_member_purpose ON scrm_consent (member, purpose, seq)",
    "CREATE UNIQUE INDEX IF NOT EXISTS scrm_consent_chain_workspace ON scrm_consent_chain (workspace)",
    "CREATE UNIQUE INDEX IF NOT EXISTS scrm_consent_purpose_name ON scrm_consent_purpose (workspace, name)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="scrm", description=DESCRIPTION)

    async def create_indexes_and_purposes() -> None:
        engine = engine_finder()
        assert engine is not None
        for statement in INDEXES:
            await engine.run_querystring(QueryString(statement))
        for name, description in PURPOSES_THEN.items():
            await engine.run_querystring(
                QueryString(
                    "INSERT INTO scrm_consent_purpose (workspace, name, description, created_at) "
                    "SELECT id, {}, {}, created_at FROM scrm_workspace WHERE true ON CONFLICT DO NOTHING",
                    name,
                    description,
                )
            )

    manager.add_raw(create_indexes_and_purposes)
    return manager
