"""Writing a migration that creates tables without piccolo's generated boilerplate:
``scrm.add_table(manager, class_name, tablename, columns)`` adds the table and each column
(``scrm.add_columns`` adds columns to a table there already), the
columns given as ``(name, column class, params)`` with only the params that differ from piccolo's
defaults (not null, no index, not unique…). What it records is what ``piccolo migrations new --auto``
would have, so later auto migrations diff against the right state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.indexes import IndexMethod

#: piccolo's params of a column, as its generated migrations spell them
DEFAULT_PARAMS: dict[str, Any] = {
    "null": False,
    "primary_key": False,
    "unique": False,
    "index": False,
    "index_method": IndexMethod.btree,
    "choices": None,
    "db_column_name": None,
    "secret": False,
}


def add_table(
    manager: MigrationManager, class_name: str, tablename: str, columns: Sequence[tuple[str, Any, dict[str, Any]]]
) -> None:
    """Add ``tablename`` (its table class named ``class_name``) with ``columns`` to ``manager``."""
    manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
    add_columns(manager, class_name, tablename, columns)


def add_columns(
    manager: MigrationManager, class_name: str, tablename: str, columns: Sequence[tuple[str, Any, dict[str, Any]]]
) -> None:
    """Add ``columns`` to an existing ``tablename`` (a later migration's new columns)."""
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name=class_name,
            tablename=tablename,
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params={**DEFAULT_PARAMS, **params},
            schema=None,
        )
