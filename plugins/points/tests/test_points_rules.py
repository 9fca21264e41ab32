"""Rules: events delivered from the outbox earn points once, within caps and windows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import scrm
from points_testing import settle
from scrm import Kernel
from scrm.testing import Tenant, problem

API = "/api/v1/points"


async def setup(tenant: Tenant, *rules: dict[str, Any]) -> list[dict[str, Any]]:
    await tenant.enable("points")
    created = []
    for rule in rules:
        response = await tenant.post(f"{API}/rules", rule)
        assert response.status_code == 201, response.text
        created.append(response.json())
    return created


async def post_events(tenant: Tenant, kernel: Kernel, events: list[dict[str, Any]]) -> list[int]:
    response = await tenant.post("/api/v1/events", events)
    assert response.status_code == 200, response.text
    await settle(kernel, tenant.id)
    return [item["id"] for item in response.json()["items"]]


async def balance(tenant: Tenant, member_id: int) -> int:
    response = await tenant.get(f"{API}/members/{member_id}")
    assert response.status_code == 200, response.text
    value: int = response.json()["balance"]
    return value


async def deliver_again(kernel: Kernel, tenant: Tenant, event_ids: list[int]) -> None:
    """Deliver stored events to the points plugin once more, as a redelivery would."""
    ws = await kernel.workspaces.ref(tenant.slug)
    events = await kernel.events.by_ids(ws, event_ids)
    async with kernel.db.transaction():
        await kernel.plugins.call("scrm_event_batch_recorded", ["points"], workspace=ws, events=events, kernel=kernel)


async def test_rules_crud(tenant: Tenant) -> None:
    [rule] = await setup(
        tenant, {"name": "Orders", "event_type": "order.paid", "points": 10, "conditions": {"amount": {"min": 50}}}
    )
    assert rule["conditions"] == {"amount": {"min": 50.0}}
    assert rule["active"] is True
    changed = await tenant.patch(f"{API}/rules/{rule['id']}", {"points": 15, "daily_cap": 30})
    assert changed.status_code == 200, changed.text
    assert changed.json()["points"] == 15
    assert changed.json()["daily_cap"] == 30
    listed = (await tenant.get(f"{API}/rules")).json()
    assert [r["id"] for r in listed["items"]] == [rule["id"]]
    assert (await tenant.get(f"{API}/rules/{rule['id']}")).json()["points"] == 15
    assert (await tenant.delete(f"{API}/rules/{rule['id']}")).status_code == 204
    problem(await tenant.get(f"{API}/rules/{rule['id']}"), 404, "not-found")


async def test_events_earn_once_even_when_delivered_again(tenant: Tenant, kernel: Kernel) -> None:
    await setup(
        tenant,
        {"name": "Check-in", "event_type": "checkin", "points": 5},
        {"name": "Big order", "event_type": "order.paid", "points": 50, "conditions": {"amount": {"min": 100}}},
        {"name": "Store order", "event_type": "order.paid", "points": 7, "conditions": {"channel": "store"}},
    )
    member = await tenant.member()
    m = member["id"]
    ids = await post_events(
        tenant,
        kernel,
        [
            {"member_id": m, "type": "checkin"},
            {"member_id": m, "type": "order.paid", "properties": {"amount": 120, "channel": "store"}},
            {"member_id": m, "type": "order.paid", "properties": {"amount": 99.9, "channel": "web"}},
            {"member_id": m, "type": "order.paid", "properties": {"amount": "150", "channel": "STORE"}},
            {"member_id": m, "type": "page.view"},
        ],
    )
    assert await balance(tenant, m) == 5 + 50 + 7
    await deliver_again(kernel, tenant, ids)
    await deliver_again(kernel, tenant, ids)
    assert await balance(tenant, m) == 62
    history = (await tenant.get(f"{API}/members/{m}/transactions")).json()["items"]
    assert sorted(t["reference"] for t in history) == sorted(
        f"rule:{t['rule_id']}:event:{t['event_id']}" for t in history
    )


async def test_concurrent_redeliveries_award_once(tenant: Tenant, kernel: Kernel) -> None:
    await setup(tenant, {"name": "Check-in", "event_type": "checkin", "points": 5})
    members = [await tenant.member() for _ in range(3)]
    ids = await post_events(tenant, kernel, [{"member_id": m["id"], "type": "checkin"} for m in members])
    await asyncio.gather(*(deliver_again(kernel, tenant, ids) for _ in range(5)))
    assert [await balance(tenant, m["id"]) for m in members] == [5, 5, 5]


async def test_own_events_earn_only_through_a_rule_naming_them(tenant: Tenant, kernel: Kernel) -> None:
    await setup(tenant, {"name": "Check-in", "event_type": "checkin", "points": 5})
    member = await tenant.member()
    checked = await tenant.post(f"{API}/checkins", {"member_id": member["id"]})
    assert checked.status_code == 201, checked.text
    await settle(kernel, tenant.id)  # delivers points.checkin: no rule names it
    assert await balance(tenant, member["id"]) == 10  # the default check-in points only
    await tenant.post(f"{API}/rules", {"name": "Check-in extra", "event_type": "points.checkin", "points": 3})
    other = await tenant.member()
    await tenant.post(f"{API}/checkins", {"member_id": other["id"]})
    await settle(kernel, tenant.id)
    assert await balance(tenant, other["id"]) == 13


async def test_daily_cap_counts_the_workspace_day(tenant: Tenant, kernel: Kernel) -> None:
    await kernel.workspaces.update(tenant.slug, scrm.WorkspaceUpdate(time_zone="Asia/Shanghai"))
    kernel.forget_cached()
    await setup(tenant, {"name": "Likes", "event_type": "like", "points": 4, "daily_cap": 10})
    member = await tenant.member()
    # 15:30 UTC is 23:30 in Shanghai; 16:30 UTC is 00:30 the next day there
    day = datetime.now(UTC).replace(hour=15, minute=30, second=0, microsecond=0) - timedelta(days=2)
    late = [day + timedelta(minutes=n) for n in range(4)]
    early = [day + timedelta(hours=1, minutes=n) for n in range(4)]
    events = [{"member_id": member["id"], "type": "like", "occurred_at": at.isoformat()} for at in late + early]
    await post_events(tenant, kernel, events)
    assert await balance(tenant, member["id"]) == 10 + 10  # 4 + 4 + 2 on each Shanghai day


async def test_total_cap_and_window(tenant: Tenant, kernel: Kernel) -> None:
    now = datetime.now(UTC)
    await setup(
        tenant,
        {"name": "Shares", "event_type": "share", "points": 6, "total_cap": 15},
        {
            "name": "Launch week",
            "event_type": "launch",
            "points": 9,
            "starts_at": (now - timedelta(days=3)).isoformat(),
            "ends_at": (now - timedelta(days=1)).isoformat(),
        },
    )
    member = await tenant.member()
    m = member["id"]
    await post_events(tenant, kernel, [{"member_id": m, "type": "share"} for _ in range(2)])
    await post_events(tenant, kernel, [{"member_id": m, "type": "share"} for _ in range(2)])
    assert await balance(tenant, m) == 15
    await post_events(
        tenant,
        kernel,
        [
            {"member_id": m, "type": "launch", "occurred_at": (now - timedelta(days=4)).isoformat()},
            {"member_id": m, "type": "launch", "occurred_at": (now - timedelta(days=2)).isoformat()},
            {"member_id": m, "type": "launch"},
        ],
    )
    assert await balance(tenant, m) == 15 + 9


async def test_inactive_rules_award_nothing(tenant: Tenant, kernel: Kernel) -> None:
    [rule] = await setup(tenant, {"name": "Off", "event_type": "checkin", "points": 5, "active": False})
    member = await tenant.member()
    await post_events(tenant, kernel, [{"member_id": member["id"], "type": "checkin"}])
    assert await balance(tenant, member["id"]) == 0
    await tenant.patch(f"{API}/rules/{rule['id']}", {"active": True})
    await post_events(tenant, kernel, [{"member_id": member["id"], "type": "checkin"}])
    assert await balance(tenant, member["id"]) == 5


async def test_bad_rules_name_the_field(tenant: Tenant) -> None:
    await setup(tenant)
    bad = [
        ({"event_type": "x", "points": 1}, "name"),
        ({"name": "n", "event_type": "x", "points": 0}, "points"),
        ({"name": "n", "event_type": "", "points": 1}, "event_type"),
        ({"name": "n", "event_type": "x", "points": 1, "daily_cap": 0}, "daily_cap"),
        ({"name": "n", "event_type": "x", "points": 1, "conditions": {"a": {"max": 1}}}, "conditions"),
        ({"name": "n", "event_type": "x", "points": 1, "colour": "red"}, "colour"),
        (
            {
                "name": "n",
                "event_type": "x",
                "points": 1,
                "starts_at": "2026-02-01T00:00:00Z",
                "ends_at": "2026-01-01T00:00:00Z",
            },
            "ends_at",
        ),
    ]
    for body, field in bad:
        found = problem(await tenant.post(f"{API}/rules", body), 422, "validation-error")
        assert any(e["field"].startswith(field) for e in found["errors"]), (body, found)
    assert (await tenant.get(f"{API}/rules")).json()["items"] == []
