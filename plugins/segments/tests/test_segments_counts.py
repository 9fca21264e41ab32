"""Counts read the members' profiles (``segments_profile``), not ``scrm_member``: they must agree
with the member list (the same definition over member rows) for every clause, ``not`` included;
RFM ranges compiled into column ranges must equal the scores; the stage counts kept with each move
must equal the profiles per stage, through moves and erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import scrm
from scrm_segments import clock, config, definition, lifecycle
from segments_helpers import BASE, count, events, members_of, settle


async def _fixture(kernel: scrm.Kernel, tenant: Any) -> list[int]:
    """Seven members: no order; one order, small and old; two orders; three; five, recent and big…"""
    await tenant.enable("segments")
    now = datetime.now(UTC)
    ids = [(await tenant.member(display_name=f"M{i}", tags=["vip"] if i % 2 else []))["id"] for i in range(7)]
    plan = [  # (orders, amount each, days ago of the last)
        (0, 0, 0),
        (1, 50, 200),
        (2, 90, 100),
        (3, 110, 40),
        (5, 250, 10),
        (10, 400, 2),
        (4, 20, 0),
    ]
    for member, (orders, amount, ago) in zip(ids, plan, strict=True):
        items = [(member, "order.paid", now - timedelta(days=ago + i), {"amount": amount}) for i in range(orders)]
        if items:
            await events(tenant, *items)
    await events(tenant, (ids[0], "checkin", now - timedelta(days=45), {}))
    await settle(kernel, tenant.id)
    return ids


async def test_rfm_ranges_equal_the_scores(kernel: scrm.Kernel, tenant: Any) -> None:
    await _fixture(kernel, tenant)
    ws = await kernel.workspaces.ref(tenant.slug)
    compiler = definition.Compiler(kernel, ws, await config.load(kernel, ws.id), clock.now())
    for which in ("r", "f", "m"):
        expression, args = compiler.score(which)
        rows = await kernel.sql.fetch(
            f"SELECT {expression} AS s FROM segments_profile WHERE workspace = {{}}", *args, ws.id
        )
        scores = [int(r["s"]) for r in rows]
        assert len(set(scores)) >= 3, scores  # the fixture spreads the scores
        for low in range(6):
            for high in range(low, 6):
                expected = sum(1 for s in scores if low <= s <= high)
                tree = {"rfm": {"score": which, "min": low, "max": high}}
                assert await count(tenant, tree) == expected, (which, low, high)
                assert await count(tenant, {"not": tree}) == len(scores) - expected, (which, low, high)


async def test_a_count_equals_the_member_list(kernel: scrm.Kernel, tenant: Any) -> None:
    await _fixture(kernel, tenant)
    for tree in (
        {"tag": "vip"},
        {"not": {"tag": "vip"}},
        {"active": {"within_days": 30}},
        {"active": {"before_days": 30}},  # the members who never engaged included
        {"not": {"active": {"before_days": 30}}},
        {"joined": {"before_days": 1}},
        {"cluster": 0},
        {"not": {"cluster": 0}},  # no cluster computed yet: everyone
        {"events": {"type": "order.paid", "within_days": 30, "min": 2}},
        {"events": {"type": "order.paid", "within_days": 30, "min": 0, "max": 1}},
        {"any": [{"tag": "vip"}, {"stage": ["silent", "churned"]}]},
        {"all": [{"rfm": {"score": "m", "min": 3}}, {"not": {"stage": "churned"}}]},
        {"attribute": {"key": "city", "exists": False}},
    ):
        created = await tenant.post(BASE, {"name": str(tree), "definition": tree})
        assert created.status_code == 201, created.text
        listed = await members_of(tenant, created.json()["id"])
        counted = (await tenant.get(f"{BASE}/{created.json()['id']}/count")).json()
        assert counted["count"] == len(listed), tree
        assert counted["members"] == 7


async def test_stage_counts_follow_moves_and_erasure(kernel: scrm.Kernel, tenant: Any, other: Any) -> None:
    ids = await _fixture(kernel, tenant)
    await other.enable("segments")
    await other.member(display_name="Elsewhere")
    await settle(kernel, other.id)
    assert (await tenant.delete(f"/api/v1/members/{ids[3]}")).status_code == 204
    await kernel.sql.fetch(  # a month later for two of them: the hourly pass moves them
        "UPDATE segments_profile SET joined_at = {}, ref_at = {} WHERE workspace = {} AND member_id IN ({}, {})",
        clock.now() - timedelta(days=60),
        clock.now() - timedelta(days=60),
        tenant.id,
        ids[1],
        ids[2],
    )
    ws = await kernel.workspaces.ref(tenant.slug)
    assert await lifecycle.advance(kernel, ws) == 2
    await settle(kernel, tenant.id)
    truth = await kernel.sql.fetch(
        "SELECT stage, COUNT(*) AS n FROM segments_profile WHERE workspace = {} GROUP BY stage", tenant.id
    )
    stages = {s["stage"]: s["members"] for s in (await tenant.get(f"{BASE}/stages")).json()}
    assert stages == {"new": 4, "active": 0, "silent": 2, "churned": 0}
    assert stages == {**dict.fromkeys(stages, 0), **{r["stage"]: int(r["n"]) for r in truth}}
    assert (await tenant.post(f"{BASE}/preview", {"definition": {"tag": "vip"}})).json()["members"] == 6
    assert {s["stage"]: s["members"] for s in (await other.get(f"{BASE}/stages")).json()}["new"] == 1
