"""Video entries: whether a contest takes MP4/WebM files, and its own size limit for them."""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-08T01:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "contests video entries"

COLUMNS: list[tuple[str, Any, Any]] = [("allow_video", Boolean, False), ("max_video_bytes", Integer, 20_000_000)]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="contests", description=DESCRIPTION)
    for name, column_class, default in COLUMNS:
        manager.add_column(
            table_class_name="Contest",
            tablename="contests_contest",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params={
                "default": default,
                "null": False,
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
