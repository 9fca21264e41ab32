"""Open polls with their questions, reused for a few seconds by this process to spare a live vote
one round trip per ballot. Safe: what decides a ballot (questions, eligibility, reward) cannot change
once a poll is no longer a draft, and the ballot's own statement re-checks the state and the window;
a cached poll that looks closed is read again before a ballot is refused (its closing time may have
moved)."""

from __future__ import annotations

import scrm
from cachetools import TTLCache

from scrm_polls import polls
from scrm_polls.polls import Poll

_live: TTLCache[tuple[int, int], Poll] = TTLCache(maxsize=10_000, ttl=5.0)


def forget(ws: scrm.WorkspaceRef, poll_id: int) -> bool:
    """Drop the cached poll; whether there was one."""
    return _live.pop((ws.id, poll_id), None) is not None


async def poll(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll_id: int) -> Poll:
    """The poll with its questions, from the cache when it took ballots a moment ago."""
    found = _live.get((ws.id, poll_id))
    if found is None:
        found = await polls.get(kernel, ws, poll_id)
        if found.state in ("open", "scheduled"):
            _live[ws.id, poll_id] = found
    return found
