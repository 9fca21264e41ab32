"""What nearly every request reads and an operator rarely changes — a workspace's settings and its
active rules — kept in memory for a few seconds, per kernel.

A change made through this process (the API, the console, the demo) is seen at once: the service
forgets the workspace's entry, and again after the change commits (so a request that read the old
row meanwhile cannot keep it). Other processes (a worker delivering events, a second server) see
it within :data:`TTL_S` seconds, the same delay the core gives a revoked API key.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
#: Seconds an entry is used before it is read again from the database.
TTL_S = 5.0


class Recent(Generic[T]):
    """Values by workspace id, each reused for :data:`TTL_S` seconds after it was read."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[float, T]] = {}

    async def get(self, workspace_id: int, load: Callable[[], Awaitable[T]]) -> T:
        entry = self._entries.get(workspace_id)
        now = time.monotonic()
        if entry is not None and entry[0] > now:
            return entry[1]
        value = await load()
        self._entries[workspace_id] = (now + TTL_S, value)
        return value

    def forget(self, workspace_id: int) -> None:
        self._entries.pop(workspace_id, None)
