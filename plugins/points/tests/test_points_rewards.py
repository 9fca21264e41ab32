"""Rewards and redemptions: stock never oversold, points never charged without the reward."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from scrm import Kernel
from scrm.testing import Tenant, problem

API = "/api/v1/points"


async def reward(tenant: Tenant, **fields: Any) -> dict[str, Any]:
    response = await tenant.post(f"{API}/rewards", {"name": "Mug", "cost": 100, **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def rich_member(tenant: Tenant, points: int = 1000) -> int:
    member = await tenant.member()
    response = await tenant.post(f"{API}/members/{member['id']}/adjustments", {"amount": points, "reason": "seed"})
    assert response.status_code == 201, response.text
    member_id: int = member["id"]
    return member_id


async def test_rewards_crud(tenant: Tenant) -> None:
    await tenant.enable("points")
    mug = await reward(tenant, description="A mug", stock=3)
    assert (mug["stock"], mug["active"]) == (3, True)
    changed = await tenant.patch(f"{API}/rewards/{mug['id']}", {"stock": None, "active": False})
    assert (changed.json()["stock"], changed.json()["active"]) == (None, False)
    assert [r["id"] for r in (await tenant.get(f"{API}/rewards", params={"active": "false"})).json()["items"]] == [
        mug["id"]
    ]
    assert (await tenant.get(f"{API}/rewards", params={"active": "true"})).json()["items"] == []
    assert (await tenant.delete(f"{API}/rewards/{mug['id']}")).status_code == 204
    problem(await tenant.get(f"{API}/rewards/{mug['id']}"), 404, "not-found")


async def test_redeem_spends_and_records(tenant: Tenant, kernel: Kernel) -> None:
    await tenant.enable("points")
    mug = await reward(tenant, stock=2)
    member_id = await rich_member(tenant, 250)
    response = await tenant.post(f"{API}/rewards/{mug['id']}/redemptions", {"member_id": member_id})
    assert response.status_code == 201, response.text
    assert response.json()["balance"] == 150
    assert (await tenant.get(f"{API}/rewards/{mug['id']}")).json()["stock"] == 1
    await tenant.post(f"{API}/rewards/{mug['id']}/redemptions", {"member_id": member_id})
    poor = problem(
        await tenant.post(
            f"{API}/rewards/{(await reward(tenant, cost=500))['id']}/redemptions", {"member_id": member_id}
        ),
        409,
        "points-insufficient",
    )
    assert poor["balance"] == 50
    problem(
        await tenant.post(f"{API}/rewards/{mug['id']}/redemptions", {"member_id": member_id}),
        409,
        "points-out-of-stock",
    )
    listed = (await tenant.get(f"{API}/redemptions", params={"member_id": member_id})).json()["items"]
    assert [r["reward_name"] for r in listed] == ["Mug", "Mug"]
    by_reward = (await tenant.get(f"{API}/redemptions", params={"reward_id": mug["id"], "limit": 1})).json()
    assert len(by_reward["items"]) == 1
    assert by_reward["next_cursor"]
    inactive = await reward(tenant, active=False)
    problem(
        await tenant.post(f"{API}/rewards/{inactive['id']}/redemptions", {"member_id": member_id}),
        409,
        "points-reward-inactive",
    )


async def test_an_insufficient_balance_leaves_the_stock(tenant: Tenant) -> None:
    await tenant.enable("points")
    mug = await reward(tenant, stock=1, cost=300)
    member_id = await rich_member(tenant, 299)
    problem(
        await tenant.post(f"{API}/rewards/{mug['id']}/redemptions", {"member_id": member_id}),
        409,
        "points-insufficient",
    )
    assert (await tenant.get(f"{API}/rewards/{mug['id']}")).json()["stock"] == 1
    assert (await tenant.get(f"{API}/redemptions")).json()["items"] == []


async def test_no_oversell_under_concurrency(tenant: Tenant, kernel: Kernel) -> None:
    """50 rich members redeem a reward with stock 5 at once: exactly 5 succeed, each charged once."""
    await tenant.enable("points")
    mug = await reward(tenant, stock=5, cost=100)
    members = [await rich_member(tenant, 100) for _ in range(50)]
    responses = await asyncio.gather(
        *(tenant.post(f"{API}/rewards/{mug['id']}/redemptions", {"member_id": m}) for m in members)
    )
    assert sorted(r.status_code for r in responses).count(201) == 5
    for response in responses:
        if response.status_code != 201:
            problem(response, 409, "points-out-of-stock")
    assert (await tenant.get(f"{API}/rewards/{mug['id']}")).json()["stock"] == 0
    rows = await kernel.db.fetch(
        "SELECT COUNT(*) AS n, SUM(balance) AS total FROM points_account WHERE workspace = {}", tenant.id
    )
    assert (int(rows[0]["n"]), int(rows[0]["total"])) == (50, 45 * 100)


async def test_concurrent_redemptions_of_one_member_never_go_negative(tenant: Tenant, kernel: Kernel) -> None:
    """100 concurrent redemptions by one member through the API: the balance covers 12."""
    await tenant.enable("points")
    mug = await reward(tenant, cost=25)
    member_id = await rich_member(tenant, 300)
    responses = await asyncio.gather(
        *(tenant.post(f"{API}/rewards/{mug['id']}/redemptions", {"member_id": member_id}) for _ in range(100))
    )
    assert [r.status_code for r in responses].count(201) == 12
    for response in responses:
        if response.status_code != 201:
            problem(response, 409, "points-insufficient")
    rows = await kernel.db.fetch(
        "SELECT (SELECT balance FROM points_account WHERE workspace = {} AND member_id = {}) AS balance, "
        "(SELECT SUM(amount) FROM points_transaction WHERE workspace = {} AND member_id = {}) AS total",
        tenant.id,
        member_id,
        tenant.id,
        member_id,
    )
    assert int(rows[0]["balance"]) == int(rows[0]["total"]) == 0


async def test_a_redemption_carries_its_audit_record(
    tenant: Tenant, kernel: Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Racing redemptions, some refused: one audit record for each one paid and none for a refused
    one, one chain that verifies — and on PostgreSQL a redemption's record rides in its own
    statement (``kernel.audit.appending``), not in a statement after it (one that raced another of
    the same member runs again in a transaction, whose commit records it)."""
    await tenant.enable("points")
    mug = await reward(tenant, cost=100)
    members = [await rich_member(tenant, points) for points in (300, 300, 50, 50)]
    carried: list[int] = []
    appended = kernel.audit.appended

    async def counting(appending: Any, moved: int) -> None:
        carried.append(moved)
        await appended(appending, moved)

    monkeypatch.setattr(kernel.audit, "appended", counting)
    alone = await tenant.post(f"{API}/rewards/{mug['id']}/redemptions", {"member_id": members[0]})
    assert alone.status_code == 201, alone.text
    assert carried == ([1] if kernel.db.dialect.name == "postgres" else [])
    responses = await asyncio.gather(
        *(tenant.post(f"{API}/rewards/{mug['id']}/redemptions", {"member_id": m}) for m in members for _ in range(2))
    )
    paid = [r for r in responses if r.status_code == 201]
    assert len(paid) == 4
    assert all(r.status_code == 409 for r in responses if r.status_code != 201)
    audit = (await tenant.get("/api/v1/audit", params={"action": "pointsRedeem", "limit": "50"})).json()["items"]
    assert len(audit) == 5
    assert {int(r["target_id"]) for r in audit} == {mug["id"]}
    assert (await tenant.get("/api/v1/audit/verify")).json()["ok"] is True
