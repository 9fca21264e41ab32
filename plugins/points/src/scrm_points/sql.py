"""SQL access for the plugin's own tables, on either engine.

Routes and jobs have the kernel and go through ``kernel.db.fetch`` (straight to asyncpg on
PostgreSQL). Hooks receive no kernel, so they reach the same tables through piccolo's engine, which
the core bound to them: both join the transaction the caller opened (the delivery's, the erasure's).
Multi-row writes pass their rows as one JSON argument, read back as a table (``json_to_recordset``
on PostgreSQL, ``json_each`` on SQLite), so a batch of any size is one statement with one plan.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import msgspec
import scrm
from piccolo.engine import PostgresEngine
from piccolo.querystring import QueryString

from scrm_points.tables import Account

Fetch = Callable[..., Awaitable[list[Any]]]
_encode = msgspec.json.Encoder(enc_hook=lambda value: _json_value(value))


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return str(value.astimezone(UTC))  # the text piccolo stores on SQLite; PostgreSQL parses it
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


@dataclass(frozen=True)
class Sql:
    """A way to run SQL (``{}`` placeholders) and the engine's name (``postgres`` or ``sqlite``)."""

    fetch: Fetch
    dialect: str

    @classmethod
    def of(cls, kernel: scrm.Kernel) -> Sql:
        return cls(kernel.db.fetch, kernel.db.dialect.name)

    @classmethod
    def bound(cls) -> Sql:
        """Through piccolo's engine bound to the plugin's tables (for hooks, which get no kernel)."""
        engine = Account._meta.db

        async def fetch(sql: str, *args: Any) -> list[Any]:
            rows = await engine.run_querystring(QueryString(sql, *args))
            return list(rows or [])

        return cls(fetch, "postgres" if isinstance(engine, PostgresEngine) else "sqlite")

    @property
    def postgres(self) -> bool:
        return self.dialect == "postgres"

    @property
    def for_update(self) -> str:
        """Row locks on PostgreSQL; SQLite's write transaction already holds the whole database."""
        return " FOR UPDATE" if self.postgres else ""

    def rows(self, columns: Sequence[tuple[str, str]]) -> str:
        """A table ``x`` with these ``(name, SQL type)`` columns, read from one JSON argument that
        :meth:`encode` makes of the rows."""
        if self.postgres:
            spec = ", ".join(f"{name} {kind}" for name, kind in columns)
            return f"json_to_recordset(CAST({{}} AS json)) AS x({spec})"
        fields = ", ".join(f"json_extract(value, '$.{name}') AS {name}" for name, _ in columns)
        return f"(SELECT {fields} FROM json_each({{}})) AS x"

    @staticmethod
    def encode(rows: Iterable[Mapping[str, Any]]) -> str:
        return _encode.encode(list(rows)).decode()

    def any_of(self, column: str, values: Iterable[Any], kind: str = "bigint") -> tuple[str, Any]:
        """``column`` is one of ``values``, as SQL with one argument (the same text for any count)."""
        if self.postgres:
            return f"{column} = ANY(CAST({{}} AS {kind}[]))", list(values)
        return f"{column} IN (SELECT value FROM json_each({{}}))", _encode.encode(list(values)).decode()


def as_datetime(value: Any) -> datetime | None:
    """A timestamp read back from SQL (SQLite hands computed columns back as text)."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
