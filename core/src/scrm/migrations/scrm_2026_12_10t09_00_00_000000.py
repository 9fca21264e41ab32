"""consents: the consent door's refusal counters (``scrm_contact_refusal``); their unique index is in
the next migration (piccolo runs raw steps before it creates tables)."""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, BigSerial, Varchar

from scrm.migrating import add_table

ID = "2026-12-10T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "consents: refused contact attempts, counted"

COLUMNS: list[tuple[str, Any, dict[str, Any]]] = [
    ("id", BigSerial, {"null": False, "primary_key": True}),
    ("workspace", BigInt, {"default": 0}),
    ("day", Varchar, {"length": 10, "default": ""}),
    ("purpose", Varchar, {"length": 64, "default": ""}),
    ("channel", Varchar, {"length": 32, "default": ""}),
    ("reason", Varchar, {"length": 200, "default": ""}),
    ("refused", BigInt, {"default": 0}),
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="scrm", description=DESCRIPTION)
    add_table(manager, "ContactRefusal", "scrm_contact_refusal", COLUMNS)
    return manager
