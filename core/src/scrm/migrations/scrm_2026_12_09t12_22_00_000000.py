"""audit: the audit trail (``scrm_audit``) and the head of each workspace's chain
(``scrm_audit_chain``); their indexes are in the next migration (piccolo runs raw steps before it
creates tables)."""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, BigSerial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from scrm.migrating import add_table

ID = "2026-12-09T12:22:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit: the audit trail and its chain heads"

TRAIL: list[tuple[str, Any, dict[str, Any]]] = [
    ("id", BigSerial, {"null": False, "primary_key": True}),
    ("workspace", BigInt, {"default": 0}),
    ("seq", BigInt, {"default": 0}),
    ("at", Timestamptz, {"default": TimestamptzNow()}),
    ("channel", Varchar, {"length": 16, "default": ""}),
    ("actor_kind", Varchar, {"length": 32, "default": ""}),
    ("actor_id", Varchar, {"length": 64, "default": ""}),
    ("actor_label", Varchar, {"length": 200, "default": ""}),
    ("action", Varchar, {"length": 200, "default": ""}),
    ("target_type", Varchar, {"length": 64, "default": ""}),
    ("target_id", Varchar, {"length": 64, "default": ""}),
    ("summary", Text, {"default": "{}"}),
    ("address", Varchar, {"length": 64, "default": ""}),
    ("user_agent", Varchar, {"length": 300, "default": ""}),
    ("prev_hash", Varchar, {"length": 64, "default": ""}),
    ("hash", Varchar, {"length": 64, "default": ""}),
]
HEADS: list[tuple[str, Any, dict[str, Any]]] = [
    ("id", BigSerial, {"null": False, "primary_key": True}),
    ("workspace", BigInt, {"default": 0}),
    ("seq", BigInt, {"default": 0}),
    ("hash", Varchar, {"length": 64, "default": ""}),
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="scrm", description=DESCRIPTION)
    add_table(manager, "AuditRecord", "scrm_audit", TRAIL)
    add_table(manager, "AuditChain", "scrm_audit_chain", HEADS)
    return manager
