"""The public service other plugins use (``kernel.service("points", ws)``), tiers, the leaderboard
and the data-subject hooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import scrm
from points_testing import settle
from scrm import Kernel
from scrm.testing import Tenant, problem

API = "/api/v1/points"


class Boom(Exception):
    pass


async def test_spend_award_refund_are_idempotent(tenant: Tenant, kernel: Kernel) -> None:
    await tenant.enable("points")
    ws = await kernel.workspaces.ref(tenant.slug)
    points = kernel.service("points", ws)
    member = (await tenant.member())["id"]
    assert await points.balance(ws, member) == 0
    assert await points.award(ws, member, 100, reason="contest winner", reference="contest:1:winner") == 100
    assert await points.award(ws, member, 100, reason="contest winner", reference="contest:1:winner") == 100
    assert await points.spend(ws, member, 30, reason="lottery entry", reference="lottery:entry:1") == 70
    assert await points.spend(ws, member, 30, reason="lottery entry", reference="lottery:entry:1") == 70
    with pytest.raises(scrm.Conflict) as refused:
        await points.spend(ws, member, 71, reason="lottery entry", reference="lottery:entry:2")
    assert refused.value.kind == "points-insufficient"
    assert await points.refund(ws, "lottery:entry:1", reason="campaign cancelled") == 100
    assert await points.refund(ws, "lottery:entry:1", reason="campaign cancelled") == 100
    with pytest.raises(scrm.NotFound):
        await points.refund(ws, "lottery:entry:404", reason="x")
    with pytest.raises(scrm.ValidationFailed):
        await points.spend(ws, member, 0, reason="x", reference="y")
    with pytest.raises(scrm.ValidationFailed):
        await points.award(ws, member, 5, reason="x", reference="rule:1:event:1")
    other = (await tenant.member())["id"]
    with pytest.raises(scrm.Conflict):
        await points.award(ws, other, 100, reason="contest winner", reference="contest:1:winner")


async def test_service_is_none_where_points_is_off(other: Tenant, kernel: Kernel) -> None:
    assert kernel.service("points", await kernel.workspaces.ref(other.slug)) is None


async def test_a_spend_rolls_back_with_the_callers_transaction(
    tenant: Tenant, kernel: Kernel, plugin: Callable[..., str]
) -> None:
    """A throwaway plugin spends points and writes its own row in one transaction, then fails:
    neither the spend nor its row remains."""
    await tenant.enable("points")
    ws0 = await kernel.workspaces.ref(tenant.slug)
    member = (await tenant.member())["id"]
    await kernel.service("points", ws0).award(ws0, member, 50, reason="seed", reference="seed:1")
    seen: list[Any] = []

    async def enter(workspace: scrm.WorkspaceRef, event: scrm.EventOut) -> None:
        if event.type != "lottery.enter":
            return
        points = kernel.service("points", workspace)
        async with kernel.db.transaction():
            seen.append(
                await points.spend(workspace, event.member_id, 20, reason="entry", reference=f"entry:{event.id}")
            )
            await kernel.events.record(workspace, [scrm.NewEvent(event.member_id, "probe.entered", source="probe")])
            raise Boom

    name = plugin(scrm_event_recorded=enter)
    await tenant.enable(name)
    response = await tenant.post("/api/v1/events", {"member_id": member, "type": "lottery.enter"})
    assert response.status_code in (200, 201), response.text
    await settle(kernel, tenant.id)
    assert seen
    assert set(seen) == {30}  # the spend happened inside the transaction (each delivery attempt)…
    ws = await kernel.workspaces.ref(tenant.slug)
    assert await kernel.service("points", ws).balance(ws, member) == 50  # …and rolled back with it
    events = (await tenant.get(f"/api/v1/members/{member}/events", params={"type": "probe.entered"})).json()
    assert events["items"] == []
    await kernel.db.fetch("DELETE FROM scrm_outbox WHERE workspace = {}", tenant.id)  # stop the retries


async def test_tiers_tags_and_events(tenant: Tenant, kernel: Kernel) -> None:
    await tenant.enable("points")
    tiers = {"tiers": [{"name": "silver", "threshold": 100}, {"name": "gold", "threshold": 300}]}
    await tenant.client.put(f"{API}/settings", json=tiers, headers=tenant.headers())
    member = (await tenant.member())["id"]
    await tenant.post(f"{API}/members/{member}/adjustments", {"amount": 150, "reason": "x"})
    assert "tier:silver" in (await tenant.get(f"/api/v1/members/{member}")).json()["tags"]
    await tenant.post(f"{API}/members/{member}/adjustments", {"amount": -100, "reason": "spent"})
    assert (await tenant.get(f"{API}/members/{member}")).json()["tier"] == "silver"  # spending keeps the tier
    # a rule award (delivered from the outbox) moves the tier, its tag and its event in the delivery
    await tenant.post(f"{API}/rules", {"name": "big", "event_type": "order.paid", "points": 200})
    await tenant.post("/api/v1/events", {"member_id": member, "type": "order.paid"})
    await settle(kernel, tenant.id)
    assert (await tenant.get(f"{API}/members/{member}")).json()["tier"] == "gold"
    tags = (await tenant.get(f"/api/v1/members/{member}")).json()["tags"]
    assert "tier:gold" in tags
    assert "tier:silver" not in tags
    events = (await tenant.get(f"/api/v1/members/{member}/events", params={"type": "points.tier_changed"})).json()
    assert [(e["properties"]["from"], e["properties"]["to"]) for e in reversed(events["items"])] == [
        (None, "silver"),
        ("silver", "gold"),
    ]


async def test_leaderboard(tenant: Tenant) -> None:
    await tenant.enable("points")
    members = [(await tenant.member())["id"] for _ in range(3)]
    for member, amount in zip(members, [30, 90, 60], strict=True):
        await tenant.post(f"{API}/members/{member}/adjustments", {"amount": amount, "reason": "x"})
    await tenant.post(f"{API}/members/{members[1]}/adjustments", {"amount": -80, "reason": "x"})
    by_balance = (await tenant.get(f"{API}/leaderboard", params={"limit": 2})).json()
    assert [(e["rank"], e["member_id"], e["points"]) for e in by_balance["entries"]] == [
        (1, members[2], 60),
        (2, members[0], 30),
    ]
    by_lifetime = (await tenant.get(f"{API}/leaderboard", params={"by": "lifetime"})).json()
    assert [e["member_id"] for e in by_lifetime["entries"]] == [members[1], members[2], members[0]]
    earned = (await tenant.get(f"{API}/leaderboard", params={"by": "earned"})).json()
    assert [e["points"] for e in earned["entries"]] == [90, 60, 30]


async def test_export_and_erase(tenant: Tenant, kernel: Kernel) -> None:
    await tenant.enable("points")
    member = (await tenant.member())["id"]
    await tenant.post(f"{API}/members/{member}/adjustments", {"amount": 40, "reason": "called about Alice's order"})
    await tenant.post(f"{API}/checkins", {"member_id": member})
    exported = (await tenant.get(f"/api/v1/members/{member}/export")).json()["plugins"]["points"]
    assert exported["account"]["balance"] == 50
    assert len(exported["transactions"]) == 2
    assert len(exported["checkins"]) == 1
    assert (await tenant.delete(f"/api/v1/members/{member}")).status_code in (200, 204)
    rows = await kernel.db.fetch(
        "SELECT (SELECT COUNT(*) FROM points_account WHERE workspace = {} AND member_id = {}) AS accounts, "
        "(SELECT COUNT(*) FROM points_checkin WHERE workspace = {} AND member_id = {}) AS checkins, "
        "(SELECT COUNT(*) FROM points_transaction WHERE workspace = {} AND member_id = {} AND reason <> '') AS reasons",
        *([tenant.id, member] * 3),
    )
    assert dict(rows[0]) == {"accounts": 0, "checkins": 0, "reasons": 0}
    problem(await tenant.post(f"{API}/checkins", {"member_id": member}), 409, "points-member-erased")
    mug = (await tenant.post(f"{API}/rewards", {"name": "Mug", "cost": 1})).json()
    problem(
        await tenant.post(f"{API}/rewards/{mug['id']}/redemptions", {"member_id": member}), 409, "points-member-erased"
    )


async def test_workspace_deleted_leaves_nothing(kernel: Kernel, tenant: Tenant, operator_key: str) -> None:
    await tenant.enable("points")
    member = (await tenant.member())["id"]
    await tenant.post(f"{API}/members/{member}/adjustments", {"amount": 40, "reason": "x"})
    await tenant.post(f"{API}/rewards", {"name": "Mug", "cost": 10})
    response = await tenant.client.delete(
        f"/api/v1/workspaces/{tenant.slug}", headers={"Authorization": f"Bearer {operator_key}"}
    )
    assert response.status_code in (200, 204), response.text
    for table in ("points_account", "points_transaction", "points_lot", "points_reward"):
        rows = await kernel.db.fetch(f"SELECT COUNT(*) AS n FROM {table} WHERE workspace = {{}}", tenant.id)
        assert rows[0]["n"] == 0, table
