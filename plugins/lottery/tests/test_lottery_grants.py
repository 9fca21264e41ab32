"""Tickets granted and taken back through the lottery's public service (``kernel.service("lottery",
ws)``): once per reference, within the cap, waiting until the member enters; taken back exactly,
once; refused after the draw; refused for the wrong kind of campaign; never across workspaces."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lottery_helpers import BASE, draw_body, members, opened, wheel_body
from scrm import Kernel, Problem

RULES = [{"event_type": "live.comment", "tickets": 1}]


async def _service(kernel: Kernel, tenant: Any) -> Any:
    service = kernel.service("lottery", await kernel.workspaces.ref(tenant.slug))
    assert service is not None
    return service


async def _tickets(tenant: Any, campaign_id: int, member_id: int) -> int:
    await tenant.post(f"{BASE}/{campaign_id}/entries", {"member_id": member_id})
    items = (await tenant.get(f"{BASE}/{campaign_id}/entries", params={"member_id": member_id})).json()["items"]
    tickets: int = items[0]["tickets"]
    return tickets


async def test_a_grant_is_made_once_within_the_cap_and_taken_back_exactly(tenant: Any, kernel: Kernel) -> None:
    campaign = await opened(tenant, draw_body(entry_mode="tickets", ticket_rules=RULES, max_tickets=6))
    fan, other = await members(tenant, 2)
    lottery = await _service(kernel, tenant)
    ws = await kernel.workspaces.ref(tenant.slug)
    first = await lottery.grant_tickets(ws, campaign["id"], fan, 3, reference="test:1")
    again = await lottery.grant_tickets(ws, campaign["id"], fan, 3, reference="test:1")
    assert (first.tickets, again.tickets, again.reference) == (3, 3, "test:1")
    capped = await lottery.grant_tickets(ws, campaign["id"], fan, 5, reference="test:2")
    assert capped.tickets == 2  # 1 (the entry's own) + 3 + 2 = the cap of 6
    assert await _tickets(tenant, campaign["id"], fan) == 6
    assert await lottery.revoke_tickets(ws, "test:2") == 2
    assert await lottery.revoke_tickets(ws, "test:2") == 0  # once
    assert await lottery.revoke_tickets(ws, "never-granted") == 0
    assert await _tickets(tenant, campaign["id"], fan) == 4
    assert await lottery.revoke_tickets(ws, "test:1") == 3
    assert await _tickets(tenant, campaign["id"], fan) == 1  # the entry's own ticket stays
    # tickets granted before entering wait in the member's row
    await lottery.grant_tickets(ws, campaign["id"], other, 2, reference="test:3")
    count = (await tenant.get(f"{BASE}/{campaign['id']}/entries/count")).json()
    assert (count["entries"], count["tickets"]) == (1, 1)
    assert await _tickets(tenant, campaign["id"], other) == 3


async def test_concurrent_grants_of_one_reference_add_once(tenant: Any, kernel: Kernel) -> None:
    campaign = await opened(tenant, draw_body(entry_mode="tickets", ticket_rules=RULES, max_tickets=50))
    (fan,) = await members(tenant, 1)
    lottery = await _service(kernel, tenant)
    ws = await kernel.workspaces.ref(tenant.slug)
    grants = await asyncio.gather(
        *(lottery.grant_tickets(ws, campaign["id"], fan, 4, reference=f"race:{i % 3}") for i in range(12))
    )
    assert {(g.reference, g.tickets) for g in grants} == {("race:0", 4), ("race:1", 4), ("race:2", 4)}
    assert await _tickets(tenant, campaign["id"], fan) == 13
    taken = await asyncio.gather(*(lottery.revoke_tickets(ws, "race:0") for _ in range(6)))
    assert sorted(taken) == [0, 0, 0, 0, 0, 4]
    assert await _tickets(tenant, campaign["id"], fan) == 9


async def test_tickets_of_a_drawn_campaign_stay(tenant: Any, kernel: Kernel) -> None:
    campaign = await opened(tenant, draw_body(entry_mode="tickets", ticket_rules=RULES, max_tickets=5))
    (fan,) = await members(tenant, 1)
    lottery = await _service(kernel, tenant)
    ws = await kernel.workspaces.ref(tenant.slug)
    await lottery.grant_tickets(ws, campaign["id"], fan, 2, reference="drawn:1")
    assert await _tickets(tenant, campaign["id"], fan) == 3
    assert (await tenant.post(f"{BASE}/{campaign['id']}/close")).status_code == 200
    with pytest.raises(Problem) as closed:
        await lottery.grant_tickets(ws, campaign["id"], fan, 1, reference="drawn:2")
    assert closed.value.kind == "lottery-closed"
    assert (await tenant.post(f"{BASE}/{campaign['id']}/draw")).status_code == 200
    with pytest.raises(Problem) as drawn:
        await lottery.revoke_tickets(ws, "drawn:1")
    assert drawn.value.kind == "lottery-already-drawn"
    entries = (await tenant.get(f"{BASE}/{campaign['id']}/entries")).json()["items"]
    assert [e["tickets"] for e in entries] == [3]


async def test_wrong_campaigns_and_members_are_refused(tenant: Any, other: Any, kernel: Kernel) -> None:
    single = await opened(tenant, draw_body())
    wheel = await opened(tenant, wheel_body())
    tickets = await opened(tenant, draw_body(entry_mode="tickets", ticket_rules=RULES, max_tickets=5))
    (fan,) = await members(tenant, 1)
    (stranger,) = await members(other, 1)
    lottery = await _service(kernel, tenant)
    ws = await kernel.workspaces.ref(tenant.slug)
    for campaign_id, kind in ((single["id"], "lottery-wrong-mode"), (wheel["id"], "lottery-wrong-mode")):
        with pytest.raises(Problem) as refused:
            await lottery.grant_tickets(ws, campaign_id, fan, 1, reference=f"wrong:{campaign_id}")
        assert refused.value.kind == kind
    with pytest.raises(Problem) as unknown:
        await lottery.grant_tickets(ws, tickets["id"], stranger, 1, reference="stranger")
    assert unknown.value.status == 422
    for bad in ({"tickets": 0}, {"reference": ""}):
        with pytest.raises(Problem) as invalid:
            await lottery.grant_tickets(
                ws, tickets["id"], fan, bad.get("tickets", 1), reference=str(bad.get("reference", "bad"))
            )
        assert invalid.value.status == 422
    # the other workspace neither sees this campaign nor takes back this workspace's grant
    await lottery.grant_tickets(ws, tickets["id"], fan, 2, reference="mine")
    await other.enable("lottery")
    theirs = await kernel.workspaces.ref(other.slug)
    with pytest.raises(Problem) as hidden:
        await lottery.grant_tickets(theirs, tickets["id"], stranger, 1, reference="theirs")
    assert hidden.value.status == 404
    assert await lottery.revoke_tickets(theirs, "mine") == 0
    assert await _tickets(tenant, tickets["id"], fan) == 3
