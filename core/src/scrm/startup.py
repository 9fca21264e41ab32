"""A server's start when the database may not answer yet.

An orchestrator starts scrm and its database together, and the database is often the slower. So a
server whose database cannot be reached does not exit: it logs one line naming the problem, serves
(``/readyz`` answers 503, API calls 503), and keeps trying with backoff; once the database answers it
starts for real and becomes ready. The orchestrator sees a process not ready yet, not a crash loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from scrm.db import UNREACHABLE

log = logging.getLogger("scrm")
FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0


class Startup:
    """Whether the process has started (``ready``), and the retries until it has."""

    def __init__(self, database: str, start: Callable[[], Awaitable[None]]) -> None:
        self.database = database
        self.ready = False
        self._start = start

    async def attempt(self) -> BaseException | None:
        """Start, unless the database cannot be reached: then what it raised."""
        try:
            await self._start()
        except UNREACHABLE as exc:
            return exc
        self.ready = True
        return None

    async def retry(self, first: BaseException) -> None:
        """Attempt again after 1, 2, 4 … 30 seconds until it works; a new reason is logged again."""
        delay, reason = FIRST_DELAY_S, _reason(first)
        log.error("the database %s cannot be reached (%s); not ready, retrying with backoff", self.database, reason)
        while True:
            await asyncio.sleep(delay)
            failed = await self.attempt()
            if failed is None:
                log.info("the database %s answers: ready", self.database)
                return
            if _reason(failed) != reason:
                reason = _reason(failed)
                log.error("the database %s still cannot be reached (%s); retrying", self.database, reason)
            delay = min(delay * 2, MAX_DELAY_S)


@asynccontextmanager
async def start_when_reachable(
    database: str, start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]]
) -> AsyncIterator[Startup]:
    """Run ``start`` now, or — when the database cannot be reached — in the background until it can;
    at the end, ``stop`` what has started."""
    startup = Startup(database, start)
    failed = await startup.attempt()
    retrying = None if failed is None else asyncio.create_task(startup.retry(failed), name="scrm startup")
    try:
        yield startup
    finally:
        if retrying is not None:
            retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retrying
        if startup.ready:
            await stop()


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
