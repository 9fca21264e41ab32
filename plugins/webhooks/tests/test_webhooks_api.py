"""The webhooks API: every route against another workspace's objects (404, nothing changed), scopes,
bad input (a 4xx problem document naming the field), and the API answering only where it is on."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from scrm import Kernel
from scrm.testing import problem
from webhooks_helpers import BASE, event, receiver, settle, subscribe

ROUTES = {
    ("POST", "/api/v1/webhooks/subscriptions"),
    ("GET", "/api/v1/webhooks/subscriptions"),
    ("GET", "/api/v1/webhooks/subscriptions/{subscription_id:int}"),
    ("PATCH", "/api/v1/webhooks/subscriptions/{subscription_id:int}"),
    ("DELETE", "/api/v1/webhooks/subscriptions/{subscription_id:int}"),
    ("POST", "/api/v1/webhooks/subscriptions/{subscription_id:int}/rotate"),
    ("GET", "/api/v1/webhooks/subscriptions/{subscription_id:int}/deliveries"),
    ("GET", "/api/v1/webhooks/deliveries/{delivery_id:int}"),
    ("POST", "/api/v1/webhooks/deliveries/{delivery_id:int}/replay"),
}


def test_every_route_is_covered_here(app: Litestar) -> None:
    found = set()
    for route in app.routes:
        if route.path.startswith("/api/v1/webhooks/"):
            for handler in route.route_handlers:  # type: ignore[union-attr]
                found |= {(m, route.path) for m in handler.http_methods if m != "OPTIONS"}
    assert found == ROUTES


async def _delivered(kernel: Kernel, tenant: Any, url: str) -> tuple[dict[str, Any], int]:
    member = await tenant.member(display_name="Iso")
    sub = await subscribe(tenant, url)
    await event(tenant, member["id"])
    await settle(kernel, tenant.id)
    items = (await tenant.get(f"{BASE}/subscriptions/{sub['id']}/deliveries")).json()["items"]
    return sub, items[0]["id"]


async def test_webhooks_never_cross_workspaces(kernel: Kernel, tenant: Any, other: Any) -> None:
    with receiver() as hook:
        sub, delivery_id = await _delivered(kernel, tenant, hook.url)
        await other.enable("webhooks")
        url = f"{BASE}/subscriptions/{sub['id']}"
        cases: list[tuple[str, str, Any]] = [
            ("get", url, None),
            ("patch", url, {"url": "https://evil.example/"}),
            ("delete", url, None),
            ("post", f"{url}/rotate", {}),
            ("get", f"{url}/deliveries", None),
            ("get", f"{BASE}/deliveries/{delivery_id}", None),
            ("post", f"{BASE}/deliveries/{delivery_id}/replay", None),
        ]
        for method, path, body in cases:
            call = getattr(other, method)
            response = await (call(path, body) if body is not None else call(path))
            problem(response, 404, "not-found")
        assert (await other.get(f"{BASE}/subscriptions")).json() == []
        again = (await tenant.get(url)).json()
        assert again["url"] == hook.url
        await kernel.jobs.idle()
    assert len(hook.received) == 1  # the other workspace's replay sent nothing


async def test_scopes(tenant: Any) -> None:
    await tenant.enable("webhooks")
    reader = await tenant.new_key("webhooks:read")
    outsider = await tenant.new_key("members:read")
    problem(await tenant.post(f"{BASE}/subscriptions", {"url": "https://a.example/"}, key=reader), 403, "missing-scope")
    assert (await tenant.get(f"{BASE}/subscriptions", key=reader)).status_code == 200
    problem(await tenant.get(f"{BASE}/subscriptions", key=outsider), 403, "missing-scope")
    sub = (await tenant.post(f"{BASE}/subscriptions", {"url": "https://a.example/"})).json()
    problem(await tenant.post(f"{BASE}/subscriptions/{sub['id']}/rotate", {}, key=reader), 403, "missing-scope")
    problem(await tenant.delete(f"{BASE}/subscriptions/{sub['id']}", key=reader), 403, "missing-scope")


async def test_only_where_enabled(tenant: Any) -> None:
    problem(await tenant.get(f"{BASE}/subscriptions"), 404, "plugin-not-enabled")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://files.example/"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data/"}, "url"),  # the outbound guard: metadata
        ({"url": "http://10.0.0.8/hook"}, "url"),  # and the private network
        ({}, "url"),
        ({"url": "https://a.example/", "event_types": []}, "event_types"),
        ({"url": "https://a.example/", "event_types": ["Order Paid"]}, "event_types"),
        ({"url": "https://a.example/", "event_types": ["order.*.x"]}, "event_types"),
        ({"url": "https://a.example/", "description": "x" * 201}, "description"),
        ({"url": "https://a.example/", "secret": "whsec_mine"}, "secret"),
    ],
)
async def test_bad_subscriptions_are_refused_naming_the_field(tenant: Any, body: dict[str, Any], field: str) -> None:
    await tenant.enable("webhooks")
    found = problem(await tenant.post(f"{BASE}/subscriptions", body), 422, "validation-error")
    assert field in {e["field"].split("[")[0] for e in found["errors"]}


async def test_bad_input_on_the_other_routes(tenant: Any) -> None:
    sub = await subscribe(tenant, "https://a.example/")
    url = f"{BASE}/subscriptions/{sub['id']}"
    problem(await tenant.patch(url, {"active": "maybe"}), 422, "validation-error")
    refused = problem(await tenant.patch(url, {"url": "http://[::1]:6379/"}), 422, "validation-error")
    assert "loopback" in refused["errors"][0]["message"]
    problem(await tenant.post(f"{url}/rotate", {"keep_previous_s": 10**9}), 422, "validation-error")
    problem(await tenant.get(f"{url}/deliveries", params={"state": "lost"}), 422, "validation-error")
    problem(await tenant.get(f"{url}/deliveries", params={"cursor": "forged"}), 400, "invalid-cursor")
    problem(await tenant.get(f"{BASE}/subscriptions/0"), 422, "validation-error")
    problem(await tenant.get(f"{BASE}/deliveries/99999999"), 404, "not-found")
    problem(await tenant.post(f"{BASE}/deliveries/99999999/replay"), 404, "not-found")
