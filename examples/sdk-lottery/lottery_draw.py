"""Enter 1,000 members into a lottery concurrently with the async SDK, draw, and verify the draw.

    python lottery_draw.py http://127.0.0.1:8000 API_KEY [--members 1000] [--concurrency 50]

The key needs the scopes members:write, plugins:write, lottery:write and lottery:admin (an all-scopes
key of a test workspace will do). The script imports the members, enables the lottery plugin, opens a
campaign, enters every member concurrently (at most ``--concurrency`` requests in flight), closes and draws
it, then checks the published draw with ``scrm_sdk.lottery.verify`` — which re-runs it without any of
the server's code — and prints the winners.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import scrm_sdk

T = TypeVar("T")


async def bounded(limit: int, calls: list[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run the calls concurrently, at most ``limit`` at a time."""
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    return await asyncio.gather(*(one(call) for call in calls))


async def run(url: str, key: str, members: int, concurrency: int) -> scrm_sdk.lottery.Verified:
    run_id = secrets.token_hex(3)
    began = time.perf_counter()
    async with scrm_sdk.AsyncClient(url, api_key=key, timeout=60) as api:
        await api.plugins.set_plugin({"name": "lottery", "enabled": True})
        tag = f"draw-{run_id}"  # the members of this run, imported in one request
        rows = "".join(json.dumps({"external_id": f"{tag}-{i}", "tags": [tag]}) + "\n" for i in range(members))
        await api.members.import_members(rows, content_type="application/x-ndjson")
        created = [m async for m in api.members.iter_list_members(tag=[tag], limit=500)]
        now = datetime.now(UTC)
        campaign = await api.lottery.create_campaign(
            {
                "name": f"Draw of {members}",
                "opens_at": (now - timedelta(minutes=1)).isoformat(),
                "closes_at": (now + timedelta(days=1)).isoformat(),
                "prizes": [{"name": "Grand prize", "quantity": 1}, {"name": "Voucher", "quantity": 10}],
            }
        )
        await api.lottery.open_campaign(campaign.id, {})
        await bounded(concurrency, [lambda m=m: api.lottery.enter(campaign.id, {"member_id": m.id}) for m in created])
        count = await api.lottery.count_entries(campaign.id)
        await api.lottery.close_campaign(campaign.id)
        result = await api.lottery.draw(campaign.id, {})
        export = await api.lottery.export_entries(campaign.id)
    verified = scrm_sdk.lottery.verify(export)  # raises VerificationError if anything does not check out
    assert [w.member_id for w in verified.winners] == [w.member_id for w in result.winners]
    print(f"{count.entries} entries, drawn and verified in {time.perf_counter() - began:.1f} s")
    for winner in verified.winners:
        print(f"  rank {winner.rank}: member {winner.member_id} wins prize {winner.prize}")
    return verified


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("key")
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(run(args.url, args.key, args.members, args.concurrency))


if __name__ == "__main__":
    main()
