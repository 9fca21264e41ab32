"""A short-lived, per-process cache for the lookups every request makes (API key, workspace).

Entries live a few seconds so a change made by another process shows up quickly, and concurrent
misses for one key share a single load: when an entry expires under load, one query refreshes it
instead of every waiting request queueing its own on the connection pool.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_MISSING = object()


class ShortCache(Generic[K, V]):
    """Values reused for ``ttl`` seconds, loaded once however many callers miss at the same time."""

    def __init__(self, ttl: float, maxsize: int = 10_000) -> None:
        self._values: TTLCache[K, V] = TTLCache(maxsize=maxsize, ttl=ttl)
        self._loading: dict[K, asyncio.Future[V]] = {}
        self._generation = 0

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        value = self._values.get(key, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[return-value]
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(load())
            self._loading[key] = pending
            pending.add_done_callback(functools.partial(self._settle, key, self._generation))
        return await asyncio.shield(pending)

    def _settle(self, key: K, generation: int, done: asyncio.Future[V]) -> None:
        if self._loading.get(key) is done:
            del self._loading[key]
        if generation == self._generation and not done.cancelled() and done.exception() is None:
            self._values[key] = done.result()

    def clear(self) -> None:
        """Forget everything, including loads in flight (they started before the change)."""
        self._generation += 1
        self._values.clear()
        self._loading.clear()
