"""Conversion and rewards: conversions detected from delivered events, rewards paid exactly once per
referral and role under 100 concurrent joins, concurrent and repeated deliveries; caps per inviter;
second-level credit; a conversion event within N days; held rewards, approval, and voids that
reverse what was paid."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from referrals_helpers import BASE, campaign, code, inviter, join, rewards, settle
from scrm import EventFilter, Kernel, NewEvent
from scrm.testing import problem
from scrm_referrals import conversion


async def _balance(tenant: Any, member_id: int) -> int:
    response = await tenant.get(f"/api/v1/points/members/{member_id}")
    assert response.status_code == 200, response.text
    balance: int = response.json()["balance"]
    return balance


async def _joined_events(kernel: Kernel, tenant: Any) -> list[Any]:
    ws = await kernel.workspaces.ref(tenant.slug)
    page = await kernel.events.list(ws, EventFilter(type="referral.joined"), None, 500)
    return list(page.items)


async def test_joining_converts_and_both_are_rewarded(tenant: Any, kernel: Kernel) -> None:
    await tenant.enable("points")
    c = await campaign(
        tenant, inviter_reward={"points": 50, "tag": "ambassador"}, invitee_reward={"points": 20, "tag": "invited"}
    )
    inviter_id, text = await inviter(tenant, c["id"])
    referral = await join(tenant, text, "hal")
    await settle(kernel, tenant.id)
    got = (await tenant.get(f"{BASE}/referrals/{referral['id']}")).json()
    assert got["state"] == "converted"
    assert await rewards(kernel, referral["id"]) == [("invitee", "paid", 20), ("inviter", "paid", 50)]
    assert await _balance(tenant, inviter_id) == 50
    assert await _balance(tenant, referral["invitee_id"]) == 20
    assert "ambassador" in (await tenant.get(f"/api/v1/members/{inviter_id}")).json()["tags"]
    assert "invited" in (await tenant.get(f"/api/v1/members/{referral['invitee_id']}")).json()["tags"]
    ws = await kernel.workspaces.ref(tenant.slug)
    rewarded = await kernel.events.list(ws, EventFilter(type="referral.rewarded"), None, 10)
    assert sorted(e.properties["role"] for e in rewarded.items) == ["invitee", "inviter"]


async def test_100_concurrent_joins_and_redeliveries_reward_once(tenant: Any, kernel: Kernel) -> None:
    await tenant.enable("points")
    c = await campaign(tenant, inviter_reward={"points": 10}, invitee_reward={"points": 5}, burst_limit=1000)
    inviter_id, text = await inviter(tenant, c["id"])
    body = [{"code": text, "member": {"external_id": f"crowd-{i}"}} for i in range(100)]
    replies = await asyncio.gather(*(tenant.post(f"{BASE}/joins", b) for b in body))
    assert [r.status_code for r in replies] == [201] * 100
    events = await _joined_events(kernel, tenant)
    ws = await kernel.workspaces.ref(tenant.slug)

    async def deliver(batch: list[Any]) -> None:
        async with kernel.db.transaction():
            await conversion.on_events(kernel, ws, batch)

    # the outbox delivering, and the same events delivered again at once, many times over
    await asyncio.gather(
        settle(kernel, tenant.id), *(deliver(events[i::5]) for i in range(5)), *(deliver(events) for _ in range(5))
    )
    await settle(kernel, tenant.id)
    await asyncio.gather(*(deliver(events) for _ in range(3)))
    rows = await kernel.sql.fetch(
        "SELECT role, COUNT(*) AS n, COUNT(DISTINCT referral) AS referrals FROM referrals_reward "
        "WHERE campaign = {} GROUP BY role ORDER BY role",
        c["id"],
    )
    assert [(r["role"], r["n"], r["referrals"]) for r in rows] == [("invitee", 100, 100), ("inviter", 100, 100)]
    assert await _balance(tenant, inviter_id) == 1000
    rewarded = await kernel.events.list(ws, EventFilter(type="referral.rewarded", member_id=inviter_id), None, 500)
    assert len(rewarded.items) == 100
    converted = await kernel.sql.fetch(
        "SELECT COUNT(*) AS n FROM referrals_referral WHERE campaign = {} AND state = 'converted'", c["id"]
    )
    assert converted[0]["n"] == 100


async def test_caps_hold_under_concurrency(tenant: Any, kernel: Kernel) -> None:
    await tenant.enable("points")
    c = await campaign(tenant, inviter_reward={"points": 10}, daily_cap=3, total_cap=5)
    inviter_id, text = await inviter(tenant, c["id"])
    replies = await asyncio.gather(
        *(tenant.post(f"{BASE}/joins", {"code": text, "member": {"external_id": f"cap-{i}"}}) for i in range(12))
    )
    assert [r.status_code for r in replies] == [201] * 12
    await settle(kernel, tenant.id)
    rows = await kernel.sql.fetch(
        "SELECT state, COUNT(*) AS n FROM referrals_reward WHERE campaign = {} AND role = 'inviter' GROUP BY state "
        "ORDER BY state",
        c["id"],
    )
    assert [(r["state"], r["n"]) for r in rows] == [("capped", 9), ("paid", 3)]
    assert await _balance(tenant, inviter_id) == 30
    # every conversion still counts for K
    k = (await tenant.get(f"{BASE}/k", params={"campaign_id": c["id"]})).json()
    assert k["conversions"] == 12


async def test_second_level_credit_stops_at_two_levels(tenant: Any, kernel: Kernel) -> None:
    await tenant.enable("points")
    c = await campaign(tenant, levels=2, inviter_reward={"points": 10}, second_reward={"points": 3})
    a_id, a_code = await inviter(tenant, c["id"], "A")
    b = await join(tenant, a_code, "B")
    b_code = await code(tenant, c["id"], b["invitee_id"])
    c_ref = await join(tenant, b_code, "C")
    c_code = await code(tenant, c["id"], c_ref["invitee_id"])
    d_ref = await join(tenant, c_code, "D")
    await settle(kernel, tenant.id)
    assert c_ref["second_id"] == a_id
    assert d_ref["second_id"] == b["invitee_id"]  # never A: two levels at most
    assert await rewards(kernel, d_ref["id"]) == [
        ("invitee", "paid", 0),
        ("inviter", "paid", 10),
        ("second", "paid", 3),
    ]
    assert await _balance(tenant, a_id) == 10 + 3
    assert await _balance(tenant, b["invitee_id"]) == 10 + 3


async def test_a_conversion_event_within_n_days(tenant: Any, kernel: Kernel) -> None:
    c = await campaign(tenant, conversion_event="order.paid", conversion_days=7, inviter_reward={"tag": "recruiter"})
    _, text = await inviter(tenant, c["id"])
    late = await join(tenant, text, "late")
    keen = await join(tenant, text, "keen")
    await settle(kernel, tenant.id)
    assert (await tenant.get(f"{BASE}/referrals/{keen['id']}")).json()["state"] == "pending"
    ws = await kernel.workspaces.ref(tenant.slug)
    joined = (await tenant.get(f"{BASE}/referrals/{late['id']}")).json()["joined_at"]
    from datetime import datetime

    at = datetime.fromisoformat(joined)
    await kernel.events.record(
        ws,
        [
            NewEvent(late["invitee_id"], "order.paid", {}, occurred_at=at + timedelta(days=8)),
            NewEvent(keen["invitee_id"], "order.paid", {}, occurred_at=at + timedelta(days=1)),
            NewEvent(keen["invitee_id"], "order.paid", {}, occurred_at=at + timedelta(days=2)),
        ],
    )
    await settle(kernel, tenant.id)
    assert (await tenant.get(f"{BASE}/referrals/{late['id']}")).json()["state"] == "pending"
    assert (await tenant.get(f"{BASE}/referrals/{keen['id']}")).json()["state"] == "converted"
    assert await rewards(kernel, keen["id"]) == [("invitee", "paid", 0), ("inviter", "paid", 0)]


async def test_suspicious_rewards_are_held_then_approved_or_voided(tenant: Any, kernel: Kernel) -> None:
    await tenant.enable("points")
    c = await campaign(tenant, source_limit=1, inviter_reward={"points": 10, "tag": "ambassador"})
    inviter_id, text = await inviter(tenant, c["id"])
    clean = await join(tenant, text, "clean", source="9.9.9.9")
    odd = await join(tenant, text, "odd", source="9.9.9.9")
    odder = await join(tenant, text, "odder", source="9.9.9.9")
    await settle(kernel, tenant.id)
    queue = (await tenant.get(f"{BASE}/referrals", params={"state": "held"})).json()["items"]
    assert sorted(r["id"] for r in queue) == sorted([odd["id"], odder["id"]])
    assert await rewards(kernel, odd["id"]) == [("invitee", "held", 0), ("inviter", "held", 10)]
    assert await _balance(tenant, inviter_id) == 10
    approved = await tenant.post(f"{BASE}/referrals/{odd['id']}/review", {"decision": "approve", "note": "checked"})
    assert approved.json()["state"] == "converted"
    assert await _balance(tenant, inviter_id) == 20
    problem(
        await tenant.post(f"{BASE}/referrals/{odd['id']}/review", {"decision": "approve"}), 409, "referrals-wrong-state"
    )
    voided = await tenant.post(f"{BASE}/referrals/{odder['id']}/review", {"decision": "void"})
    assert voided.json()["state"] == "void"
    assert await rewards(kernel, odder["id"]) == [("invitee", "void", 0), ("inviter", "void", 10)]
    assert await _balance(tenant, inviter_id) == 20
    # voiding a paid referral reverses its points; the tag stays while another paid reward gave it
    replies = await asyncio.gather(
        *(tenant.post(f"{BASE}/referrals/{clean['id']}/review", {"decision": "void"}) for _ in range(10))
    )
    assert sorted(r.status_code for r in replies) == [200] + [409] * 9
    assert await _balance(tenant, inviter_id) == 10
    assert "ambassador" in (await tenant.get(f"/api/v1/members/{inviter_id}")).json()["tags"]  # odd's reward
    await tenant.post(f"{BASE}/referrals/{odd['id']}/review", {"decision": "void"})
    assert await _balance(tenant, inviter_id) == 0
    assert "ambassador" not in (await tenant.get(f"/api/v1/members/{inviter_id}")).json()["tags"]
    await settle(kernel, tenant.id)
    assert (await tenant.get(f"{BASE}/referrals/{clean['id']}")).json()["state"] == "void"


async def test_rewards_work_without_points(tenant: Any, kernel: Kernel) -> None:
    c = await campaign(tenant, invitee_reward={"tag": "friend"})
    _, text = await inviter(tenant, c["id"])
    referral = await join(tenant, text, "nopoints")
    await settle(kernel, tenant.id)
    assert await rewards(kernel, referral["id"]) == [("invitee", "paid", 0), ("inviter", "paid", 0)]
    problem(
        await tenant.post(f"{BASE}/campaigns", {"name": "x", "inviter_reward": {"points": 5}}),
        422,
        "validation-error",
    )
