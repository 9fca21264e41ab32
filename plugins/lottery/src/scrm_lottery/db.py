"""The database as the lottery's code uses it: ``kernel.db`` in requests, and the same interface over
piccolo's raw queries in hooks, which the core calls without the kernel (:func:`hook_db`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from piccolo.engine import PostgresEngine

from scrm_lottery.tables import Campaign


class Dialect(Protocol):
    @property
    def name(self) -> str: ...


class Db(Protocol):
    """What ``kernel.db`` offers that the lottery uses."""

    @property
    def dialect(self) -> Dialect: ...

    async def fetch(self, sql: str, *args: Any) -> list[Any]: ...

    def transaction(self) -> AbstractAsyncContextManager[None]: ...


@dataclass(frozen=True)
class _Dialect:
    name: str


class TableDb:
    """``fetch`` and ``transaction`` through piccolo on the engine the core bound the lottery's tables
    to; a query inside an open transaction (the erasure's, an event delivery's) joins it."""

    def __init__(self) -> None:
        self.engine = Campaign._meta.db
        self.dialect = _Dialect("postgres" if isinstance(self.engine, PostgresEngine) else "sqlite")

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        rows: list[Any] = await Campaign.raw(sql, *args)
        return rows

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        if self.engine.current_transaction.get() is not None:
            yield
            return
        async with self.engine.transaction():
            yield


def hook_db() -> Db:
    return TableDb()
