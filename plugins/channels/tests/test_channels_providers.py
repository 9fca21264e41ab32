"""SMS, WeCom and webhook providers against a local HTTP server playing the provider, with its
documented request shapes and error codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
import scrm
from channels_helpers import BASE, ProviderServer, consenting, provider_server, send, template
from scrm import Kernel
from scrm_channels import messages

__all__ = ["provider_server"]


async def add_provider(tenant: Any, kind: str, config: dict[str, Any], secret: str) -> None:
    await tenant.enable("channels")
    response = await tenant.post(f"{BASE}/providers", {"name": kind, "kind": kind, "config": config, "secret": secret})
    assert response.status_code == 201, response.text


async def status(tenant: Any, message_id: int) -> dict[str, Any]:
    message: dict[str, Any] = (await tenant.get(f"{BASE}/messages/{message_id}")).json()
    return message


async def test_sms_in_the_twilio_shape(tenant: Any, kernel: Kernel, provider_server: ProviderServer) -> None:
    path = "/2010-04-01/Accounts/AC123/Messages.json"
    await add_provider(
        tenant, "sms", {"base_url": provider_server.url, "account_sid": "AC123", "sender": "+15559999"}, "tok"
    )
    await template(tenant, name="sms-hi", channel="sms", subject="", body="Hi {{ member.display_name }}")
    member = await consenting(tenant, "marketing.sms")
    provider_server.on(path, (201, {"sid": "SM1", "status": "queued"}))
    sent = await send(tenant, member["id"], purpose="marketing.sms", template="sms-hi")
    await kernel.jobs.idle()
    [request] = provider_server.requests(path)
    assert request.form() == {"To": ["+15550001"], "From": ["+15559999"], "Body": ["Hi Ann"]}
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"AC123:tok").decode()
    assert (await status(tenant, sent["message_id"]))["status"] == "sent"

    provider_server.on(path, (429, {"code": 20429, "message": "Too Many Requests"}))
    limited = await send(tenant, member["id"], purpose="marketing.sms", template="sms-hi")
    await kernel.jobs.idle()
    assert (await status(tenant, limited["message_id"]))["status"] == "queued"

    provider_server.on(path, (400, {"code": 21211, "message": "The 'To' number is not a valid phone number."}))
    invalid = await send(tenant, member["id"], purpose="marketing.sms", template="sms-hi")
    await kernel.jobs.idle()
    assert (await status(tenant, invalid["message_id"]))["status"] == "bounced"

    provider_server.on(path, (401, {"code": 20003, "message": "Authenticate"}))
    refused = await send(tenant, member["id"], purpose="marketing.sms", template="sms-hi")
    await kernel.jobs.idle()
    found = await status(tenant, refused["message_id"])
    assert found["status"] == "failed"
    assert "20003" in found["detail"]


async def test_wecom_fetches_a_token_and_refreshes_it_when_expired(
    tenant: Any, kernel: Kernel, provider_server: ProviderServer
) -> None:
    config = {"base_url": provider_server.url, "corp_id": "ww1", "agent_id": 1000002}
    await add_provider(tenant, "wecom", config, "corp-secret")
    await template(tenant, name="wc", channel="wecom", subject="Hello", body="Welcome {{ member.display_name }}")
    member = await consenting(tenant, "marketing.wecom")
    provider_server.on(
        "/cgi-bin/gettoken",
        (200, {"errcode": 0, "errmsg": "ok", "access_token": "T1", "expires_in": 7200}),
        (200, {"errcode": 0, "errmsg": "ok", "access_token": "T2", "expires_in": 7200}),
    )
    provider_server.on(
        "/cgi-bin/message/send",
        (200, {"errcode": 42001, "errmsg": "access_token expired"}),
        (200, {"errcode": 0, "errmsg": "ok", "msgid": "m1"}),
    )
    sent = await send(tenant, member["id"], purpose="marketing.wecom", template="wc")
    await kernel.jobs.idle()
    assert (await status(tenant, sent["message_id"]))["status"] == "sent"
    tokens = provider_server.requests("/cgi-bin/gettoken")
    assert [t.query for t in tokens] == [{"corpid": ["ww1"], "corpsecret": ["corp-secret"]}] * 2
    posts = provider_server.requests("/cgi-bin/message/send")
    assert [p.query["access_token"] for p in posts] == [["T1"], ["T2"]]
    assert posts[1].json() == {
        "touser": "ann",
        "msgtype": "text",
        "agentid": 1000002,
        "text": {"content": "Hello\nWelcome Ann"},
    }

    provider_server.on("/cgi-bin/message/send", (200, {"errcode": 45009, "errmsg": "api freq out of limit"}))
    busy = await send(tenant, member["id"], purpose="marketing.wecom", template="wc")
    await kernel.jobs.idle()
    assert (await status(tenant, busy["message_id"]))["status"] == "queued"
    provider_server.on("/cgi-bin/message/send", (200, {"errcode": 81013, "errmsg": "user & party & tag all invalid"}))
    gone = await send(tenant, member["id"], purpose="marketing.wecom", template="wc")
    await kernel.jobs.idle()
    assert (await status(tenant, gone["message_id"]))["status"] == "bounced"
    assert len(provider_server.requests("/cgi-bin/gettoken")) == 2  # the token was reused


async def test_webhooks_are_signed(tenant: Any, kernel: Kernel, provider_server: ProviderServer) -> None:
    await add_provider(tenant, "webhook", {"url": f"{provider_server.url}/hook"}, "whsec")
    await template(tenant, name="hook", channel="webhook", subject="S", body="B {{ data.n }}")
    member = await consenting(tenant, "data.share")
    provider_server.on("/hook", (503, {}), (204, {}))
    sent = await send(tenant, member["id"], purpose="data.share", template="hook", data={"n": 7})
    await kernel.jobs.idle()
    assert (await status(tenant, sent["message_id"]))["status"] == "queued"  # 503: retried later
    await kernel.sql.fetch("UPDATE channels_message SET next_at = created_at WHERE id = {}", sent["message_id"])
    await messages.sweep(kernel)
    await kernel.jobs.idle()
    found = await status(tenant, sent["message_id"])
    assert found["status"] == "sent"
    assert found["attempts"] == 2
    request = provider_server.requests("/hook")[-1]
    stamp = request.headers["X-Scrm-Timestamp"]
    expected = hmac.new(b"whsec", stamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Scrm-Signature"] == f"sha256={expected}"
    assert request.json()["body"] == "B 7"
    assert request.json()["member_id"] == member["id"]


async def test_a_provider_the_outbound_guard_refuses_fails_at_once_unsent(
    tenant: Any, kernel: Kernel, provider_server: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked again when sending (here the deployment no longer allows loopback): no request, no
    retry, and the attempt says why."""
    await add_provider(tenant, "webhook", {"url": f"{provider_server.url}/hook"}, "whsec")
    await template(tenant, name="hook", channel="webhook", subject="S", body="B")
    member = await consenting(tenant, "data.share")
    monkeypatch.setattr(kernel, "outbound", scrm.Outbound())
    sent = await send(tenant, member["id"], purpose="data.share", template="hook")
    await kernel.jobs.idle()
    found = await status(tenant, sent["message_id"])
    assert (found["status"], found["attempts"]) == ("failed", 1)
    assert found["history"][-1]["detail"].startswith("refused: 127.0.0.1 is a loopback address")
    assert provider_server.requests("/hook") == []
