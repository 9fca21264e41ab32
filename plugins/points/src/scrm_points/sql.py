"""SQL access for the plugin's own tables, on either engine.

Everything goes through ``kernel.db.fetch`` (straight to asyncpg on PostgreSQL), which joins the
transaction the caller opened (a route's, the event delivery's, the erasure's): routes, jobs and
hooks all have the kernel. Multi-row writes pass their rows as one JSON argument, read back as a table (``json_to_recordset``
on PostgreSQL, ``json_each`` on SQLite), so a batch of any size is one statement with one plan.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import msgspec
import scrm

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

    async def run(self, template: str, **values: Any) -> list[Any]:
        """Run SQL whose placeholders are named (``{ws}``, ``{member}``), each as often as it
        appears: for the long statements of the hot paths, which use a value in several places."""
        sql, names = _positional(template)
        return await self.fetch(sql, *(values[name] for name in names))

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


@functools.lru_cache(maxsize=64)
def _positional(template: str) -> tuple[str, tuple[str, ...]]:
    """``{name}`` placeholders as ``{}`` ones, and the names in order (parsed once per template)."""
    names = tuple(re.findall(r"\{(\w+)\}", template))
    return re.sub(r"\{\w+\}", "{}", template), names


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
