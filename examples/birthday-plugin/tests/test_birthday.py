"""The birthday plugin in a real app (with the points plugin when it is installed): a consenting member
is greeted on their birthday — points and a ``birthday.greeted`` event — once a year; nobody else is."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from scrm import Kernel
from scrm.testing import Tenant, problem

PURPOSE = "marketing.birthday"
TODAY = datetime.now(UTC).strftime("%m-%d")  # the test workspaces keep UTC time


async def settle(kernel: Kernel, tenant: Tenant) -> None:
    """Deliver the workspace's waiting events (the hook greets on member.created/updated) and wait
    until none is left: the delivery job the API queued may hold one while this drain finds none."""
    for _ in range(500):
        await kernel.outbox.drain()
        rows = await kernel.db.fetch(
            "SELECT COUNT(*) AS n FROM scrm_outbox WHERE workspace = {} AND last_error IS NULL", tenant.id
        )
        if rows[0]["n"] == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the outbox did not drain")


async def birthday_member(kernel: Kernel, tenant: Tenant, consent: bool = True, day: str = TODAY) -> dict[str, Any]:
    """A member with this birthday whose creation was delivered (before any consent: not greeted)."""
    member = await tenant.member(attributes={"birthday": day})
    await settle(kernel, tenant)
    if consent:
        granted = await tenant.post(
            "/api/v1/consents", {"member_id": member["id"], "purpose": PURPOSE, "status": "granted"}
        )
        assert granted.status_code == 201, granted.text
    return member


async def greetings(tenant: Tenant, member_id: int) -> list[dict[str, Any]]:
    response = await tenant.get(f"/api/v1/birthday/members/{member_id}/greetings")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def greeted_events(tenant: Tenant, member_id: int) -> list[dict[str, Any]]:
    response = await tenant.get(f"/api/v1/members/{member_id}/events", params={"type": "birthday.greeted"})
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.fixture
async def shop(tenant: Tenant) -> Tenant:
    """A workspace with the points and birthday plugins on and the birthday consent purpose."""
    await tenant.enable("points")
    await tenant.enable("birthday", {"points": 150, "purpose": PURPOSE})
    created = await tenant.post("/api/v1/consents/purposes", {"name": PURPOSE})
    assert created.status_code == 201, created.text
    return tenant


async def test_a_consenting_member_is_greeted_once_a_year(kernel: Kernel, shop: Tenant) -> None:
    member = await birthday_member(kernel, shop)
    run = await shop.post("/api/v1/birthday/greetings/run")
    assert run.json() == {"greeted": 1}
    assert (await shop.post("/api/v1/birthday/greetings/run")).json() == {"greeted": 0}
    [greeting] = await greetings(shop, member["id"])
    assert greeting["points"] == 150
    assert greeting["year"] == datetime.now(UTC).year
    account = await shop.get(f"/api/v1/points/members/{member['id']}")
    assert account.json()["balance"] == 150
    [event] = await greeted_events(shop, member["id"])
    assert event["properties"] == {"year": datetime.now(UTC).year, "points": 150}
    await shop.patch(f"/api/v1/members/{member['id']}", {"display_name": "Again"})  # member.updated, today
    await settle(kernel, shop)
    assert len(await greetings(shop, member["id"])) == 1
    assert (await shop.get(f"/api/v1/points/members/{member['id']}")).json()["balance"] == 150


async def test_no_consent_no_greeting(kernel: Kernel, shop: Tenant) -> None:
    member = await birthday_member(kernel, shop, consent=False)
    assert (await shop.post("/api/v1/birthday/greetings/run")).json() == {"greeted": 0}
    assert await greetings(shop, member["id"]) == []
    assert await greeted_events(shop, member["id"]) == []
    withdrawn = await birthday_member(kernel, shop)
    await shop.post("/api/v1/consents", {"member_id": withdrawn["id"], "purpose": PURPOSE, "status": "withdrawn"})
    assert (await shop.post("/api/v1/birthday/greetings/run")).json() == {"greeted": 0}


async def test_only_on_the_birthday(kernel: Kernel, shop: Tenant) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%m-%d")
    member = await birthday_member(kernel, shop, day=tomorrow)
    assert (await shop.post("/api/v1/birthday/greetings/run")).json() == {"greeted": 0}
    assert await greetings(shop, member["id"]) == []


async def test_a_change_on_the_birthday_greets_when_delivered(kernel: Kernel, shop: Tenant) -> None:
    member = await birthday_member(kernel, shop, day="01-01" if TODAY != "01-01" else "01-02")
    await shop.patch(f"/api/v1/members/{member['id']}", {"attributes": {"birthday": TODAY}})
    await settle(kernel, shop)
    assert len(await greetings(shop, member["id"])) == 1


async def test_without_points_the_greeting_is_still_recorded(kernel: Kernel, tenant: Tenant) -> None:
    await tenant.enable("birthday", {"purpose": PURPOSE})
    await tenant.post("/api/v1/consents/purposes", {"name": PURPOSE})
    member = await birthday_member(kernel, tenant)
    assert (await tenant.post("/api/v1/birthday/greetings/run")).json() == {"greeted": 1}
    [greeting] = await greetings(tenant, member["id"])
    assert greeting["points"] == 0
    assert len(await greeted_events(tenant, member["id"])) == 1


async def test_never_crosses_workspaces_and_needs_its_scopes(shop: Tenant, other: Tenant) -> None:
    await other.enable("birthday")
    theirs = await other.member()
    problem(await shop.get(f"/api/v1/birthday/members/{theirs['id']}/greetings"), 404, "not-found")
    reader = await shop.new_key("members:read")
    problem(await shop.post("/api/v1/birthday/greetings/run", key=reader), 403, "missing-scope")
