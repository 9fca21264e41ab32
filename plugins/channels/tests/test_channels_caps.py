"""Frequency caps and provider rates hold under concurrency: a burst of deliveries to one member
racing on several connections sends exactly the cap; the rest are scheduled for when the window
frees a place (or refused and counted where the rule does not delay). No clock minute sees more
calls to a provider than its rate. Quiet hours are looked at again just before a message goes out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from channels_helpers import BASE, Mailbox, mailbox, ready
from scrm import Kernel
from scrm_channels import messages, rules

__all__ = ["mailbox"]

BURST = 20


async def burst(
    tenant: Any, kernel: Kernel, member_id: int, monkeypatch: pytest.MonkeyPatch, count: int = BURST
) -> list[int]:
    """``count`` messages queued to one member, then delivered all at once (each delivery racing the
    others, and whatever the in-process sweep queues meanwhile)."""

    async def hold(kernel: Kernel, message_id: int, attempts: int) -> None:
        return None

    ws = await kernel.workspace_ref(tenant.id)
    with monkeypatch.context() as patch:
        patch.setattr(messages, "_enqueue", hold)
        sent = [
            await messages.send(kernel, ws, member_id, "marketing.email", "welcome", reference=f"burst-{n}")
            for n in range(count)
        ]
    assert {s.status for s in sent} == {"queued"}
    ids = [s.message_id for s in sent if s.message_id is not None]
    await asyncio.gather(*(messages.deliver(kernel, message_id) for message_id in ids))
    await kernel.jobs.idle()
    return ids


async def statuses(kernel: Kernel, ids: list[int]) -> dict[str, int]:
    rows = await kernel.sql.fetch(
        "SELECT status, COUNT(*) AS n FROM channels_message WHERE id IN ({}) GROUP BY status".format(
            ", ".join("{}" for _ in ids)
        ),
        *ids,
    )
    return {r["status"]: int(r["n"]) for r in rows}


async def test_a_burst_to_one_member_sends_exactly_the_cap(
    tenant: Any, kernel: Kernel, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = await ready(tenant, mailbox)
    rule = {"cap": 3, "cap_days": 7}
    assert (await tenant.client.put(f"{BASE}/rules/marketing.email", json=rule, headers=tenant.headers())).is_success
    ids = await burst(tenant, kernel, member["id"], monkeypatch)

    assert await statuses(kernel, ids) == {"sent": 3, "scheduled": BURST - 3}
    assert len(mailbox.to("ann@example.test")) == 3
    held = (await tenant.get(f"{BASE}/messages", params={"status": "scheduled", "limit": 50})).json()["items"]
    assert {m["detail"] for m in held} == {"frequency cap: 3 per 7 days"}
    # once the three are sent, a held message looks again and waits for the window: a week after the first
    sent = (await tenant.get(f"{BASE}/messages", params={"status": "sent"})).json()["items"]
    first = min(datetime.fromisoformat(m["sent_at"]) for m in sent)
    await kernel.sql.fetch("UPDATE channels_message SET next_at = {} WHERE id = {}", datetime.now(UTC), held[0]["id"])
    assert await messages.deliver(kernel, held[0]["id"]) == "scheduled"
    again = (await tenant.get(f"{BASE}/messages/{held[0]['id']}")).json()
    assert first + timedelta(days=7) - timedelta(seconds=5) <= datetime.fromisoformat(again["next_at"])
    assert datetime.fromisoformat(again["next_at"]) <= first + timedelta(days=7, seconds=5)
    assert len(mailbox.received) == 3


async def test_without_delay_the_rest_of_a_burst_is_refused_and_counted(
    tenant: Any, kernel: Kernel, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = await ready(tenant, mailbox)
    rule = {"cap": 2, "cap_days": 1, "delay": False}
    assert (await tenant.client.put(f"{BASE}/rules/marketing.email", json=rule, headers=tenant.headers())).is_success
    ids = await burst(tenant, kernel, member["id"], monkeypatch)

    assert await statuses(kernel, ids) == {"sent": 2, "cancelled": BURST - 2}
    assert len(mailbox.received) == 2
    refusals = (await tenant.get(f"{BASE}/refusals")).json()
    assert refusals["total"] == BURST - 2
    assert {c["reason"] for c in refusals["counts"]} == {"frequency cap: 2 per 1 days"}


async def test_a_burst_never_exceeds_the_providers_rate(
    tenant: Any, kernel: Kernel, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = await ready(tenant, mailbox)
    await kernel.sql.fetch("UPDATE channels_provider SET rate_per_minute = 4 WHERE workspace = {}", tenant.id)
    ids = await burst(tenant, kernel, member["id"], monkeypatch)

    minutes = await kernel.sql.fetch("SELECT calls FROM channels_rate WHERE workspace = {}", tenant.id)
    assert minutes
    assert all(m["calls"] <= 4 for m in minutes)  # per clock minute (a burst may straddle two)
    sent = await statuses(kernel, ids)
    assert sent["sent"] == sum(m["calls"] for m in minutes) == len(mailbox.received)
    assert sent == {"sent": sent["sent"], "queued": BURST - sent["sent"]}  # the rest wait, no attempt counted
    held = await kernel.sql.fetch(
        "SELECT DISTINCT detail, attempts FROM channels_message WHERE workspace = {} AND status = 'queued'", tenant.id
    )
    assert [(h["detail"], h["attempts"]) for h in held] == [("rate limit", 0)]


async def test_quiet_hours_that_began_after_the_door_answered_still_hold(
    tenant: Any, kernel: Kernel, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = await ready(tenant, mailbox)
    ws = await kernel.workspace_ref(tenant.id)
    local = datetime.now(ZoneInfo(ws.time_zone))
    start, end = local - timedelta(minutes=5), local + timedelta(hours=2)
    rule = {"quiet_from": f"{start:%H:%M}", "quiet_until": f"{end:%H:%M}"}
    assert (await tenant.client.put(f"{BASE}/rules/marketing.email", json=rule, headers=tenant.headers())).is_success

    async def no_veto(*args: Any) -> None:
        return None  # the door answered just before the quiet hours began

    monkeypatch.setattr(rules, "veto", no_veto)
    [message_id] = await burst(tenant, kernel, member["id"], monkeypatch, count=1)

    held = (await tenant.get(f"{BASE}/messages/{message_id}")).json()
    assert (held["status"], held["attempts"]) == ("scheduled", 0)
    assert held["detail"] == f"quiet hours {rule['quiet_from']}–{rule['quiet_until']} ({ws.time_zone})"
    expected = end.replace(second=0, microsecond=0).astimezone(UTC)
    assert datetime.fromisoformat(held["next_at"]) == expected
    assert mailbox.received == []
