"""Deliveries: signed per Standard Webhooks (checked by the reference library against a real receiver
on loopback), retried with backoff and jitter for a day then failed, exactly one success per event and
subscription, secret rotation, replay, and a slow receiver never holding up another subscription."""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import scrm
from scrm import Kernel
from scrm_webhooks import deliveries
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from webhooks_helpers import BASE, event, receiver, settle, subscribe
from webhooks_helpers import deliveries as delivery_log


async def _make_due(kernel: Kernel, subscription_id: int) -> None:
    """Move the subscription's waiting retries to now (instead of waiting out the backoff)."""
    await kernel.db.fetch(
        "UPDATE webhooks_delivery SET next_at = {} WHERE subscription = {} AND state = 'pending'",
        datetime.now(UTC) - timedelta(seconds=1),
        subscription_id,
    )


async def test_an_event_is_delivered_signed_and_the_reference_library_verifies_it(kernel: Kernel, tenant: Any) -> None:
    member = await tenant.member(display_name="Ann")
    with receiver() as hook:
        sub = await subscribe(tenant, hook.url, ["order.*"])
        assert sub["secret"].startswith("whsec_")
        await event(tenant, member["id"], "order.paid", amount=42)
        await event(tenant, member["id"], "checkin")  # not subscribed
        await settle(kernel, tenant.id)
    assert len(hook.received) == 1
    got = hook.received[0]
    payload = Webhook(sub["secret"]).verify(got.body, got.headers)
    assert payload["type"] == "order.paid"
    assert payload["data"]["member_id"] == member["id"]
    assert payload["data"]["properties"] == {"amount": 42}
    assert payload["data"]["workspace"] == tenant.slug
    assert sub["secret"] not in got.body.decode()
    assert got.headers["webhook-id"].startswith("msg_")
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
    with pytest.raises(WebhookVerificationError):  # a tampered body fails
        Webhook(sub["secret"]).verify(got.body.replace(b"42", b"43"), got.headers)
    with pytest.raises(WebhookVerificationError):  # another secret fails
        Webhook("whsec_" + "A" * 32).verify(got.body, got.headers)
    [logged] = await delivery_log(tenant, sub["id"])
    assert (logged["state"], logged["attempts"], logged["last_status"]) == ("succeeded", 1, 200)
    detail = (await tenant.get(f"{BASE}/deliveries/{logged['id']}")).json()
    assert [a["status"] for a in detail["attempt_log"]] == [200]
    assert json.loads(detail["payload"]) == payload
    # the subscription as listed never shows its secret
    listed = (await tenant.get(f"{BASE}/subscriptions")).json()
    assert "secret" not in listed[0]


async def test_a_workspace_event_is_delivered_with_no_member(kernel: Kernel, tenant: Any) -> None:
    """The audit plugin's alert (and any event about the workspace itself) reaches the operator's own
    systems: ``member_id`` is null in the payload."""
    with receiver() as hook:
        sub = await subscribe(tenant, hook.url, ["audit.*"])
        ws = await kernel.workspaces.ref(tenant.id)
        alert = scrm.NewEvent(None, "audit.chain_broken", {"chain": "trail", "seq": 4}, source="audit")
        [recorded] = await kernel.events.record(ws, [alert])
        await settle(kernel, tenant.id)
    [got] = hook.received
    payload = Webhook(sub["secret"]).verify(got.body, got.headers)
    assert payload["type"] == "audit.chain_broken"
    assert payload["data"]["id"] == recorded.id
    assert payload["data"]["member_id"] is None
    assert payload["data"]["properties"] == {"chain": "trail", "seq": 4}
    assert payload["data"]["workspace"] == tenant.slug
    [logged] = await delivery_log(tenant, sub["id"])
    assert logged["state"] == "succeeded"


async def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(kernel: Kernel, tenant: Any) -> None:
    member = await tenant.member(display_name="Bo")
    with receiver([500, 503, 200]) as hook:
        sub = await subscribe(tenant, hook.url)
        await event(tenant, member["id"])
        await settle(kernel, tenant.id)
        [first] = await delivery_log(tenant, sub["id"])
        assert (first["state"], first["attempts"], first["last_status"]) == ("pending", 1, 500)
        wait = datetime.fromisoformat(first["next_at"]) - datetime.now(UTC)
        assert timedelta(seconds=3) < wait <= timedelta(seconds=deliveries.FIRST_DELAY_S)
        assert await deliveries.attempt(kernel, first["id"]) is None  # not due yet: nothing sent
        assert len(hook.received) == 1
        for expected in ("pending", "succeeded"):
            await _make_due(kernel, sub["id"])
            assert await deliveries.attempt(kernel, first["id"]) == expected
        await _make_due(kernel, sub["id"])
        assert await deliveries.attempt(kernel, first["id"]) is None  # succeeded: never sent again
    assert len(hook.received) == 3
    assert len({r.headers["webhook-id"] for r in hook.received}) == 1  # the same message each time
    detail = (await tenant.get(f"{BASE}/deliveries/{first['id']}")).json()
    assert [a["status"] for a in detail["attempt_log"]] == [500, 503, 200]
    assert detail["state"] == "succeeded"


