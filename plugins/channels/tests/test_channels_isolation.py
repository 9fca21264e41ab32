"""Every route against another workspace's objects (404, nothing changed), bad input on every route
(a 4xx problem document, never a 500), scopes, and the API answering only where the plugin is on."""

from __future__ import annotations

from typing import Any

import pytest
from channels_helpers import BASE, Mailbox, mailbox, ready, send
from litestar import Litestar
from scrm import Kernel
from scrm.testing import problem

__all__ = ["mailbox"]

ROUTES = {
    ("POST", "/api/v1/channels/providers"),
    ("GET", "/api/v1/channels/providers"),
    ("GET", "/api/v1/channels/providers/{provider_id:int}"),
    ("PATCH", "/api/v1/channels/providers/{provider_id:int}"),
    ("DELETE", "/api/v1/channels/providers/{provider_id:int}"),
    ("POST", "/api/v1/channels/templates"),
    ("GET", "/api/v1/channels/templates"),
    ("GET", "/api/v1/channels/templates/{template_id:int}"),
    ("PATCH", "/api/v1/channels/templates/{template_id:int}"),
    ("DELETE", "/api/v1/channels/templates/{template_id:int}"),
    ("POST", "/api/v1/channels/templates/{template_id:int}/preview"),
    ("POST", "/api/v1/channels/messages"),
    ("GET", "/api/v1/channels/messages"),
    ("GET", "/api/v1/channels/messages/{message_id:int}"),
    ("GET", "/api/v1/channels/rules"),
    ("PUT", "/api/v1/channels/rules/{purpose:str}"),
    ("DELETE", "/api/v1/channels/rules/{purpose:str}"),
    ("GET", "/api/v1/channels/refusals"),
    ("GET", "/api/v1/channels/unsubscribe/{token:str}"),
    ("POST", "/api/v1/channels/unsubscribe/{token:str}"),
}


def test_every_route_is_covered_here(app: Litestar) -> None:
    found = set()
    for route in app.routes:
        if route.path.startswith("/api/v1/channels/"):
            for handler in route.route_handlers:  # type: ignore[union-attr]
                found |= {(m, route.path) for m in handler.http_methods if m not in ("OPTIONS", "HEAD")}
    assert found == ROUTES


async def setup(tenant: Any, kernel: Kernel, mailbox: Mailbox) -> dict[str, Any]:
    member = await ready(tenant, mailbox)
    sent = await send(tenant, member["id"])
    await kernel.jobs.idle()
    await tenant.client.put(f"{BASE}/rules/marketing.email", json={"cap": 5}, headers=tenant.headers())
    provider = (await tenant.get(f"{BASE}/providers")).json()[0]
    tpl = (await tenant.get(f"{BASE}/templates")).json()[0]
    return {"member": member, "message": sent["message_id"], "provider": provider["id"], "template": tpl["id"]}


