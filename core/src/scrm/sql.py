"""Raw SQL for plugins, on either engine: ``kernel.sql``.

A plugin's hot statements are written in SQL (one round trip, no ORM building per request), but
SQLite and PostgreSQL spell some things differently. :class:`Sql` is the one place a plugin meets the
difference: a :class:`Statement` carries one text per engine and :meth:`Sql.run` picks the right one;
the fragments (:meth:`Sql.any_of`, :meth:`Sql.rows`, :attr:`Sql.for_update`, :meth:`Sql.least` …)
are portable. Every query joins the transaction the caller opened (``kernel.db.transaction()``, an
event delivery's, an erasure's), so routes, jobs and hooks use it the same way.

Placeholders are ``{}`` (positional, :meth:`Sql.fetch`) or ``{name}`` (named, :meth:`Sql.run`:
each name may appear several times and is bound to the same value).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, overload
from zoneinfo import ZoneInfo

import msgspec

if TYPE_CHECKING:
    from scrm.db import Database


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return str(value.astimezone(UTC))  # the text piccolo stores on SQLite; PostgreSQL parses it
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


_encode = msgspec.json.Encoder(enc_hook=_json_value)


@dataclass(frozen=True)
class Statement:
    """One statement written for each engine; :meth:`Sql.run` runs the one that fits.

    Write both where the engines differ beyond what the fragments cover (``RETURNING`` of a CTE,
    arrays, upserts with expressions); a portable statement is just a ``str``.
    """

    postgres: str
    sqlite: str


class Sql:
    """Run raw SQL on the process's database, whichever engine it is (``kernel.sql``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def postgres(self) -> bool:
        """Whether the engine is PostgreSQL: for the few places where a plugin takes a different
        *algorithm* per engine (one statement on PostgreSQL, steps under SQLite's database-wide
        write lock), not for spelling SQL — use :class:`Statement` and the fragments for that."""
        return self.db.dialect.name == "postgres"

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        """Run SQL with ``{}`` placeholders; rows read like dicts (``row["id"]``)."""
        return await self.db.fetch(sql, *args)

    async def run(self, statement: str | Statement, **values: Any) -> list[Any]:
        """Run a statement (portable, or one text per engine) whose placeholders are named
        (``{ws}``, ``{member}``), each bound to ``values[name]`` however often it appears."""
        text = statement if isinstance(statement, str) else (statement.postgres if self.postgres else statement.sqlite)
        sql, names = _positional(text)
        return await self.db.fetch(sql, *(values[name] for name in names))

    async def one(self, statement: str | Statement, **values: Any) -> Any | None:
        """The first row of :meth:`run`, or None when there is none."""
        rows = await self.run(statement, **values)
        return rows[0] if rows else None

    @property
    def for_update(self) -> str:
        """`` FOR UPDATE`` row locks on PostgreSQL; SQLite's write transaction holds the database."""
        return " FOR UPDATE" if self.postgres else ""

    @property
    def for_share(self) -> str:
        """`` FOR SHARE`` on PostgreSQL: a reader that needs what it read to stay so until its
        transaction ends (a writer waits for it). SQLite's writers are serialised anyway."""
        return " FOR SHARE" if self.postgres else ""

    def least(self, a: str, b: str) -> str:
        """The smaller of two SQL expressions."""
        return f"LEAST({a}, {b})" if self.postgres else f"MIN({a}, {b})"

    def greatest(self, a: str, b: str) -> str:
        """The larger of two SQL expressions."""
        return f"GREATEST({a}, {b})" if self.postgres else f"MAX({a}, {b})"

    def day_bucket(self, column: str, zone: str) -> tuple[str, list[Any]]:
        """A key to group the timestamps of ``column`` by day in the time zone ``zone``: SQL with
        ``{}`` placeholders and their arguments (put them first); :meth:`bucket_day` turns a key
        read back into its date. Several keys may fall on one day (SQLite): add their counts up."""
        return self.db.dialect.day_bucket(column, zone)

    def bucket_day(self, key: Any, zone: str) -> date:
        """The date in ``zone`` of a key from :meth:`day_bucket`."""
        return self.db.dialect.bucket_day(key, ZoneInfo(zone))

    def any_of(self, column: str, values: Iterable[Any], sql_type: str = "bigint") -> tuple[str, Any]:
        """``column`` is one of ``values``: SQL with one ``{}`` argument (the same text, and prepared
        plan, for any count) and that argument. ``sql_type`` is the SQL type (``bigint``, ``text``)."""
        return self.db.dialect.any_of(column, values, sql_type)

    def rows(self, columns: Sequence[tuple[str, str]]) -> str:
        """A table ``x`` with these ``(name, SQL type)`` columns read from one ``{}`` argument made by
        :meth:`encode`: a multi-row write of any size is one statement with one plan."""
        if self.postgres:
            spec = ", ".join(f"{name} {kind}" for name, kind in columns)
            return f"json_to_recordset(CAST({{}} AS json)) AS x({spec})"
        fields = ", ".join(f"json_extract(value, '$.{name}') AS {name}" for name, _ in columns)
        return f"(SELECT {fields} FROM json_each({{}})) AS x"

    def encode(self, rows: Iterable[Mapping[str, Any]]) -> str:
        """Rows as the JSON argument of :meth:`rows`. On SQLite a timestamp is text compared as text,
        so datetimes are written as every other write stores them (UTC, ``2026-12-07 16:00:00+00:00``:
        piccolo's adapter), never JSON's ``…T…Z``, which sorts apart from them within a day."""
        if self.postgres:
            return _encode.encode(list(rows)).decode()
        return _encode.encode([{k: _sqlite_text(v) for k, v in row.items()} for row in rows]).decode()


def _sqlite_text(value: Any) -> Any:
    """A datetime as SQLite stores one (see :meth:`Sql.encode`); anything else as it is."""
    if isinstance(value, datetime):
        return str(value.astimezone(UTC) if value.tzinfo is not None else value)
    return value


@functools.lru_cache(maxsize=256)
def _positional(template: str) -> tuple[str, tuple[str, ...]]:
    """``{name}`` placeholders as ``{}`` ones, and the names in order (parsed once per template)."""
    names = tuple(re.findall(r"\{(\w+)\}", template))
    return re.sub(r"\{\w+\}", "{}", template), names


@overload
def as_datetime(value: None) -> None: ...
@overload
def as_datetime(value: datetime | str) -> datetime: ...
def as_datetime(value: Any) -> datetime | None:
    """A timestamp read back from raw SQL as an aware datetime (SQLite may hand back ISO text); None
    stays None. (A row's value is typed ``Any``, so a NOT NULL column's reads as a ``datetime``.)"""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo is not None else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def as_date(value: Any) -> date:
    """A date read back from raw SQL (SQLite hands back text)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