async def test_a_receiver_the_outbound_guard_refuses_fails_at_once_unsent(
    kernel: Kernel, tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked again when sending (a name may resolve elsewhere by then): here the deployment no
    longer allows loopback. No request is made, no retry is scheduled, the log says why."""
    member = await tenant.member(display_name="Rae")
    with receiver() as hook:
        sub = await subscribe(tenant, hook.url)
        monkeypatch.setattr(kernel, "outbound", scrm.Outbound())
        await event(tenant, member["id"])
        await settle(kernel, tenant.id)
    assert hook.received == []
    [d] = await delivery_log(tenant, sub["id"])
    assert (d["state"], d["attempts"], d["last_status"]) == ("failed", 1, None)
    assert d["last_error"].startswith("refused: 127.0.0.1 is a loopback address")


def test_backoff_doubles_with_jitter_up_to_an_hour() -> None:
    rng = random.Random(7)  # noqa: S311 - a seeded generator, to test the jitter
    for failures in range(1, 20):
        step = min(deliveries.MAX_DELAY_S, deliveries.FIRST_DELAY_S * 2 ** (failures - 1))
        waits = {deliveries.backoff(failures, rng) for _ in range(50)}
        assert all(step / 2 <= w <= step for w in waits)
        assert len(waits) > 1  # jittered
    # the whole schedule gives up within about a day: from the hourly cap on, ~24 more tries
    assert sum(min(3600, 10 * 2 ** (n - 1)) for n in range(1, 40)) > 86400


async def test_a_delivery_that_fails_for_a_day_is_marked_failed_and_can_be_replayed(
    kernel: Kernel, tenant: Any
) -> None:
    member = await tenant.member(display_name="Cy")
    with receiver([500, 500, 204]) as hook:
        sub = await subscribe(tenant, hook.url)
        await event(tenant, member["id"])
        await settle(kernel, tenant.id)
        [d] = await delivery_log(tenant, sub["id"])
        await kernel.db.fetch(  # a day has passed
            "UPDATE webhooks_delivery SET retry_until = {} WHERE id = {}", datetime.now(UTC), d["id"]
        )
        await _make_due(kernel, sub["id"])
        assert await deliveries.attempt(kernel, d["id"]) == "failed"
        [failed] = await delivery_log(tenant, sub["id"], state="failed")
        assert failed["next_at"] is None
        assert failed["finished_at"]
        replayed = await tenant.post(f"{BASE}/deliveries/{d['id']}/replay")
        assert replayed.status_code == 200, replayed.text
        await kernel.jobs.idle()
    assert [r.headers["webhook-id"] for r in hook.received] == [f"msg_{d['id']}"] * 3
    detail = (await tenant.get(f"{BASE}/deliveries/{d['id']}")).json()
    assert detail["state"] == "succeeded"
    assert [a["status"] for a in detail["attempt_log"]] == [500, 500, 204]


async def test_exactly_one_successful_delivery_per_event_and_subscription(kernel: Kernel, tenant: Any) -> None:
    member = await tenant.member(display_name="Di")
    with receiver() as hook:
        first = await subscribe(tenant, hook.url)
        second = await subscribe(tenant, hook.url, ["order.paid"])
        await event(tenant, member["id"])
        await settle(kernel, tenant.id)
        # the outbox delivering the same events again (at least once) adds no delivery
        stored = await tenant.get("/api/v1/events", params={"member_id": member["id"]})
        ws = await kernel.workspace_ref(tenant.id)
        from scrm import EventOut

        events = [
            EventOut(
                **{
                    **e,
                    "occurred_at": datetime.fromisoformat(e["occurred_at"]),
                    "recorded_at": datetime.fromisoformat(e["recorded_at"]),
                }
            )
            for e in stored.json()["items"]
        ]
        async with kernel.db.transaction():
            await deliveries.record(kernel, ws, events)
        # many jobs racing for every delivery: each is sent once
        ids = [d["id"] for sub in (first, second) for d in await delivery_log(tenant, sub["id"])]
        await kernel.db.fetch(
            "UPDATE webhooks_delivery SET state = 'pending', next_at = {} WHERE subscription IN ({}, {})",
            datetime.now(UTC) - timedelta(seconds=1),
            first["id"],
            second["id"],
        )
        before = len(hook.received)
        outcomes = await asyncio.gather(*(deliveries.attempt(kernel, i) for i in ids for _ in range(6)))
        await kernel.jobs.idle()
    assert len(ids) == 2
    assert before == 2  # one per subscription
    # the forced second round: each delivery sent once more, not six times (by one of the racing
    # attempts here, or by the plugin's own retry job, which races them too)
    assert len(hook.received) == 4
    assert sorted(r.headers["webhook-id"] for r in hook.received[before:]) == sorted(f"msg_{i}" for i in ids)
    assert {o for o in outcomes if o} <= {"succeeded"}


async def test_a_slow_receiver_does_not_hold_up_other_subscriptions(
    kernel: Kernel, tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The slow endpoint holds its request open past the timeout; the other endpoint's delivery
    arrives meanwhile (were deliveries sent one after the other, it would come only after the slow
    one timed out). Measured between the two receivers, so a loaded machine does not make it flaky."""
    monkeypatch.setattr(deliveries, "TIMEOUT_S", 3.0)
    member = await tenant.member(display_name="Ed")
    with receiver(delay_s=6.0) as slow, receiver() as fast:
        slow_sub = await subscribe(tenant, slow.url)
        fast_sub = await subscribe(tenant, fast.url)
        await event(tenant, member["id"])
        await kernel.outbox.drain()
        await kernel.jobs.idle()
    assert slow.received
    assert fast.received
    assert fast.received[0].at < slow.received[0].at + deliveries.TIMEOUT_S
    [slow_d] = await delivery_log(tenant, slow_sub["id"])
    assert slow_d["state"] == "pending"
    assert "Timeout" in slow_d["last_error"]
    [fast_d] = await delivery_log(tenant, fast_sub["id"])
    assert fast_d["state"] == "succeeded"


async def test_rotation_keeps_the_old_secret_valid_next_to_the_new_one(kernel: Kernel, tenant: Any) -> None:
    member = await tenant.member(display_name="Flo")
    with receiver() as hook:
        sub = await subscribe(tenant, hook.url)
        rotated = await tenant.post(f"{BASE}/subscriptions/{sub['id']}/rotate", {"keep_previous_s": 3600})
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()
        assert new["secret"] != sub["secret"]
        assert new["previous_secret_until"]
        await event(tenant, member["id"])
        await settle(kernel, tenant.id)
        got = hook.received[-1]
        assert len(got.headers["webhook-signature"].split(" ")) == 2
        for secret in (sub["secret"], new["secret"]):
            Webhook(secret).verify(got.body, got.headers)
        # once the old secret expires, only the new one signs
        await kernel.db.fetch(
            "UPDATE webhooks_subscription SET previous_until = {} WHERE id = {}", datetime.now(UTC), sub["id"]
        )
        await event(tenant, member["id"], "order.refunded")
        await settle(kernel, tenant.id)
        got = hook.received[-1]
    Webhook(new["secret"]).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(sub["secret"]).verify(got.body, got.headers)
    assert (await tenant.get(f"{BASE}/subscriptions/{sub['id']}")).json()["previous_secret_until"] is None


async def test_a_paused_subscription_gets_nothing(kernel: Kernel, tenant: Any) -> None:
    member = await tenant.member(display_name="Gus")
    with receiver() as hook:
        sub = await subscribe(tenant, hook.url)
        paused = await tenant.patch(f"{BASE}/subscriptions/{sub['id']}", {"active": False})
        assert paused.json()["active"] is False
        await event(tenant, member["id"])
        await settle(kernel, tenant.id)
    assert hook.received == []
    assert await delivery_log(tenant, sub["id"]) == []


async def test_the_retry_window_is_a_checked_setting(kernel: Kernel, tenant: Any) -> None:
    bad = await tenant.post("/api/v1/plugins", {"name": "webhooks", "enabled": True, "settings": {"retry_hours": 0}})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["settings.retry_hours"]
    member = await tenant.member(display_name="Hal")
    with receiver([500]) as hook:
        await tenant.enable("webhooks", {"retry_hours": 2})
        sub = await subscribe(tenant, hook.url)
        await event(tenant, member["id"])
        await settle(kernel, tenant.id)
    [row] = await kernel.db.fetch(
        "SELECT created_at, retry_until FROM webhooks_delivery WHERE subscription = {}", sub["id"]
    )
    from scrm import as_datetime

    assert as_datetime(row["retry_until"]) - as_datetime(row["created_at"]) == timedelta(hours=2)
