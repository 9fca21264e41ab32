"""The webhooks plugin's console pages: subscribing (the secret shown once), the delivery log with
replay, pausing and rotating; what a viewer may do; form errors; no crossing workspaces."""

from __future__ import annotations

import re
from typing import Any

from console_client import SignIn, text_of
from scrm import Kernel


def base(tenant: Any) -> str:
    return f"/console/w/{tenant.slug}/webhooks"


async def test_an_operator_subscribes_reads_the_log_and_replays(kernel: Kernel, sign_in: SignIn, tenant: Any) -> None:
    await tenant.enable("webhooks")
    me = await sign_in(tenant, "operator")
    page = await me.get(f"{base(tenant)}/")
    assert page.status_code == 200
    assert "No subscriptions yet." in text_of(page)

    bad = await me.post(f"{base(tenant)}/", {"url": "ftp://nope", "event_types": "order.*"})
    assert bad.status_code == 422
    assert 'value="ftp://nope"' in bad.text

    # the receiver refuses the connection (nothing listens on port 9 here): the log shows the error
    created = await me.post(
        f"{base(tenant)}/", {"url": "http://127.0.0.1:9/hook", "event_types": "order.*, member.*", "description": "ERP"}
    )
    assert created.status_code == 201, created.text
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", created.text)
    assert secret is not None
    listed = (await tenant.get("/api/v1/webhooks/subscriptions")).json()
    assert [(s["url"], s["event_types"]) for s in listed] == [("http://127.0.0.1:9/hook", ["order.*", "member.*"])]
    sub_url = f"{base(tenant)}/{listed[0]['id']}"
    again = await me.get(sub_url)
    assert "whsec_" not in again.text  # shown once

    member = await tenant.member(display_name="Log")
    await kernel.outbox.drain()
    await kernel.jobs.idle()
    log = await me.get(sub_url)
    assert "member.created" in text_of(log)
    assert "ConnectError" in text_of(log)
    delivery_id = int(re.search(r'data-delivery="(\d+)"', log.text).group(1))  # type: ignore[union-attr]
    detail = await me.get(f"{base(tenant)}/deliveries/{delivery_id}")
    assert detail.status_code == 200
    assert str(member["id"]) in detail.text

    replayed = await me.post(f"{base(tenant)}/deliveries/{delivery_id}/replay")
    assert replayed.status_code == 303
    await kernel.jobs.idle()
    attempts = (await tenant.get(f"/api/v1/webhooks/deliveries/{delivery_id}")).json()["attempt_log"]
    assert len(attempts) == 2

    rotated = await me.post(f"{sub_url}/rotate")
    assert rotated.status_code == 200
    assert "whsec_" in rotated.text
    assert secret.group(0) not in rotated.text
    paused = await me.post(f"{sub_url}/active", {"active": "false"})
    assert paused.status_code == 303
    assert (await tenant.get(f"/api/v1/webhooks/subscriptions/{listed[0]['id']}")).json()["active"] is False


async def test_a_viewer_reads_but_changes_nothing(sign_in: SignIn, tenant: Any) -> None:
    await tenant.enable("webhooks")
    sub = (await tenant.post("/api/v1/webhooks/subscriptions", {"url": "https://a.example/"})).json()
    me = await sign_in(tenant, "viewer")
    page = await me.get(f"{base(tenant)}/{sub['id']}")
    assert page.status_code == 200
    assert "Rotate the secret" not in page.text
    assert (await me.post(f"{base(tenant)}/{sub['id']}/rotate")).status_code == 403
    assert (await me.post(f"{base(tenant)}/", {"url": "https://b.example/"})).status_code == 403


async def test_another_workspaces_subscription_is_not_found(sign_in: SignIn, tenant: Any, other: Any) -> None:
    await tenant.enable("webhooks")
    await other.enable("webhooks")
    theirs = (await other.post("/api/v1/webhooks/subscriptions", {"url": "https://a.example/"})).json()
    me = await sign_in(tenant, "owner")
    assert (await me.get(f"{base(tenant)}/{theirs['id']}")).status_code == 404
    assert (await me.post(f"{base(tenant)}/{theirs['id']}/rotate")).status_code == 404
    assert (await me.post(f"{base(tenant)}/{theirs['id']}/delete")).status_code == 404


async def test_the_pages_speak_chinese(kernel: Kernel, sign_in: SignIn, tenant: Any) -> None:
    await tenant.enable("webhooks")
    me = await sign_in(tenant, "operator")
    await kernel.operators.set_locale(me.operator_id, "zh_CN")
    page = await me.get(f"{base(tenant)}/")
    assert "订阅一个接收地址" in page.text
