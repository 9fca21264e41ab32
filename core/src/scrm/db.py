"""The database: one piccolo engine per process, bound to the core's and every plugin's tables.

``configure()`` builds the engine from :class:`Settings` and points all tables (and piccolo's own
migration machinery, through :mod:`scrm.piccolo_conf`) at it, so the same code runs on SQLite and
PostgreSQL. Where SQL must differ between the two, :class:`Dialect` holds the difference.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import os
import sqlite3
import sys
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import msgspec
from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import AppConfig, AppRegistry
from piccolo.engine import Engine, PostgresEngine, SQLiteEngine
from piccolo.querystring import QueryString
from piccolo.table import Table

from scrm import piccolo_conf
from scrm.settings import DatabaseURL

SQLITE_BUSY_TIMEOUT_S = 30
_QUARTER_HOUR = 900  # seconds
log = logging.getLogger("scrm.db")
#: Callbacks to run once the current (outermost) transaction has committed.
_after_commit: contextvars.ContextVar[list[Callable[[], Awaitable[None]]] | None] = contextvars.ContextVar(
    "scrm_after_commit", default=None
)
#: What the current (outermost) transaction carries for those who take part in it (see
#: :meth:`Database.transaction_state`).
_tx_state: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("scrm_tx_state", default=None)


@dataclass(frozen=True)
class Dialect:
    """The SQL that differs between SQLite and PostgreSQL, in one place."""

    name: str  # "sqlite" or "postgres"

    def json_text_equals(self, column: str, key: str, value: str) -> tuple[str, list[Any]]:
        """SQL (and its arguments) comparing the text form of ``column[key]`` with ``value``.

        Both engines compare the same text: JSON booleans read ``true``/``false`` (SQLite's
        json_extract alone would give 1/0), numbers their JSON spelling, strings unquoted.
        """
        if self.name == "postgres":
            return f"({column} ->> CAST({{}} AS text)) = {{}}", [key, value]
        path = f'$."{key}"'
        sql = (
            f"(CASE json_type({column}, {{}}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
            f"ELSE CAST(json_extract({column}, {{}}) AS TEXT) END) = {{}}"
        )
        return sql, [path, path, value]

    def json_has_value(self, column: str, value: str) -> tuple[str, list[Any]]:
        """SQL (and its arguments) testing whether any top-level value of the JSON object
        ``column`` is the string ``value``.

        On PostgreSQL a jsonpath (``@?``), which a GIN index in the default ``jsonb_ops`` class
        serves (``jsonb_path_ops`` cannot: it hashes each value with its key, and the key is unknown).
        """
        if self.name == "postgres":
            return f"{column} @? CAST({{}} AS jsonpath)", [f"$.* ? (@ == {_json_dumps(value).decode()})"]
        return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = {{}})", [value]

    def like_prefix(self, column: str) -> str:
        """Case-insensitive prefix match of ``column`` against a pattern from :func:`prefix_pattern`."""
        return f"lower({column}) LIKE {{}} ESCAPE '\\'"

    def any_of(self, column: str, values: Iterable[Any], sql_type: str) -> tuple[str, Any]:
        """SQL testing ``column`` against a list of values, with the list as one argument, so the
        statement text (and its prepared plan) is the same for any number of values.
        ``sql_type`` is ``bigint`` or ``text``."""
        if self.name == "postgres":
            return f"{column} = ANY({{}}::{sql_type}[])", list(values)
        return f"{column} IN (SELECT value FROM json_each({{}}))", _json_dumps(list(values)).decode()

    def json_array_length(self, column: str) -> str:
        """The length of the JSON array held (as text) in ``column``."""
        if self.name == "postgres":
            return f"json_array_length({column}::json)"
        return f"json_array_length({column})"

    def json_array_agg(self, expression: str) -> str:
        """An aggregate collecting ``expression`` into a JSON array (text)."""
        if self.name == "postgres":
            return f"json_agg({expression})::text"
        return f"json_group_array({expression})"

    def day_bucket(self, column: str, zone: str) -> tuple[str, list[Any]]:
        """SQL (and its arguments) of a key to count the timestamps of ``column`` by per day in the time
        zone ``zone``; :meth:`bucket_day` turns a key into its date.

        On PostgreSQL the key is the date itself. SQLite knows no time zones, so there the key is the
        quarter hour (in UTC) the timestamp falls in, and the date is worked out in Python: every time
        zone's offset is a whole number of quarter hours, so both engines count the same days (at most
        96 keys a day reach Python).
        """
        if self.name == "postgres":
            return f"({column} AT TIME ZONE CAST({{}} AS text))::date", [zone]
        return f"CAST(strftime('%s', {column}) AS INTEGER) / {_QUARTER_HOUR}", []

    def bucket_day(self, key: Any, zone: ZoneInfo) -> date:
        """The date in ``zone`` of a key from :meth:`day_bucket`."""
        if isinstance(key, date):  # PostgreSQL's
            return key
        return datetime.fromtimestamp(int(key) * _QUARTER_HOUR, UTC).astimezone(zone).date()


class Database:
    """The process's engine and what was bound to it."""

    def __init__(self, url: DatabaseURL, pool_size: int = 10) -> None:
        self.url = url
        self.pool_size = pool_size
        self.dialect = Dialect(url.dialect)
        self.engine: Engine[Any] = _make_engine(url)
        # Requests queue here, first come first served, rather than on the pool: asyncpg's pool lets
        # a newcomer take a freed connection ahead of those already waiting, which under load
        # starves a few requests for hundreds of milliseconds.
        self._slots = asyncio.Semaphore(pool_size)
        #: run inside every outermost transaction just before it commits (the audit trail records
        #: the write there, so the record and the write commit together or not at all)
        self.before_commit_hooks: list[Callable[[], Awaitable[None]]] = []

    def bind(self, app_configs: Iterable[AppConfig]) -> None:
        """Point every table of these piccolo apps, and piccolo's migration table, at this engine."""
        configs = list(app_configs)
        for config in configs:
            for table in config.table_classes:
                table._meta.db = self.engine
        Migration._meta.db = self.engine
        piccolo_conf.DB = self.engine
        piccolo_conf.APP_REGISTRY = AppRegistry(apps=[_app_module(config) for config in configs])
        os.environ["PICCOLO_CONF"] = piccolo_conf.__name__

    async def start(self) -> None:
        if isinstance(self.engine, PostgresEngine):
            await self.engine.start_connection_pool(min_size=1, max_size=self.pool_size, reset=_keep_session)

    async def stop(self) -> None:
        if isinstance(self.engine, PostgresEngine):
            await self.engine.close_connection_pool()

    async def ping(self) -> bool:
        try:
            await self.engine.run_querystring(_select_one())
        except (OSError, asyncpg.PostgresError, sqlite3.Error):
            return False
        return True

    @asynccontextmanager
    async def transaction(self, on_duplicate: Exception | None = None) -> AsyncIterator[None]:
        """A write transaction; on SQLite it takes the write lock at once (``BEGIN IMMEDIATE``).

        ``on_duplicate`` is raised instead of a unique-constraint violation (after the rollback).
        A transaction opened inside another joins it; callbacks given to :meth:`after_commit` run
        when the outermost one has committed.
        """
        if _after_commit.get() is not None:  # join the enclosing transaction
            try:
                yield
            except Exception as exc:
                if on_duplicate is not None and is_unique_violation(exc):
                    raise on_duplicate from None
                raise
            return
        callbacks: list[Callable[[], Awaitable[None]]] = []
        token = _after_commit.set(callbacks)
        state_token = _tx_state.set({})
        try:
            if isinstance(self.engine, SQLiteEngine):
                async with self.engine.transaction(transaction_type=_IMMEDIATE):
                    yield
                    await self._before_commit()
            else:
                async with self._slot(), self.engine.transaction():
                    yield
                    await self._before_commit()
        except Exception as exc:
            if on_duplicate is not None and is_unique_violation(exc):
                raise on_duplicate from None
            raise
        finally:
            _tx_state.reset(state_token)
            _after_commit.reset(token)
        for callback in callbacks:
            try:
                await callback()
            except Exception:
                log.exception("an after-commit callback failed")

    async def _before_commit(self) -> None:
        for hook in self.before_commit_hooks:
            await hook()

    def transaction_state(self) -> dict[str, Any]:
        """A dict that lives as long as the current (outermost) transaction: where a participant
        keeps what it must act on before the commit (the audit trail's notes). Raises outside one."""
        state = _tx_state.get()
        if state is None:
            raise RuntimeError("transaction_state() needs an open transaction (kernel.db.transaction())")
        return state

    def in_transaction(self) -> bool:
        """Whether this task is inside :meth:`transaction`."""
        return _after_commit.get() is not None

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` once the current transaction has committed (not if it rolls back).
        Raises outside a transaction: work that must follow a commit needs one to follow."""
        callbacks = _after_commit.get()
        if callbacks is None:
            raise RuntimeError("after_commit() needs an open transaction (kernel.db.transaction())")
        callbacks.append(callback)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        """Run SQL with ``{}`` placeholders; returns rows that read like dicts (``row["id"]``).

        On PostgreSQL the statement goes straight to asyncpg (placeholders numbered once per
        statement text, then cached; asyncpg caches the prepared statement), since piccolo's query
        building was a third of a member lookup's time in a profile. SQLite goes through piccolo.
        """
        engine = self.engine
        if isinstance(engine, PostgresEngine):
            transaction = engine.current_transaction.get()
            if transaction is not None:
                return await transaction.connection.fetch(_numbered(sql), *args)  # type: ignore[no-any-return]
            if engine.pool is not None:
                async with self._slots:
                    return await engine.pool.fetch(_numbered(sql), *args)  # type: ignore[no-any-return]
        async with self._slot():
            rows: list[Any] = await engine.run_querystring(QueryString(sql, *args))
        return rows or []

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """A turn at a pooled connection, unless this task already holds one (in a transaction)."""
        if self.dialect.name != "postgres" or self.engine.current_transaction.get() is not None:
            yield
            return
        async with self._slots:
            yield


_json_dumps = msgspec.json.Encoder().encode


@functools.lru_cache(maxsize=2048)
def _numbered(sql: str) -> str:
    """``{}`` placeholders as asyncpg's ``$1, $2, …``."""
    parts = sql.split("{}")
    return "".join(f"{part}${i}" for i, part in enumerate(parts[:-1], 1)) + parts[-1]


async def _keep_session(connection: asyncpg.Connection) -> None:
    """How a pooled connection is reset on release: asyncpg rolls back an open transaction first;
    the rest of its default reset (``RESET ALL``, ``UNLISTEN *``, …: one more round trip per query)
    is skipped, since scrm never changes session state — plugins must not either (use ``SET LOCAL``
    inside a transaction)."""


def _app_module(config: AppConfig) -> str:
    """piccolo finds apps by module path; plugins hand us an AppConfig, so give each a module."""
    name = f"scrm.piccolo_apps.{config.app_name}"
    module = types.ModuleType(name)
    module.APP_CONFIG = config  # type: ignore[attr-defined]
    sys.modules[name] = module
    return name


def _select_one() -> Any:
    return QueryString("SELECT 1")


#: what a database that cannot be reached raises: down, restarting, refusing connections, out of
#: them, or not (yet) holding the database or role the URL names — all of which may pass
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.OperatorInterventionError,
    asyncpg.InsufficientResourcesError,
    asyncpg.InvalidCatalogNameError,
    asyncpg.InvalidAuthorizationSpecificationError,
)


class _PostgresEngine(PostgresEngine):
    """piccolo's engine without the version check its constructor makes: a blocking connection
    before the server has started, which with the database down printed a warning and could wait
    a minute. The pool's start (:meth:`Database.start`) is where scrm meets the database first."""

    async def check_version(self) -> None:
        return None


def _make_engine(url: DatabaseURL) -> Engine[Any]:
    if url.dialect == "sqlite":
        assert url.path is not None
        url.path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=str(url.path), timeout=SQLITE_BUSY_TIMEOUT_S)
    config: dict[str, Any] = {"host": url.host, "port": url.port, "user": url.user, "database": url.database}
    if url.password:
        config["password"] = url.password
    return _PostgresEngine(config=config, log_queries=False)


from piccolo.engine.sqlite import TransactionType  # noqa: E402

_IMMEDIATE = TransactionType.immediate


def prefix_pattern(text: str) -> str:
    """A LIKE pattern matching strings that start with ``text``, case-insensitively."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def is_unique_violation(exc: BaseException) -> bool:
    """Whether a database error is a unique-constraint violation, on either engine."""
    if isinstance(exc, asyncpg.UniqueViolationError):
        return True
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)


def all_tables(app_configs: Iterable[AppConfig]) -> list[type[Table]]:
    return [table for config in app_configs for table in config.table_classes]
