"""The per-process cache of API keys and workspaces: short-lived, one load per key at a time."""

from __future__ import annotations

import asyncio

import pytest
from scrm.cache import ShortCache


async def test_concurrent_misses_share_one_load() -> None:
    cache: ShortCache[str, int] = ShortCache(ttl=60)
    loads = 0
    gate = asyncio.Event()

    async def load() -> int:
        nonlocal loads
        loads += 1
        await gate.wait()
        return 42

    waiting = [asyncio.ensure_future(cache.get("k", load)) for _ in range(50)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiting) == [42] * 50
    assert loads == 1
    assert await cache.get("k", load) == 42  # now served from the cache
    assert loads == 1


async def test_entries_expire() -> None:
    cache: ShortCache[str, int] = ShortCache(ttl=0.05)
    values = iter([1, 2])

    async def load() -> int:
        return next(values)

    assert await cache.get("k", load) == 1
    assert await cache.get("k", load) == 1
    await asyncio.sleep(0.1)
    assert await cache.get("k", load) == 2


async def test_a_failed_load_reaches_every_waiter_and_is_not_cached() -> None:
    cache: ShortCache[str, int] = ShortCache(ttl=60)
    calls = 0

    async def failing() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        raise LookupError("gone")

    results = await asyncio.gather(*(cache.get("k", failing) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results)
    assert calls == 1
    with pytest.raises(LookupError):
        await cache.get("k", failing)
    assert calls == 2


async def test_clear_discards_a_load_in_flight() -> None:
    """A revocation while a lookup is running must not be undone by that lookup's stale answer."""
    cache: ShortCache[str, str] = ShortCache(ttl=60)
    gate = asyncio.Event()

    async def stale() -> str:
        await gate.wait()
        return "before the change"

    async def fresh() -> str:
        return "after the change"

    in_flight = asyncio.ensure_future(cache.get("k", stale))
    await asyncio.sleep(0)
    cache.clear()
    gate.set()
    assert await in_flight == "before the change"
    assert await cache.get("k", fresh) == "after the change"
