"""A campaign that costs points spends them through the points plugin's public service, in the entry's
transaction: not enough points, nothing written. Without points enabled, a cost is refused and the
lottery works as ever. These run against the real points plugin (installed in this workspace)."""

from __future__ import annotations

import asyncio
from typing import Any

from lottery_helpers import BASE, create, draw_body, opened, wheel_body
from scrm.testing import problem


async def with_points(tenant: Any, amount: int) -> int:
    await tenant.enable("points")
    member = await tenant.member(display_name="Spender")
    if amount:
        given = await tenant.post(
            f"/api/v1/points/members/{member['id']}/adjustments", {"amount": amount, "reason": "test grant"}
        )
        assert given.status_code in (200, 201), given.text
    member_id: int = member["id"]
    return member_id


async def balance(tenant: Any, member_id: int) -> int:
    account = (await tenant.get(f"/api/v1/points/members/{member_id}")).json()
    value: int = account["balance"]
    return value


async def test_an_entry_spends_its_cost_once(tenant: Any) -> None:
    member_id = await with_points(tenant, 100)
    campaign = await opened(tenant, draw_body(points_cost=30))
    url = f"{BASE}/{campaign['id']}/entries"
    answers = await asyncio.gather(*(tenant.post(url, {"member_id": member_id}) for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409, 409]
    assert next(a.json() for a in answers if a.status_code == 201)["points_spent"] == 30
    assert await balance(tenant, member_id) == 70


async def test_not_enough_points_writes_nothing(tenant: Any) -> None:
    member_id = await with_points(tenant, 10)
    campaign = await opened(tenant, draw_body(points_cost=30))
    url = f"{BASE}/{campaign['id']}/entries"
    problem(await tenant.post(url, {"member_id": member_id}), 409, "points-insufficient")
    assert (await tenant.get(f"{url}/count")).json()["entries"] == 0
    assert await balance(tenant, member_id) == 10
    await tenant.post(f"/api/v1/points/members/{member_id}/adjustments", {"amount": 20, "reason": "top up"})
    assert (await tenant.post(url, {"member_id": member_id})).status_code == 201
    assert await balance(tenant, member_id) == 0


async def test_a_spin_costs_points_each_time(tenant: Any) -> None:
    member_id = await with_points(tenant, 25)
    wheel = await opened(tenant, wheel_body(points_cost=10))
    url = f"{BASE}/{wheel['id']}/spins"
    assert [(await tenant.post(url, {"member_id": member_id})).status_code for _ in range(3)] == [201, 201, 409]
    assert await balance(tenant, member_id) == 5
    assert len((await tenant.get(url)).json()["items"]) == 2


async def test_a_cost_needs_points_enabled(tenant: Any) -> None:
    await tenant.enable("lottery")
    body = problem(await tenant.post(BASE, draw_body(points_cost=5)), 422, "validation-error")
    assert body["errors"][0]["field"] == "points_cost"
    member_id = await with_points(tenant, 50)
    campaign = await opened(tenant, draw_body(points_cost=5))
    await tenant.post("/api/v1/plugins", {"name": "points", "enabled": False})
    problem(
        await tenant.post(f"{BASE}/{campaign['id']}/entries", {"member_id": member_id}),
        409,
        "lottery-points-unavailable",
    )
    draft = await create(tenant, draw_body())
    problem(await tenant.patch(f"{BASE}/{draft['id']}", {"points_cost": 5}), 422, "validation-error")
