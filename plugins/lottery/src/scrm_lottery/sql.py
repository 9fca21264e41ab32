"""Small SQL helpers shared by the lottery's modules: the differences between SQLite and PostgreSQL
the lottery meets, and JSON text columns."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import msgspec

from scrm_lottery.db import Db

_encode = msgspec.json.Encoder()


def now() -> datetime:
    return datetime.now(UTC)


def postgres(db: Db) -> bool:
    return db.dialect.name == "postgres"


def share_lock(db: Db) -> str:
    """``FOR SHARE`` on PostgreSQL: a reader that must see the campaign's state stay as it read it
    until its transaction ends (the draw's state change waits for it). SQLite serialises writers."""
    return " FOR SHARE" if postgres(db) else ""


def update_lock(db: Db) -> str:
    return " FOR UPDATE" if postgres(db) else ""


def any_of(db: Db, column: str, ids: Iterable[int]) -> tuple[str, Any]:
    """``column`` among ``ids``, the list passed as one argument (the same statement for any count)."""
    values = list(ids)
    if postgres(db):
        return f"{column} = ANY({{}}::bigint[])", values
    return f"{column} IN (SELECT value FROM json_each({{}}))", _encode.encode(values).decode()


def least(db: Db, a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if postgres(db) else f"MIN({a}, {b})"


def json_text(value: Any) -> str:
    return _encode.encode(value).decode()


def as_bool(value: Any) -> bool:
    """A boolean column as either engine returns it (SQLite: 0/1)."""
    return bool(value)


def as_time(value: Any) -> datetime:
    """A timestamp as either engine returns it from raw SQL (SQLite may give ISO text)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def maybe_time(value: Any) -> datetime | None:
    return None if value is None else as_time(value)
