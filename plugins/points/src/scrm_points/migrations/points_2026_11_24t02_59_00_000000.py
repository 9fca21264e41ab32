"""What the points tables need beyond piccolo's columns: the unique keys that make the ledger
idempotent and check-ins once a day, ``balance >= 0`` and the other invariants as constraints, and
the indexes of the plugin's listings.

PostgreSQL gets CHECK constraints. SQLite cannot add a constraint to an existing table, so there
the same rules are triggers that abort the statement (``RAISE(ABORT, ...)``), with the same effect:
the write fails and its transaction rolls back.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import PostgresEngine, engine_finder
from piccolo.querystring import QueryString

ID = "2026-11-24T02:59:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "points: unique keys, invariants and listing indexes"

INDEXES = [
    # idempotency and once-only rules (also the arbiters of ON CONFLICT clauses)
    "CREATE UNIQUE INDEX IF NOT EXISTS points_account_member ON points_account (workspace, member_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS points_transaction_reference ON points_transaction (workspace, reference)",
    "CREATE UNIQUE INDEX IF NOT EXISTS points_rule_usage_day ON points_rule_usage (rule_id, member_id, day)",
    "CREATE UNIQUE INDEX IF NOT EXISTS points_checkin_day ON points_checkin (workspace, member_id, day)",
    # listings and look-ups
    "CREATE INDEX IF NOT EXISTS points_transaction_member ON points_transaction (workspace, member_id, id)",
    "CREATE INDEX IF NOT EXISTS points_transaction_event ON points_transaction (workspace, event_id) WHERE event_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS points_transaction_created ON points_transaction (workspace, created_at)",
    "CREATE INDEX IF NOT EXISTS points_lot_open ON points_lot (workspace, member_id, expires_at, id) WHERE remaining > 0",
    "CREATE INDEX IF NOT EXISTS points_lot_due ON points_lot (expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS points_account_balance ON points_account (workspace, balance DESC, member_id)",
    "CREATE INDEX IF NOT EXISTS points_account_lifetime ON points_account (workspace, lifetime DESC, member_id)",
    "CREATE INDEX IF NOT EXISTS points_redemption_member ON points_redemption (workspace, member_id, id)",
    "CREATE INDEX IF NOT EXISTS points_redemption_reward ON points_redemption (workspace, reward_id, id)",
    "CREATE INDEX IF NOT EXISTS points_tier_change_member ON points_tier_change (workspace, member_id, id)",
    "CREATE INDEX IF NOT EXISTS points_tier_change_pending ON points_tier_change (id) WHERE applied_at IS NULL",
    "CREATE INDEX IF NOT EXISTS points_checkin_member ON points_checkin (workspace, member_id, day DESC)",
]

#: (table, constraint name, condition that must hold for every row)
CHECKS = [
    ("points_account", "points_account_balance_nonnegative", "balance >= 0"),
    ("points_account", "points_account_lifetime_nonnegative", "lifetime >= 0"),
    ("points_lot", "points_lot_remaining_in_range", "remaining >= 0 AND remaining <= amount"),
    ("points_reward", "points_reward_stock_nonnegative", "stock IS NULL OR stock >= 0"),
    ("points_reward", "points_reward_cost_positive", "cost > 0"),
    (
        "points_transaction",
        "points_transaction_kind",
        "kind IN ('award', 'redeem', 'expire', 'adjust', 'reverse') AND amount <> 0",
    ),
]


def _sqlite_triggers(table: str, name: str, condition: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {name}_{event.lower()} BEFORE {event} ON {table} "
        f"WHEN NOT ({_new(condition)}) "
        f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END"
        for event in ("INSERT", "UPDATE")
    ]


def _new(condition: str) -> str:
    """The condition with its columns read from the ``NEW`` row of a trigger."""
    out = condition
    for column in ("balance", "lifetime", "remaining", "amount", "stock", "cost", "kind"):
        out = out.replace(column, f"NEW.{column}")
    return out


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="points", description=DESCRIPTION)

    async def constrain() -> None:
        engine = engine_finder()
        assert engine is not None
        for statement in INDEXES:
            await engine.run_querystring(QueryString(statement))
        for table, name, condition in CHECKS:
            if isinstance(engine, PostgresEngine):
                statements = [f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({condition})"]
            else:
                statements = _sqlite_triggers(table, name, condition)
            for statement in statements:
                await engine.run_querystring(QueryString(statement))

    manager.add_raw(constrain)
    return manager
