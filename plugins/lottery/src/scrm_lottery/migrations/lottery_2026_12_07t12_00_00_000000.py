"""A campaign's public randomness source and the value its draw used (see ``fairness``)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "lottery public randomness source"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="lottery", description=DESCRIPTION)
    for column in ("public_source", "public_value"):
        manager.add_column(
            table_class_name="Campaign",
            tablename="lottery_campaign",
            column_name=column,
            db_column_name=column,
            column_class_name="Text",
            column_class=Text,
            params={
                "default": None,
                "null": True,
                "primary_key": False,
                "unique": False,
                "index": False,
                "index_method": IndexMethod.btree,
                "choices": None,
                "db_column_name": None,
                "secret": False,
            },
            schema=None,
        )
    return manager
