"""Lottery tickets as a reward: the lottery campaign a referral campaign's tickets go to, the tickets
of each role's rule, and the tickets of each reward (both engines).

The first migration creates the tables from their current classes, so a new database has these
columns already: each is added only where it is missing."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-07T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "referrals lottery tickets"

COLUMNS = [
    ("referrals_campaign", "lottery_campaign", "BIGINT NULL"),
    *(
        ("referrals_campaign", f"{role}_tickets", "INTEGER NOT NULL DEFAULT 0")
        for role in ("inviter", "invitee", "second")
    ),
    ("referrals_reward", "tickets", "INTEGER NOT NULL DEFAULT 0"),
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="referrals", description=DESCRIPTION)

    async def add() -> None:
        engine = engine_finder()
        assert engine is not None
        for table, column, kind in COLUMNS:
            if engine.engine_type == "sqlite":
                rows = await engine.run_querystring(QueryString(f"PRAGMA table_info({table})"))
            else:
                rows = await engine.run_querystring(
                    QueryString(
                        "SELECT column_name AS name FROM information_schema.columns WHERE table_name = {}", table
                    )
                )
            if column not in {row["name"] for row in rows}:
                await engine.run_querystring(QueryString(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))

    manager.add_raw(add)
    return manager
