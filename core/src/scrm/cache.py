"""A short-lived, per-process cache for the lookups every request makes (API key, workspace).

Entries live a few seconds so a change made by another process shows up quickly — at once when Redis
is configured, through :class:`ForgetBroadcast` — and concurrent
misses for one key share a single load: when an entry expires under load, one query refreshes it
instead of every waiting request queueing its own on the connection pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import redis.asyncio
import redis.exceptions
from cachetools import TTLCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_MISSING = object()
log = logging.getLogger("scrm")


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


#: the Redis channel on which a process announces that cached credentials and workspaces changed
CHANNEL = "scrm:caches:forget"
#: seconds before listening again after Redis went away
RECONNECT_S = 1.0


class ForgetBroadcast:
    """Tells every process sharing Redis to drop its short caches when a key, a token, an app, a
    workspace or its plugins change, so a revocation takes effect everywhere at once instead of
    when the entries expire.

    Redis pub/sub is at most once: a process that was not listening (Redis restarting, the connection
    lost) drops its caches when it listens again, and anything missed meanwhile still expires with
    the cache's TTL — the bound without Redis, and the worst case with it. Without ``redis_url`` it
    does nothing.
    """

    def __init__(self, redis_url: str | None, forget: Callable[[], None]) -> None:
        self.redis_url = redis_url
        self.forget = forget
        self._client: redis.asyncio.Redis | None = None
        self._listener: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        #: set once subscribed (tests wait for it)
        self.listening = asyncio.Event()

    async def start(self) -> None:
        if self.redis_url is None:
            return
        # a connection of its own, without a read timeout: a subscriber waits for messages indefinitely
        self._client = redis.asyncio.Redis.from_url(self.redis_url, socket_connect_timeout=1, health_check_interval=30)
        self._listener = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def announce(self) -> None:
        """Tell the other processes (and this one: harmless) to forget; a lost Redis only delays
        them to the TTL."""
        if self._client is None:
            return
        try:
            await self._client.publish(CHANNEL, b"forget")
        except (redis.exceptions.RedisError, OSError) as exc:
            log.warning("cached credentials elsewhere expire on their own (Redis unavailable: %s)", exc)

    def announce_soon(self) -> None:
        """:meth:`announce` from synchronous code, in the background."""
        if self._client is None:
            return
        task = asyncio.get_running_loop().create_task(self.announce())
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _listen(self) -> None:
        assert self._client is not None
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self.forget()  # whatever was missed while not listening
                    self.listening.set()
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self.forget()
            except (redis.exceptions.RedisError, OSError) as exc:
                self.listening.clear()
                log.warning("not hearing cache changes from other processes (%s); retrying", exc)
                await asyncio.sleep(RECONNECT_S)
