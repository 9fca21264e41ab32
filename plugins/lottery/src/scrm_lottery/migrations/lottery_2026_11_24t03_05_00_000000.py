"""The lottery's rules that piccolo's auto migrations cannot state: unique rules (the arbiters of its
``ON CONFLICT`` clauses and of one entry per member), composite indexes, and the checks that keep
stock and tickets sane — ``CHECK`` constraints on PostgreSQL, triggers on SQLite (which cannot add a
constraint to an existing table)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import PostgresEngine, engine_finder
from piccolo.querystring import QueryString

ID = "2026-11-24T03:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "lottery unique rules, indexes and checks"

INDEXES = [
    # one entry per member and campaign (also the order the draw reads them in)
    "CREATE UNIQUE INDEX IF NOT EXISTS lottery_entry_member ON lottery_entry (campaign, member_id)",
    "CREATE INDEX IF NOT EXISTS lottery_entry_workspace_member ON lottery_entry (workspace, member_id)",
    "CREATE INDEX IF NOT EXISTS lottery_entry_campaign_id ON lottery_entry (campaign, id)",
    # a delivered event gives its tickets once
    "CREATE UNIQUE INDEX IF NOT EXISTS lottery_ticket_event_unique ON lottery_ticket_event (campaign, event_id)",
    "CREATE INDEX IF NOT EXISTS lottery_ticket_event_member ON lottery_ticket_event (workspace, member_id)",
    # a draw writes each rank once
    "CREATE UNIQUE INDEX IF NOT EXISTS lottery_winner_rank ON lottery_winner (campaign, rank)",
    "CREATE INDEX IF NOT EXISTS lottery_winner_member ON lottery_winner (workspace, member_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS lottery_prize_position ON lottery_prize (campaign, position)",
    "CREATE INDEX IF NOT EXISTS lottery_spin_campaign_id ON lottery_spin (campaign, id)",
    "CREATE INDEX IF NOT EXISTS lottery_spin_member ON lottery_spin (workspace, member_id)",
    # one spin counter per member, campaign and period
    "CREATE UNIQUE INDEX IF NOT EXISTS lottery_spin_count_unique ON lottery_spin_count (campaign, member_id, period)",
    "CREATE INDEX IF NOT EXISTS lottery_campaign_workspace_id ON lottery_campaign (workspace, id)",
]

POSTGRES_CHECKS = [
    "ALTER TABLE lottery_prize ADD CONSTRAINT lottery_prize_stock CHECK (stock >= 0 AND stock <= quantity)",
    "ALTER TABLE lottery_prize ADD CONSTRAINT lottery_prize_quantity CHECK (quantity >= 1)",
    "ALTER TABLE lottery_entry ADD CONSTRAINT lottery_entry_tickets CHECK (tickets >= 1)",
    "ALTER TABLE lottery_spin_count ADD CONSTRAINT lottery_spin_count_spins CHECK (spins >= 0)",
    "ALTER TABLE lottery_campaign ADD CONSTRAINT lottery_campaign_state "
    "CHECK (state IN ('draft', 'open', 'closed', 'drawn', 'cancelled'))",
    "ALTER TABLE lottery_campaign ADD CONSTRAINT lottery_campaign_window CHECK (closes_at > opens_at)",
]


def _sqlite_check(table: str, name: str, condition: str) -> list[str]:
    """The same check as a pair of SQLite triggers (insert and update) that abort the statement."""
    return [
        f"CREATE TRIGGER IF NOT EXISTS {name}_{when} BEFORE {when.upper()} ON {table} "
        f"WHEN NOT ({condition}) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END"
        for when in ("insert", "update")
    ]


SQLITE_CHECKS = [
    *_sqlite_check("lottery_prize", "lottery_prize_stock", "NEW.stock >= 0 AND NEW.stock <= NEW.quantity"),
    *_sqlite_check("lottery_prize", "lottery_prize_quantity", "NEW.quantity >= 1"),
    *_sqlite_check("lottery_entry", "lottery_entry_tickets", "NEW.tickets >= 1"),
    *_sqlite_check("lottery_spin_count", "lottery_spin_count_spins", "NEW.spins >= 0"),
    *_sqlite_check(
        "lottery_campaign", "lottery_campaign_state", "NEW.state IN ('draft', 'open', 'closed', 'drawn', 'cancelled')"
    ),
    *_sqlite_check("lottery_campaign", "lottery_campaign_window", "NEW.closes_at > NEW.opens_at"),
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="lottery", description=DESCRIPTION)

    async def create_rules() -> None:
        engine = engine_finder()
        assert engine is not None
        checks = POSTGRES_CHECKS if isinstance(engine, PostgresEngine) else SQLITE_CHECKS
        for statement in [*INDEXES, *checks]:
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(create_rules)
    return manager
