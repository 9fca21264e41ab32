"""The async client enters members into a lottery concurrently, draws, and verifies the draw with
``scrm_sdk.lottery.verify`` — which shares no code with the server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
import scrm_sdk
from scrm.testing import Tenant
from scrm_sdk.lottery import VerificationError
from sdk_server import server

__all__ = ["server"]


async def test_enter_concurrently_draw_and_verify(server: str, tenant: Tenant) -> None:
    await tenant.enable("lottery")
    now = datetime.now(UTC)
    async with scrm_sdk.AsyncClient(server, api_key=tenant.key) as scrm:
        members = await asyncio.gather(*(scrm.members.create_member({"external_id": f"l-{i}"}) for i in range(30)))
        campaign = await scrm.lottery.create_campaign(
            {
                "name": "SDK draw",
                "opens_at": (now - timedelta(minutes=1)).isoformat(),
                "closes_at": (now + timedelta(hours=1)).isoformat(),
                "prizes": [{"name": "Tea", "quantity": 2}, {"name": "Mug", "quantity": 3}],
            }
        )
        await scrm.lottery.open_campaign(campaign.id, {})
        await asyncio.gather(*(scrm.lottery.enter(campaign.id, {"member_id": m.id}) for m in members))
        assert (await scrm.lottery.count_entries(campaign.id)).entries == 30
        await scrm.lottery.close_campaign(campaign.id)
        result = await scrm.lottery.draw(campaign.id, {})
        export = await scrm.lottery.export_entries(campaign.id)
        winners = [w async for w in scrm.lottery.iter_list_winners(campaign.id, limit=2)]
    verified = scrm_sdk.lottery.verify(export)
    assert verified.campaign_id == campaign.id
    assert verified.entry_count == 30
    assert [w.member_id for w in verified.winners] == [w.member_id for w in result.winners]
    assert sorted(w.member_id for w in winners) == sorted(w.member_id for w in verified.winners)
    assert scrm_sdk.lottery.verify(json.loads(export)).winners == verified.winners

    facts = json.loads(export)
    for field, value, message in [
        ("seed", "00" * 32, "commitment"),
        ("winners", list(reversed(facts["winners"])), "winners"),
        ("member_ids", [*facts["member_ids"][:-1], facts["member_ids"][-1] + 1], "hash"),
        ("algorithm", "another", "algorithm"),
    ]:
        with pytest.raises(VerificationError, match=message):
            scrm_sdk.lottery.verify({**facts, field: value})
    with pytest.raises(VerificationError, match="not a lottery export"):
        scrm_sdk.lottery.verify(b"{}")


def test_the_reimplemented_draw_agrees_with_the_servers() -> None:
    """Weighted and unweighted draws, with and without a public value, on random entries."""
    import random

    from scrm_lottery import fairness

    rng = random.Random(7)  # reproducible test data, no secrets
    for case in range(40):
        n = rng.randrange(0, 60)
        member_ids = sorted(rng.sample(range(1, 10_000), n))
        tickets = [rng.choice([1, 1, 2, 5, 40]) if case % 2 else 1 for _ in member_ids]
        quantities = [rng.randrange(1, 4) for _ in range(rng.randrange(1, 4))]
        seed = rng.randbytes(32)
        value = "public value" if case % 3 == 0 else None
        expected = fairness.draw(fairness.draw_seed(seed, value), member_ids, tickets, quantities)
        source = "drand round 1: x" if value else None
        export = {
            "campaign_id": case,
            "name": "c",
            "algorithm": fairness_algorithm(),
            "commitment": fairness.commitment(seed, source),
            "seed": seed.hex(),
            "entries_hash": fairness.entries_hash(member_ids, tickets),
            "entry_count": n,
            "quantities": quantities,
            "member_ids": member_ids,
            "tickets": tickets,
            "winners": [w.member_id for w in expected],
            "public_source": {"description": "x", "drand_round": 1} if value else None,
            "public_value": value,
        }
        got = scrm_sdk.lottery.verify(export).winners
        assert [(w.rank, w.prize, w.member_id, w.tickets) for w in got] == [
            (w.rank, w.prize, w.member_id, w.tickets) for w in expected
        ]


def fairness_algorithm() -> str:
    from scrm_lottery.draws import ALGORITHM

    return ALGORITHM
