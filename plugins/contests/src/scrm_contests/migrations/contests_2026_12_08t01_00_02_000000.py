"""Video entries: whether a contest takes MP4/WebM files, and its own size limit for them."""

import scrm
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, Integer

ID = "2026-12-08T01:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "contests video entries"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="contests", description=DESCRIPTION)
    scrm.add_columns(
        manager,
        "Contest",
        "contests_contest",
        [("allow_video", Boolean, {"default": False}), ("max_video_bytes", Integer, {"default": 20_000_000})],
    )
    return manager
