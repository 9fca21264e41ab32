"""The workspace word list of the core's moderation (敏感词): ``scrm_moderation_term`` (its unique
index is in the next migration: piccolo runs raw steps before it creates tables)."""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, BigSerial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from scrm.migrating import add_table

ID = "2026-12-08T00:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "moderation word list"
TABLE = "scrm_moderation_term"

COLUMNS: list[tuple[str, Any, dict[str, Any]]] = [
    ("id", BigSerial, {"null": False, "primary_key": True}),
    ("workspace", BigInt, {"default": 0}),
    ("term", Varchar, {"length": 100, "default": ""}),
    ("category", Varchar, {"length": 64, "default": "wordlist"}),
    ("severity", Varchar, {"length": 8, "default": "medium"}),
    ("created_at", Timestamptz, {"default": TimestamptzNow()}),
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="scrm", description=DESCRIPTION)
    add_table(manager, "ModerationTerm", TABLE, COLUMNS)
    return manager
