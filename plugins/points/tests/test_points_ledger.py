"""The ledger through the API: adjustments, history, reversals, balances that never go negative."""

from __future__ import annotations

import asyncio
from typing import Any

from scrm import Kernel
from scrm.testing import Tenant, problem

API = "/api/v1/points"


async def points_tenant(tenant: Tenant, settings: dict[str, Any] | None = None) -> Tenant:
    await tenant.enable("points")
    if settings is not None:
        response = await tenant.client.put(f"{API}/settings", json=settings, headers=tenant.headers())
        assert response.status_code == 200, response.text
    return tenant


async def adjust(tenant: Tenant, member_id: int, amount: int, reason: str = "test") -> Any:
    return await tenant.post(f"{API}/members/{member_id}/adjustments", {"amount": amount, "reason": reason})


async def ledger_sum(kernel: Kernel, ws_id: int, member_id: int) -> tuple[int, int, int]:
    """(balance, sum of transactions, sum of lots' remaining points) of a member."""
    rows = await kernel.db.fetch(
        "SELECT (SELECT balance FROM points_account WHERE workspace = {} AND member_id = {}) AS balance, "
        "(SELECT COALESCE(SUM(amount), 0) FROM points_transaction WHERE workspace = {} AND member_id = {}) AS total, "
        "(SELECT COALESCE(SUM(remaining), 0) FROM points_lot WHERE workspace = {} AND member_id = {}) AS lots",
        ws_id,
        member_id,
        ws_id,
        member_id,
        ws_id,
        member_id,
    )
    return int(rows[0]["balance"] or 0), int(rows[0]["total"]), int(rows[0]["lots"])


async def test_adjust_history_and_balance(tenant: Tenant, kernel: Kernel) -> None:
    await points_tenant(tenant)
    member = await tenant.member(external_id="m1")
    response = await adjust(tenant, member["id"], 120, "welcome")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["balance"] == 120
    assert body["transaction"]["kind"] == "adjust"
    assert body["transaction"]["amount"] == 120
    assert (await adjust(tenant, member["id"], -20, "correction")).json()["balance"] == 100
    account = (await tenant.get(f"{API}/members/{member['id']}")).json()
    assert account["balance"] == 100
    assert account["lifetime"] == 120
    history = (await tenant.get(f"{API}/members/{member['id']}/transactions", params={"limit": 1})).json()
    assert [t["amount"] for t in history["items"]] == [-20]
    more = await tenant.get(
        f"{API}/members/{member['id']}/transactions", params={"limit": 1, "cursor": history["next_cursor"]}
    )
    assert [t["amount"] for t in more.json()["items"]] == [120]
    assert more.json()["next_cursor"] is None
    assert await ledger_sum(kernel, tenant.id, member["id"]) == (100, 100, 100)


async def test_adjust_below_zero_is_refused(tenant: Tenant, kernel: Kernel) -> None:
    await points_tenant(tenant)
    member = await tenant.member()
    await adjust(tenant, member["id"], 10)
    body = problem(await adjust(tenant, member["id"], -11), 409, "points-insufficient")
    assert body["balance"] == 10
    assert await ledger_sum(kernel, tenant.id, member["id"]) == (10, 10, 10)


async def test_adjust_with_a_reference_is_idempotent(tenant: Tenant) -> None:
    await points_tenant(tenant)
    member = await tenant.member()
    body = {"amount": 5, "reason": "retry-safe", "reference": "ticket-1"}
    first = await tenant.post(f"{API}/members/{member['id']}/adjustments", body)
    second = await tenant.post(f"{API}/members/{member['id']}/adjustments", body)
    assert first.json()["transaction"]["id"] == second.json()["transaction"]["id"]
    assert second.json()["balance"] == 5


async def test_reverse_an_award_and_a_spend(tenant: Tenant, kernel: Kernel) -> None:
    await points_tenant(tenant, {"tiers": [{"name": "silver", "threshold": 50}]})
    member = await tenant.member()
    award = (await adjust(tenant, member["id"], 60)).json()["transaction"]
    assert (await tenant.get(f"{API}/members/{member['id']}")).json()["tier"] == "silver"
    spend = (await adjust(tenant, member["id"], -30)).json()["transaction"]
    reversed_spend = await tenant.post(f"{API}/transactions/{spend['id']}/reversals", {"reason": "refund"})
    assert reversed_spend.status_code == 201, reversed_spend.text
    assert reversed_spend.json()["balance"] == 60
    assert reversed_spend.json()["transaction"]["reverses"] == spend["id"]
    problem(
        await tenant.post(f"{API}/transactions/{spend['id']}/reversals", {"reason": "again"}),
        409,
        "points-already-reversed",
    )
    reversal_id = reversed_spend.json()["transaction"]["id"]
    problem(
        await tenant.post(f"{API}/transactions/{reversal_id}/reversals", {"reason": "x"}), 409, "points-not-reversible"
    )
    taken = await tenant.post(f"{API}/transactions/{award['id']}/reversals", {"reason": "order refunded"})
    assert taken.json()["balance"] == 0
    account = (await tenant.get(f"{API}/members/{member['id']}")).json()
    assert account["lifetime"] == 0
    assert account["tier"] is None  # reversing an award takes its lifetime points back
    assert await ledger_sum(kernel, tenant.id, member["id"]) == (0, 0, 0)


async def test_reverse_cannot_drive_the_balance_negative(tenant: Tenant, kernel: Kernel) -> None:
    await points_tenant(tenant)
    member = await tenant.member()
    award = (await adjust(tenant, member["id"], 50)).json()["transaction"]
    await adjust(tenant, member["id"], -40)
    problem(
        await tenant.post(f"{API}/transactions/{award['id']}/reversals", {"reason": "x"}), 409, "points-insufficient"
    )
    assert await ledger_sum(kernel, tenant.id, member["id"]) == (10, 10, 10)


async def test_concurrent_spends_never_go_negative(tenant: Tenant, kernel: Kernel) -> None:
    """100 concurrent debits of 7 points from a balance of 300: at most 42 succeed, the rest are
    409, and the ledger sums to the balance."""
    await points_tenant(tenant)
    member = await tenant.member()
    await adjust(tenant, member["id"], 300)
    responses = await asyncio.gather(*(adjust(tenant, member["id"], -7, f"spend {n}") for n in range(100)))
    ok = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert len(ok) == 300 // 7
    for response in refused:
        problem(response, 409, "points-insufficient")
    balance, total, lots = await ledger_sum(kernel, tenant.id, member["id"])
    assert balance == 300 - 7 * len(ok) == total == lots
    assert balance >= 0
