"""Tickets granted through the lottery's service, once per reference (``scrm_lottery.grants``)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-07T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "lottery ticket grants"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS lottery_ticket_grant_reference ON lottery_ticket_grant (workspace, reference)",
    "CREATE INDEX IF NOT EXISTS lottery_ticket_grant_member ON lottery_ticket_grant (workspace, member_id)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="lottery", description=DESCRIPTION)

    async def create() -> None:
        from scrm_lottery.tables import TicketGrant

        engine = engine_finder()
        assert engine is not None
        await TicketGrant.create_table(if_not_exists=True)
        for statement in INDEXES:
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(create)
    return manager
