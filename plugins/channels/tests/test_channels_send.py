"""Sending through the consent door to a real SMTP server on loopback: delivery, refusal counting,
idempotency under redelivery and concurrency, retries and bounces, the timeline, one-click
unsubscribe, and quiet hours and caps (across time zones) that delay rather than drop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import scrm
from channels_helpers import BASE, Mailbox, consenting, early_in_a_minute, mailbox, ready, send, smtp_provider, template
from scrm import Kernel
from scrm.testing import problem
from scrm_channels import messages, rules

__all__ = ["mailbox"]


async def deliver_all(kernel: Kernel) -> None:
    await kernel.jobs.idle()


async def test_a_send_arrives_with_one_click_unsubscribe_headers(tenant: Any, kernel: Kernel, mailbox: Mailbox) -> None:
    member = await ready(tenant, mailbox)
    result = await send(tenant, member["id"], data={"offer": "10% off"})
    assert result["status"] == "queued"
    await deliver_all(kernel)
    [mail] = mailbox.to("ann@example.test")
    assert mail["Subject"] == "Welcome, Ann"
    assert "Hello Ann! 10% off" in mail.get_content()
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["List-Unsubscribe"].startswith("<http")
    assert "/api/v1/channels/unsubscribe/" in mail["List-Unsubscribe"]
    message = (await tenant.get(f"{BASE}/messages/{result['message_id']}")).json()
    assert message["status"] == "sent"
    assert message["attempts"] == 1
    assert [a["status"] for a in message["history"]] == ["sent"]
    # what the audit report checks against the consent ledger: the sent message, with consent in force
    ws = await kernel.workspaces.ref(tenant.id)
    service = kernel.service("channels", ws)
    now = datetime.now(UTC)
    contacts = await service.contacts(ws, now - timedelta(hours=1), now + timedelta(seconds=1))
    assert [(c.member_id, c.purpose) for c in contacts] == [(member["id"], "marketing.email")]
    assert await kernel.consents.without_consent(ws, contacts) == []
    timeline = (await tenant.get(f"/api/v1/members/{member['id']}/events")).json()["items"]
    assert {"channels.queued", "channels.sent"} <= {e["type"] for e in timeline}


async def test_a_refusal_sends_nothing_and_is_counted(tenant: Any, kernel: Kernel, mailbox: Mailbox) -> None:
    await ready(tenant, mailbox)
    silent = await tenant.member(display_name="Bo", identities={"email": "bo@example.test"})
    for _ in range(2):
        result = await send(tenant, silent["id"])
        assert result == {
            "status": "refused",
            "message_id": None,
            "reason": "no consent recorded",
            "next_at": None,
            "duplicate": False,
        }
    await deliver_all(kernel)
    assert mailbox.received == []
    report = (await tenant.get(f"{BASE}/refusals")).json()
    assert report == {
        "total": 2,
        "counts": [{"purpose": "marketing.email", "reason": "no consent recorded", "count": 2}],
    }
    # counted by the core's door counters, with the template's channel
    totals = await kernel.consents.refusals.totals(await kernel.workspaces.ref(tenant.id))
    assert totals == [scrm.RefusalCount("marketing.email", "email", "no consent recorded", 2)]
    assert (await tenant.get(f"{BASE}/messages")).json()["items"] == []


async def test_sends_are_idempotent_per_reference_under_redelivery(
    tenant: Any, kernel: Kernel, mailbox: Mailbox
) -> None:
    member = await ready(tenant, mailbox)
    results = await asyncio.gather(*(send(tenant, member["id"], reference="order-1") for _ in range(8)))
    ids = {r["message_id"] for r in results}
    assert len(ids) == 1
    assert sum(not r["duplicate"] for r in results) == 1
    await deliver_all(kernel)
    # the delivery job run again (a redelivered job, a second worker) finds nothing to do
    assert await messages.deliver(kernel, ids.pop()) is None
    again = await send(tenant, member["id"], reference="order-1")
    assert again["duplicate"]
    assert again["status"] == "sent"
    assert len(mailbox.to("ann@example.test")) == 1
    await send(tenant, member["id"], reference="order-2")
    await deliver_all(kernel)
    assert len(mailbox.to("ann@example.test")) == 2


async def test_a_temporary_failure_retries_with_backoff_and_a_bounce_stops(
    tenant: Any, kernel: Kernel, mailbox: Mailbox
) -> None:
    member = await ready(tenant, mailbox)
    mailbox.refuse["ann@example.test"] = "451 4.3.0 try again later"
    result = await send(tenant, member["id"])
    await deliver_all(kernel)
    message = (await tenant.get(f"{BASE}/messages/{result['message_id']}")).json()
    assert message["status"] == "queued"
    assert message["attempts"] == 1
    assert message["history"][0]["status"] == "retry"
    assert "451" in message["history"][0]["detail"]
    due = datetime.fromisoformat(message["next_at"])
    assert timedelta(seconds=25) < due - datetime.now(UTC) < timedelta(seconds=35)
    # not due yet: a sweep leaves it; once due, the next attempt goes through
    assert result["message_id"] not in await messages.sweep(kernel)
    del mailbox.refuse["ann@example.test"]
    await kernel.sql.fetch(
        "UPDATE channels_message SET next_at = {} WHERE id = {}", datetime.now(UTC), result["message_id"]
    )
    assert result["message_id"] in await messages.sweep(kernel)
    await deliver_all(kernel)
    message = (await tenant.get(f"{BASE}/messages/{result['message_id']}")).json()
    assert message["status"] == "sent"
    assert message["attempts"] == 2
    assert messages.backoff(1) < messages.backoff(2) < messages.backoff(3)

    other = await consenting(tenant, display_name="Gone", identities={"email": "gone@example.test"})
    mailbox.refuse["gone@example.test"] = "550 5.1.1 no such user"
    bounced = await send(tenant, other["id"])
    await deliver_all(kernel)
    message = (await tenant.get(f"{BASE}/messages/{bounced['message_id']}")).json()
    assert message["status"] == "bounced"
    timeline = (await tenant.get(f"/api/v1/members/{other['id']}/events")).json()["items"]
    assert "channels.bounced" in {e["type"] for e in timeline}


async def test_the_door_is_asked_again_at_delivery(tenant: Any, kernel: Kernel, mailbox: Mailbox) -> None:
    member = await ready(tenant, mailbox)
    await kernel.sql.fetch("UPDATE channels_provider SET rate_per_minute = 1 WHERE workspace = {}", tenant.id)
    await early_in_a_minute()
    first = await send(tenant, member["id"])
    await deliver_all(kernel)
    # over the provider's rate: the second waits (not an attempt)
    second = await send(tenant, member["id"])
    await deliver_all(kernel)
    held = (await tenant.get(f"{BASE}/messages/{second['message_id']}")).json()
    assert held["status"] == "queued"
    assert held["attempts"] == 0
    assert held["detail"] == "rate limit"
    # consent withdrawn while it waits: it is cancelled, not sent, and the refusal counted
    await tenant.post(
        "/api/v1/consents", [{"member_id": member["id"], "purpose": "marketing.email", "status": "withdrawn"}]
    )
    await kernel.sql.fetch(
        "UPDATE channels_message SET next_at = {} WHERE id = {}", datetime.now(UTC), second["message_id"]
    )
    assert await messages.deliver(kernel, second["message_id"]) == "cancelled"
    assert len(mailbox.received) == 1
    assert (await tenant.get(f"{BASE}/messages/{first['message_id']}")).json()["status"] == "sent"
    assert (await tenant.get(f"{BASE}/refusals")).json()["total"] == 1


async def test_one_click_unsubscribe_withdraws_consent(
    tenant: Any, kernel: Kernel, mailbox: Mailbox, client: httpx.AsyncClient
) -> None:
    member = await ready(tenant, mailbox)
    await send(tenant, member["id"])
    await deliver_all(kernel)
    link = mailbox.received[0]["List-Unsubscribe"].strip("<>")
    path = link[link.index("/api/v1/") :]
    page = await client.get(path)
    assert page.status_code == 200
    assert "<form method=post>" in page.text
    assert (await tenant.get(f"/api/v1/members/{member['id']}/consents")).json()["current"][0]["status"] == "granted"
    clicked = await client.post(
        path, content=b"List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert clicked.status_code == 200
    assert (await client.post(path)).status_code == 200  # twice is harmless
    state = (await tenant.get(f"/api/v1/members/{member['id']}/consents")).json()
    assert [(c["status"], c["source"]) for c in state["history"]][-1] == ("withdrawn", "unsubscribe-link")
    assert len(state["history"]) == 2
    assert (await send(tenant, member["id"]))["status"] == "refused"
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert (await client.post(forged)).status_code == 404


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    class Clock:
        at = datetime.now(UTC)

        def set(self, at: datetime) -> None:
            self.at = at

    clock = Clock()
    monkeypatch.setattr(rules, "now", lambda: clock.at)
    return clock


async def test_quiet_hours_delay_in_the_workspaces_time_zone(
    tenant: Any, other: Any, kernel: Kernel, mailbox: Mailbox, clock: Any
) -> None:
    shanghai = await ready(tenant, mailbox)
    await kernel.workspaces.update(tenant.slug, scrm.WorkspaceUpdate(time_zone="Asia/Shanghai"))
    new_york = await ready(other, mailbox)
    await kernel.workspaces.update(other.slug, scrm.WorkspaceUpdate(time_zone="America/New_York"))
    kernel.forget_cached()
    quiet = {"quiet_from": "22:00", "quiet_until": "08:00"}
    for t in (tenant, other):
        assert (await t.client.put(f"{BASE}/rules/marketing.email", json=quiet, headers=t.headers())).status_code == 200
    # 15:00 UTC: 23:00 in Shanghai (quiet), 10:00 in New York (allowed; January: EST)
    clock.set(datetime(2027, 1, 15, 15, 0, tzinfo=UTC))
    late = await send(tenant, shanghai["id"])
    assert late["status"] == "scheduled"
    assert late["reason"] == "quiet hours 22:00–08:00 (Asia/Shanghai)"
    assert datetime.fromisoformat(late["next_at"]) == datetime(2027, 1, 16, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    assert (await send(other, new_york["id"]))["status"] == "queued"
    probe = await tenant.get(f"/api/v1/members/{shanghai['id']}/can-contact", params={"purpose": "marketing.email"})
    if probe.status_code == 200:
        assert probe.json()["reason"].startswith("quiet hours")
    # without delay, the rule refuses instead
    await tenant.client.put(f"{BASE}/rules/marketing.email", json={**quiet, "delay": False}, headers=tenant.headers())
    assert (await send(tenant, shanghai["id"]))["status"] == "refused"


async def test_a_frequency_cap_schedules_the_next_message(
    tenant: Any, kernel: Kernel, mailbox: Mailbox, clock: Any
) -> None:
    member = await ready(tenant, mailbox)
    await tenant.client.put(f"{BASE}/rules/marketing.email", json={"cap": 1, "cap_days": 7}, headers=tenant.headers())
    clock.set(datetime.now(UTC))
    await send(tenant, member["id"], reference="week-1")
    await deliver_all(kernel)
    capped = await send(tenant, member["id"], reference="week-1b")
    assert capped["status"] == "scheduled"
    assert capped["reason"] == "frequency cap: 1 per 7 days"
    sent_at = datetime.fromisoformat(
        (await tenant.get(f"{BASE}/messages", params={"status": "sent"})).json()["items"][0]["sent_at"]
    )
    assert abs(datetime.fromisoformat(capped["next_at"]) - (sent_at + timedelta(days=7))) < timedelta(seconds=1)
    assert len(mailbox.received) == 1
    # a week later the sweep delivers it
    clock.set(sent_at + timedelta(days=7, seconds=1))
    await kernel.sql.fetch(
        "UPDATE channels_message SET next_at = {} WHERE id = {}", datetime.now(UTC), capped["message_id"]
    )
    await messages.sweep(kernel)
    await deliver_all(kernel)
    assert len(mailbox.received) == 2


async def test_templates_are_moderated_per_language_and_rendered_in_a_sandbox(
    tenant: Any, kernel: Kernel, mailbox: Mailbox
) -> None:
    member = await ready(tenant, mailbox)
    zh = await consenting(
        tenant, display_name="李雷", identities={"email": "li@example.test"}, attributes={"language": "zh_CN"}
    )
    await template(tenant, language="zh_CN", subject="欢迎，{{ member.display_name }}", body="你好")
    await send(tenant, zh["id"])
    await send(tenant, member["id"])
    await deliver_all(kernel)
    assert mailbox.to("li@example.test")[0]["Subject"] == "欢迎，李雷"
    assert mailbox.to("ann@example.test")[0]["Subject"] == "Welcome, Ann"
    # a banned term holds the template: it cannot be sent
    await tenant.post("/api/v1/moderation/terms", {"terms": [{"term": "guaranteed profit", "severity": "high"}]})
    held = await template(tenant, name="promo", body="A guaranteed profit for you")
    assert held["status"] == "held"
    assert held["findings"][0]["term"] == "guaranteed profit"
    problem(
        await tenant.post(
            f"{BASE}/messages", {"member_id": member["id"], "purpose": "marketing.email", "template": "promo"}
        ),
        409,
        "channels-template-held",
    )
    fixed = await tenant.patch(f"{BASE}/templates/{held['id']}", {"body": "A fair offer"})
    assert fixed.json()["status"] == "approved"
    # the sandbox refuses Python internals; a broken template is a 422 when saved
    problem(await tenant.post(f"{BASE}/templates", {"name": "bad", "body": "{% if %}"}), 422, "validation-error")
    sneaky = await template(tenant, name="sneaky", body="{{ member.__class__.__mro__ }}")
    preview = await tenant.post(f"{BASE}/templates/{sneaky['id']}/preview", {"member_id": member["id"]})
    assert preview.status_code == 422
    assert "unsafe" in preview.text
    assert "<class" not in preview.text
    shown = await tenant.post(f"{BASE}/templates/{fixed.json()['id']}/preview", {"member_id": member["id"]})
    assert shown.json() == {"subject": "Welcome, Ann", "body": "A fair offer", "recipient": "ann@example.test"}


async def test_secrets_are_encrypted_at_rest_and_never_shown(tenant: Any, kernel: Kernel, mailbox: Mailbox) -> None:
    await tenant.enable("channels")
    created = await smtp_provider(tenant, mailbox, secret="hunter2-very-secret")  # noqa: S106
    assert "hunter2" not in str(created)
    assert created["has_secret"] is True
    rows = await kernel.sql.fetch("SELECT secret, config FROM channels_provider WHERE id = {}", created["id"])
    assert "hunter2" not in rows[0]["secret"]
    assert "hunter2" not in rows[0]["config"]
    from scrm_channels.catalog import box

    assert box(kernel).open(rows[0]["secret"]) == "hunter2-very-secret"
    listed = await tenant.get(f"{BASE}/providers")
    assert "hunter2" not in listed.text
    await tenant.patch(f"{BASE}/providers/{created['id']}", {"config": {"port": 2525}})
    assert (
        box(kernel).open(
            (await kernel.sql.fetch("SELECT secret FROM channels_provider WHERE id = {}", created["id"]))[0]["secret"]
        )
        == "hunter2-very-secret"
    )


@pytest.mark.parametrize(
    ("event_type", "source", "name"),
    [
        ("lottery.notify", "lottery", "lottery-winner"),
        ("contests.notify", "contests", "contests-winner"),
        ("referral.rewarded", "referrals", "referral-reward"),
    ],
)
async def test_winners_and_rewards_are_told_through_channels(
    tenant: Any, kernel: Kernel, mailbox: Mailbox, event_type: str, source: str, name: str
) -> None:
    member = await ready(tenant, mailbox)
    ws = await kernel.workspaces.ref(tenant.slug)
    notice = scrm.NewEvent(
        member["id"],
        event_type,
        {"campaign": "Spring draw", "prize": "Mug", "purpose": "marketing.email"},
        source=source,
        idempotency_key=f"{event_type}:1",
    )
    await kernel.events.record(ws, [notice])
    await deliver_all(kernel)
    assert mailbox.received == []  # no template of that name: nothing is sent
    await template(tenant, name=name, subject="You won {{ data.prize }}", body="{{ data.campaign }}")
    await kernel.events.record(
        ws,
        [scrm.NewEvent(member["id"], event_type, {"campaign": "Summer", "prize": "Cup"}, source=source)],
    )
    await deliver_all(kernel)
    [mail] = mailbox.received
    assert mail["Subject"] == "You won Cup"
    # the same event delivered again sends nothing more
    again = await kernel.sql.fetch(
        "SELECT COUNT(*) AS n FROM channels_message WHERE workspace = {} AND template = {}", tenant.id, name
    )
    assert again[0]["n"] == 1
