"""The channels plugin's tables, indexes and unique rules (both engines).

The unique indexes are what the plugin's ``ON CONFLICT`` clauses rely on: one message per (member,
template, reference) — idempotent sends —, one template per (name, language), one provider name and
one rule per purpose in a workspace."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-07T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "channels tables"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS channels_provider_name ON channels_provider (workspace, name)",
    "CREATE UNIQUE INDEX IF NOT EXISTS channels_template_name ON channels_template (workspace, name, language)",
    "CREATE UNIQUE INDEX IF NOT EXISTS channels_message_once ON channels_message (workspace, member_id, template, reference)",
    "CREATE INDEX IF NOT EXISTS channels_message_due ON channels_message (status, next_at)",
    "CREATE INDEX IF NOT EXISTS channels_message_member ON channels_message (workspace, member_id, purpose, status, sent_at)",
    "CREATE INDEX IF NOT EXISTS channels_message_workspace_id ON channels_message (workspace, id)",
    "CREATE INDEX IF NOT EXISTS channels_attempt_message ON channels_attempt (message, id)",
    "CREATE INDEX IF NOT EXISTS channels_attempt_provider ON channels_attempt (workspace, at)",
    "CREATE UNIQUE INDEX IF NOT EXISTS channels_rule_purpose ON channels_rule (workspace, purpose)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="channels", description=DESCRIPTION)

    async def create() -> None:
        from scrm_channels.tables import TABLES

        engine = engine_finder()
        assert engine is not None
        for table in TABLES:
            await table.create_table(if_not_exists=True)
        for statement in INDEXES:
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(create)
    return manager
