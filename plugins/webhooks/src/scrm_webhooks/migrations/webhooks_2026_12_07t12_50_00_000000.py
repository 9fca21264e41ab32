"""The webhooks plugin's tables and indexes (both engines).

The tables are created from their piccolo classes as they were at this migration; a later change gets
a migration of its own with explicit statements. ``webhooks_delivery_event`` is the arbiter of the
``ON CONFLICT`` that keeps one delivery per event and subscription."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-07T12:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhooks tables"

INDEXES = [
    "CREATE INDEX IF NOT EXISTS webhooks_subscription_workspace ON webhooks_subscription (workspace, id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS webhooks_delivery_event ON webhooks_delivery (subscription, event_id)",
    "CREATE INDEX IF NOT EXISTS webhooks_delivery_due ON webhooks_delivery (state, next_at)",
    "CREATE INDEX IF NOT EXISTS webhooks_delivery_log ON webhooks_delivery (subscription, id)",
    "CREATE INDEX IF NOT EXISTS webhooks_delivery_workspace ON webhooks_delivery (workspace)",
    "CREATE INDEX IF NOT EXISTS webhooks_attempt_delivery ON webhooks_attempt (delivery, id)",
    "CREATE INDEX IF NOT EXISTS webhooks_attempt_workspace ON webhooks_attempt (workspace)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="webhooks", description=DESCRIPTION)

    async def create() -> None:
        from scrm_webhooks.tables import TABLES

        engine = engine_finder()
        assert engine is not None
        for table in TABLES:
            await table.create_table(if_not_exists=True)
        for statement in INDEXES:
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(create)
    return manager
