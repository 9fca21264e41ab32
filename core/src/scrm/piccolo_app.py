"""The core's piccolo app: its tables and migrations (``scrm migrate`` applies them first)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from scrm.tables import CORE_TABLES

APP_CONFIG = AppConfig(
    app_name="scrm",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=CORE_TABLES,
    migration_dependencies=[],
    commands=[],
)
