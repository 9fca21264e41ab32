"""Lottery tickets as a reward, through the lottery plugin's public service, in a real app with
referrals and lottery enabled: granted once per reward when a referral converts, taken back when it
is voided — except from a lottery campaign already drawn, whose tickets stay while the void stands;
a lottery that refuses them leaves the rest of the reward paid; setup checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from referrals_helpers import BASE, campaign, inviter, join, settle
from scrm import Kernel
from scrm.testing import problem

LOTTERY = "/api/v1/lottery/campaigns"


async def _ticket_draw(tenant: Any, max_tickets: int = 20) -> int:
    """An open lottery draw campaign in tickets mode."""
    await tenant.enable("lottery")
    at = datetime.now(UTC)
    body = {
        "name": "Friends draw",
        "opens_at": (at - timedelta(minutes=1)).isoformat(),
        "closes_at": (at + timedelta(hours=1)).isoformat(),
        "prizes": [{"name": "Mug", "quantity": 1, "value": 100}],
        "entry_mode": "tickets",
        "ticket_rules": [{"event_type": "live.comment", "tickets": 1}],
        "max_tickets": max_tickets,
    }
    created = await tenant.post(LOTTERY, body)
    assert created.status_code == 201, created.text
    opened = await tenant.post(f"{LOTTERY}/{created.json()['id']}/open")
    assert opened.status_code == 200, opened.text
    lottery_id: int = created.json()["id"]
    return lottery_id


async def _tickets(kernel: Kernel, lottery_id: int) -> dict[int, int]:
    rows = await kernel.sql.fetch("SELECT member_id, tickets FROM lottery_entry WHERE campaign = {}", lottery_id)
    return {r["member_id"]: r["tickets"] for r in rows}


async def _rewards(tenant: Any, referral_id: int) -> dict[str, tuple[str, int]]:
    items = (await tenant.get(f"{BASE}/referrals/{referral_id}/rewards")).json()
    return {r["role"]: (r["state"], r["tickets"]) for r in items}


async def _void(tenant: Any, referral_id: int) -> None:
    response = await tenant.post(f"{BASE}/referrals/{referral_id}/review", {"decision": "void", "note": "fraud"})
    assert response.status_code == 200, response.text


async def test_tickets_are_granted_once_and_taken_back_on_void(tenant: Any, kernel: Kernel) -> None:
    lottery_id = await _ticket_draw(tenant)
    c = await campaign(
        tenant,
        inviter_reward={"tickets": 3, "tag": "ambassador"},
        invitee_reward={"tickets": 1},
        lottery_campaign_id=lottery_id,
    )
    assert (c["inviter_reward"]["tickets"], c["lottery_campaign_id"]) == (3, lottery_id)
    inviter_id, text = await inviter(tenant, c["id"])
    first = await join(tenant, text, "tia")
    second = await join(tenant, text, "tom")
    await settle(kernel, tenant.id)
    # each holds the entry's own ticket plus what their rewards gave
    assert await _tickets(kernel, lottery_id) == {inviter_id: 7, first["invitee_id"]: 2, second["invitee_id"]: 2}
    assert await _rewards(tenant, first["id"]) == {"inviter": ("paid", 3), "invitee": ("paid", 1)}
    await settle(kernel, tenant.id)  # delivering again gives nothing twice
    assert (await _tickets(kernel, lottery_id))[inviter_id] == 7
    await _void(tenant, first["id"])
    assert await _tickets(kernel, lottery_id) == {inviter_id: 4, first["invitee_id"]: 1, second["invitee_id"]: 2}
    assert await _rewards(tenant, first["id"]) == {"inviter": ("void", 3), "invitee": ("void", 1)}
    assert "ambassador" in (await tenant.get(f"/api/v1/members/{inviter_id}")).json()["tags"]  # still earned


async def test_a_drawn_lottery_keeps_its_tickets_and_the_void_stands(tenant: Any, kernel: Kernel) -> None:
    lottery_id = await _ticket_draw(tenant)
    c = await campaign(tenant, inviter_reward={"tickets": 2}, lottery_campaign_id=lottery_id)
    inviter_id, text = await inviter(tenant, c["id"])
    referral = await join(tenant, text, "ulf")
    await settle(kernel, tenant.id)
    assert (await _tickets(kernel, lottery_id))[inviter_id] == 3
    assert (await tenant.post(f"{LOTTERY}/{lottery_id}/close")).status_code == 200
    assert (await tenant.post(f"{LOTTERY}/{lottery_id}/draw")).status_code == 200
    await _void(tenant, referral["id"])
    assert (await tenant.get(f"{BASE}/referrals/{referral['id']}")).json()["state"] == "void"
    assert (await _tickets(kernel, lottery_id))[inviter_id] == 3  # part of the published draw
    # a lottery that no longer takes tickets gives none; the rest of the reward is paid
    other = await join(tenant, text, "val")
    await settle(kernel, tenant.id)
    assert await _rewards(tenant, other["id"]) == {"inviter": ("paid", 0), "invitee": ("paid", 0)}
    assert (await tenant.get(f"{BASE}/referrals/{other['id']}")).json()["state"] == "converted"


async def test_tickets_need_the_lottery_and_a_lottery_campaign(tenant: Any) -> None:
    await tenant.enable("referrals")
    body = {"name": "No lottery", "inviter_reward": {"tickets": 2}, "lottery_campaign_id": 1}
    refused = problem(await tenant.post(f"{BASE}/campaigns", body), 422, "validation-error")
    assert [e["field"] for e in refused["errors"]] == ["inviter_reward.tickets"]
    await tenant.enable("lottery")
    body = {"name": "No campaign", "invitee_reward": {"tickets": 2}}
    refused = problem(await tenant.post(f"{BASE}/campaigns", body), 422, "validation-error")
    assert [e["field"] for e in refused["errors"]] == ["lottery_campaign_id"]
    body = {"name": "Too many", "invitee_reward": {"tickets": 1001}, "lottery_campaign_id": 1}
    refused = problem(await tenant.post(f"{BASE}/campaigns", body), 422, "validation-error")
    assert "tickets" in refused["errors"][0]["field"]
