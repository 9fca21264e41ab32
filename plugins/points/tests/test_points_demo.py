"""``scrm_demo``: the demo's catalogue once, and its events awarded by the rules, once."""

from __future__ import annotations

import scrm
from points_testing import settle
from scrm import Kernel
from scrm.testing import Tenant

API = "/api/v1/points"


async def rule_awards(kernel: Kernel, workspace_id: int) -> int:
    rows = await kernel.db.fetch(
        "SELECT COUNT(*) AS n FROM points_transaction WHERE workspace = {} AND rule_id IS NOT NULL", workspace_id
    )
    return int(rows[0]["n"])


async def demo(kernel: Kernel, ws: scrm.WorkspaceRef, members: list[int]) -> None:
    """The points plugin's ``scrm_demo``, called through pluggy as ``scrm demo`` calls it."""
    await kernel.plugins.call("scrm_demo", only=["points"], workspace=ws, member_ids=members, kernel=kernel)


async def test_demo_awards_the_demos_events_once(tenant: Tenant, kernel: Kernel) -> None:
    await tenant.enable("points")
    ws = await kernel.workspace_ref(tenant.id)
    members = [(await tenant.member())["id"] for _ in range(3)]
    paid = [
        scrm.NewEvent(m, "order.paid", {"amount": 120, "currency": "CNY"}, source="demo", idempotency_key=f"demo-{m}")
        for m in members
    ]
    await kernel.events.record(ws, paid)  # as the core's demo does, before calling the hook
    await demo(kernel, ws, members)
    assert await rule_awards(kernel, tenant.id) == 6  # "Paid order" and "Big order bonus" for each
    rules = (await tenant.get(f"{API}/rules")).json()["items"]
    await demo(kernel, ws, members)  # a second run
    await settle(kernel, tenant.id)  # and the delivery of the same events
    assert await rule_awards(kernel, tenant.id) == 6
    assert (await tenant.get(f"{API}/rules")).json()["items"] == rules
    for member in members:
        rows = await kernel.db.fetch(
            "SELECT (SELECT balance FROM points_account WHERE workspace = {} AND member_id = {}) AS balance, "
            "(SELECT SUM(amount) FROM points_transaction WHERE workspace = {} AND member_id = {}) AS total",
            *([tenant.id, member] * 2),
        )
        assert int(rows[0]["balance"]) == int(rows[0]["total"]) >= 70


async def test_tier_tags_are_grouped(tenant: Tenant) -> None:
    await tenant.enable("points")
    await tenant.client.put(
        f"{API}/settings", json={"tiers": [{"name": "silver", "threshold": 10}]}, headers=tenant.headers()
    )
    member = (await tenant.member())["id"]
    await tenant.post(f"{API}/members/{member}/adjustments", {"amount": 10, "reason": "x"})
    tags = {t["name"]: t for t in (await tenant.get("/api/v1/tags")).json()}
    assert tags["tier:silver"]["group"] == "tier"
    assert tags["tier:silver"]["member_count"] == 1