async def test_channels_never_cross_workspaces(tenant: Any, other: Any, kernel: Kernel, mailbox: Mailbox) -> None:
    mine = await setup(tenant, kernel, mailbox)
    await other.enable("channels")
    theirs = await other.member(display_name="Other", identities={"email": "o@example.test"})
    p, t, m = mine["provider"], mine["template"], mine["message"]
    cases: list[tuple[str, str, Any]] = [
        ("GET", f"{BASE}/providers/{p}", None),
        ("PATCH", f"{BASE}/providers/{p}", {"enabled": False}),
        ("DELETE", f"{BASE}/providers/{p}", None),
        ("GET", f"{BASE}/templates/{t}", None),
        ("PATCH", f"{BASE}/templates/{t}", {"body": "stolen"}),
        ("DELETE", f"{BASE}/templates/{t}", None),
        ("POST", f"{BASE}/templates/{t}/preview", {"member_id": theirs["id"]}),
        ("GET", f"{BASE}/messages/{m}", None),
        ("DELETE", f"{BASE}/rules/marketing.email", None),
        # B naming A's member, with A's template name
        (
            "POST",
            f"{BASE}/messages",
            {"member_id": mine["member"]["id"], "purpose": "marketing.email", "template": "welcome"},
        ),
    ]
    for method, path, body in cases:
        response = await other.client.request(method, path, json=body, headers=other.headers())
        problem(response, 404, "not-found")
        assert "ann@example.test" not in response.text
    for path in ("providers", "templates", "rules"):
        assert (await other.get(f"{BASE}/{path}")).json() == []
    assert (await other.get(f"{BASE}/messages")).json()["items"] == []
    assert (await other.get(f"{BASE}/refusals")).json()["total"] == 0
    assert (await tenant.get(f"{BASE}/providers/{p}")).json()["enabled"] is True
    assert (await tenant.get(f"{BASE}/templates/{t}")).json()["body"].startswith("Hello")
    assert (await tenant.get(f"{BASE}/rules")).json()[0]["cap"] == 5


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/providers", {"name": "x", "kind": "fax"}, 422),
        ("POST", "/providers", {"name": "x", "kind": "smtp", "config": {}}, 422),
        (
            "POST",
            "/providers",
            {"name": "x", "kind": "smtp", "config": {"host": "h", "sender": "s", "port": "abc"}},
            422,
        ),
        ("POST", "/providers", {"name": "x", "kind": "smtp", "config": {"host": "h", "sender": "s", "bogus": 1}}, 422),
        ("POST", "/providers", {"name": "x", "kind": "webhook", "config": {"url": "ftp://x"}}, 422),
        # the outbound guard: the metadata service, a private network
        ("POST", "/providers", {"name": "x", "kind": "webhook", "config": {"url": "http://169.254.169.254/"}}, 422),
        (
            "POST",
            "/providers",
            {"name": "x", "kind": "sms", "config": {"base_url": "http://10.0.0.1", "account_sid": "A", "sender": "+1"}},
            422,
        ),
        ("POST", "/providers", {"name": "Bad Name", "kind": "webhook", "config": {"url": "http://x"}}, 422),
        ("POST", "/providers", {"name": "mail", "kind": "webhook", "config": {"url": "http://x"}}, 409),
        ("PATCH", "/providers/{p}", {"rate_per_minute": 0}, 422),
        ("GET", "/providers/0", None, 422),
        ("GET", "/providers/123456789", None, 404),
        ("POST", "/templates", {"name": "x"}, 422),
        ("POST", "/templates", {"name": "x", "body": "{{ unclosed"}, 422),
        ("POST", "/templates", {"name": "x", "body": "b", "language": "not a language"}, 422),
        ("POST", "/templates", {"name": "welcome", "body": "b"}, 409),
        ("PATCH", "/templates/{t}", {"subject": "{% endif %}"}, 422),
        ("POST", "/templates/{t}/preview", {"member_id": 123456789}, 404),
        ("POST", "/templates/{t}/preview", {"member_id": "x"}, 422),
        ("POST", "/messages", {"member_id": "{member}", "purpose": "nope.nope", "template": "welcome"}, 422),
        ("POST", "/messages", {"member_id": "{member}", "purpose": "marketing.email", "template": "missing"}, 404),
        ("POST", "/messages", {"member_id": "{member}", "purpose": "BAD", "template": "welcome"}, 422),
        (
            "POST",
            "/messages",
            {"member_id": "{member}", "purpose": "marketing.email", "template": "welcome", "x": 1},
            422,
        ),
        ("GET", "/messages?status=odd", None, 422),
        ("GET", "/messages?cursor=garbage", None, 400),
        ("GET", "/messages?limit=0", None, 422),
        ("GET", "/messages/123456789", None, 404),
        ("PUT", "/rules/marketing.email", {"quiet_from": "22:00"}, 422),
        ("PUT", "/rules/marketing.email", {"quiet_from": "25:00", "quiet_until": "08:00"}, 422),
        ("PUT", "/rules/marketing.email", {"cap": 0}, 422),
        ("PUT", "/rules/unknown.purpose", {"cap": 1}, 422),
        ("PUT", "/rules/BAD PURPOSE", {"cap": 1}, 422),
        ("DELETE", "/rules/profiling", None, 404),
        ("GET", "/unsubscribe/forged.token", None, 404),
        ("POST", "/unsubscribe/forged.token", None, 404),
    ],
)
async def test_bad_input_is_a_clear_4xx(
    tenant: Any, kernel: Kernel, mailbox: Mailbox, method: str, path: str, body: Any, status: int
) -> None:
    mine = await setup(tenant, kernel, mailbox)
    url = BASE + path.format(p=mine["provider"], t=mine["template"])
    if isinstance(body, dict) and body.get("member_id") == "{member}":
        body = {**body, "member_id": mine["member"]["id"]}
    response = await tenant.client.request(method, url, json=body, headers=tenant.headers())
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_scopes_and_the_plugin_switch(tenant: Any, kernel: Kernel, mailbox: Mailbox) -> None:
    problem(await tenant.get(f"{BASE}/templates"), 404, "plugin-not-enabled")
    mine = await setup(tenant, kernel, mailbox)
    reader = await tenant.new_key("channels:read")
    writer = await tenant.new_key("channels:read", "channels:write")
    admin = await tenant.new_key("channels:admin")
    assert (await tenant.get(f"{BASE}/providers", key=reader)).status_code == 200
    assert (await tenant.get(f"{BASE}/messages/{mine['message']}", key=reader)).status_code == 200
    body = {"member_id": mine["member"]["id"], "purpose": "marketing.email", "template": "welcome"}
    problem(await tenant.post(f"{BASE}/messages", body, key=reader), 403, "missing-scope")
    assert (await tenant.post(f"{BASE}/messages", body, key=writer)).status_code == 200
    problem(await tenant.post(f"{BASE}/templates", {"name": "n", "body": "b"}, key=reader), 403, "missing-scope")
    problem(
        await tenant.patch(f"{BASE}/providers/{mine['provider']}", {"enabled": True}, key=writer), 403, "missing-scope"
    )
    assert (await tenant.patch(f"{BASE}/providers/{mine['provider']}", {"enabled": True}, key=admin)).status_code == 200
    put = await tenant.client.put(f"{BASE}/rules/marketing.email", json={"cap": 2}, headers=tenant.headers(writer))
    problem(put, 403, "missing-scope")
    problem(await tenant.get(f"{BASE}/refusals", key=await tenant.new_key("members:read")), 403, "missing-scope")


async def test_export_and_erasure(tenant: Any, kernel: Kernel, mailbox: Mailbox) -> None:
    mine = await setup(tenant, kernel, mailbox)
    member_id = mine["member"]["id"]
    exported = (await tenant.get(f"/api/v1/members/{member_id}/export")).json()["plugins"]["channels"]
    assert exported["messages"][0]["recipient"] == "ann@example.test"
    assert "Hello Ann" in exported["messages"][0]["body"]
    assert (await tenant.delete(f"/api/v1/members/{member_id}")).status_code in (200, 204)
    rows = await kernel.sql.fetch(
        "SELECT member_id, recipient, body FROM channels_message WHERE workspace = {}", tenant.id
    )
    assert rows
    assert all(r["member_id"] is None and r["recipient"] == "" and r["body"] == "" for r in rows)
