"""Every route against another workspace's journey (404, nothing changed), bad input on every route
(a 4xx problem document naming the field, never a 500), scopes, the plugin switch, and the member's
share of an export and an erasure."""

from __future__ import annotations

from typing import Any

import pytest
from journeys_helpers import BASE, event, live, runs, welcome
from litestar import Litestar
from scrm import Kernel
from scrm.testing import problem

ROUTES = {
    ("POST", "/api/v1/journeys"),
    ("GET", "/api/v1/journeys"),
    ("GET", "/api/v1/journeys/{journey_id:int}"),
    ("PATCH", "/api/v1/journeys/{journey_id:int}"),
    ("DELETE", "/api/v1/journeys/{journey_id:int}"),
    ("POST", "/api/v1/journeys/{journey_id:int}/publish"),
    ("POST", "/api/v1/journeys/{journey_id:int}/pause"),
    ("GET", "/api/v1/journeys/{journey_id:int}/stats"),
    ("GET", "/api/v1/journeys/{journey_id:int}/runs"),
    ("GET", "/api/v1/journeys/{journey_id:int}/runs/{run_id:int}"),
    ("POST", "/api/v1/journeys/{journey_id:int}/test"),
}


def test_every_route_is_covered_here(app: Litestar) -> None:
    found = set()
    for route in app.routes:
        if route.path == "/api/v1/journeys" or route.path.startswith("/api/v1/journeys/"):
            for handler in route.route_handlers:  # type: ignore[union-attr]
                found |= {(m, route.path) for m in handler.http_methods if m not in ("OPTIONS", "HEAD")}
    assert found == ROUTES


async def tagging(tenant: Any, kernel: Kernel) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    body = welcome(
        definition={
            "trigger": {"kind": "event", "event_type": "signup"},
            "steps": [{"type": "action", "action": "tag_add", "tag": "hi"}],
        }
    )
    journey = await live(tenant, body)
    member = await tenant.member(display_name="Mine")
    await event(tenant, member["id"], "signup")
    await kernel.jobs.idle()
    [run] = await runs(tenant, journey["id"])
    return journey, member, run


async def test_journeys_never_cross_workspaces(tenant: Any, other: Any, kernel: Kernel) -> None:
    journey, member, run = await tagging(tenant, kernel)
    await other.enable("journeys")
    theirs = await other.member(display_name="Theirs")
    url = f"{BASE}/{journey['id']}"
    cases: list[tuple[str, str, Any]] = [
        ("GET", url, None),
        ("PATCH", url, {"name": "Stolen"}),
        ("DELETE", url, None),
        ("POST", f"{url}/publish", None),
        ("POST", f"{url}/pause", None),
        ("GET", f"{url}/stats", None),
        ("GET", f"{url}/runs", None),
        ("GET", f"{url}/runs/{run['id']}", None),
        ("POST", f"{url}/test", {"member_id": theirs["id"]}),
    ]
    for method, path, body in cases:
        response = await other.client.request(method, path, json=body, headers=other.headers())
        problem(response, 404, "not-found")
    assert (await other.get(BASE)).json() == []
    # B's own journey cannot test-run A's member
    mine_b = (await other.post(BASE, welcome())).json()
    problem(await other.post(f"{BASE}/{mine_b['id']}/test", {"member_id": member["id"]}), 404, "not-found")
    again = (await tenant.get(url)).json()
    assert (again["name"], again["status"]) == (journey["name"], "live")


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "", {"name": "x"}, 422),
        ("POST", "", {"name": "", "definition": {"trigger": {"kind": "event", "event_type": "a"}}}, 422),
        ("POST", "", {"name": "x", "definition": {"trigger": {"kind": "event"}}}, 422),
        ("POST", "", {"name": "x", "definition": {"trigger": {"kind": "weather"}}}, 422),
        ("POST", "", {"name": "x", "definition": {"trigger": {"kind": "tag"}}}, 422),
        ("POST", "", {"name": "x", "definition": {"trigger": {"kind": "event", "event_type": "Bad Type"}}}, 422),
        (
            "POST",
            "",
            welcome(definition={"trigger": {"kind": "event", "event_type": "a"}, "steps": [{"type": "wait"}]}),
            422,
        ),
        (
            "POST",
            "",
            welcome(definition={"trigger": {"kind": "event", "event_type": "a"}, "steps": [{"type": "jump"}]}),
            422,
        ),
        (
            "POST",
            "",
            welcome(
                definition={
                    "trigger": {"kind": "event", "event_type": "a"},
                    "steps": [{"type": "wait", "until": "25:00"}],
                }
            ),
            422,
        ),
        (
            "POST",
            "",
            welcome(definition={"trigger": {"kind": "event", "event_type": "a"}, "steps": [{"type": "condition"}]}),
            422,
        ),
        (
            "POST",
            "",
            welcome(
                definition={
                    "trigger": {"kind": "event", "event_type": "a"},
                    "steps": [{"type": "action", "action": "send"}],
                }
            ),
            422,
        ),
        (
            "POST",
            "",
            welcome(
                definition={
                    "trigger": {"kind": "event", "event_type": "a"},
                    "steps": [{"type": "action", "action": "webhook", "url": "ftp://x"}],
                }
            ),
            422,
        ),
        (
            "POST",
            "",
            welcome(
                definition={
                    "trigger": {"kind": "event", "event_type": "a"},
                    "steps": [{"type": "action", "action": "points", "amount": 0}],
                }
            ),
            422,
        ),
        ("POST", "", {**welcome(), "surprise": 1}, 422),
        ("GET", "/0", None, 422),
        ("GET", "/123456789", None, 404),
        ("PATCH", "/{j}", {"definition": {"trigger": {"kind": "segment"}}}, 422),
        ("PATCH", "/{j}", {"name": 5}, 422),
        ("POST", "/{j}/publish", None, 409),
        ("DELETE", "/{j}", None, 409),
        ("GET", "/{j}/runs?status=odd", None, 422),
        ("GET", "/{j}/runs?cursor=garbage", None, 400),
        ("GET", "/{j}/runs?limit=0", None, 422),
        ("GET", "/{j}/runs/123456789", None, 404),
        ("POST", "/{j}/test", {"member_id": 123456789}, 404),
        ("POST", "/{j}/test", {"member_id": "me"}, 422),
    ],
)
async def test_bad_input_is_a_clear_4xx(
    tenant: Any, kernel: Kernel, method: str, path: str, body: Any, status: int
) -> None:
    journey, _, _ = await tagging(tenant, kernel)
    response = await tenant.client.request(
        method, BASE + path.format(j=journey["id"]), json=body, headers=tenant.headers()
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_scopes_and_the_plugin_switch(tenant: Any, kernel: Kernel) -> None:
    problem(await tenant.get(BASE), 404, "plugin-not-enabled")
    journey, member, run = await tagging(tenant, kernel)
    reader = await tenant.new_key("journeys:read")
    writer = await tenant.new_key("journeys:write")
    url = f"{BASE}/{journey['id']}"
    for path in (url, f"{url}/stats", f"{url}/runs", f"{url}/runs/{run['id']}"):
        assert (await tenant.get(path, key=reader)).status_code == 200
        problem(await tenant.get(path, key=writer), 403, "missing-scope")
    problem(await tenant.post(f"{url}/pause", key=reader), 403, "missing-scope")
    problem(await tenant.post(f"{url}/test", {"member_id": member["id"]}, key=reader), 403, "missing-scope")
    problem(await tenant.post(BASE, welcome(), key=reader), 403, "missing-scope")
    assert (await tenant.post(f"{url}/pause", key=writer)).status_code == 200
    # paused: no new members; publishing again takes them
    newcomer = await tenant.member(display_name="Later")
    await event(tenant, newcomer["id"], "signup")
    await kernel.jobs.idle()
    assert len(await runs(tenant, journey["id"])) == 1


async def test_export_and_erasure(tenant: Any, kernel: Kernel) -> None:
    journey, member, _run = await tagging(tenant, kernel)
    exported = (await tenant.get(f"/api/v1/members/{member['id']}/export")).json()["plugins"]["journeys"]
    assert exported["runs"][0]["journey"] == journey["name"]
    assert (await tenant.delete(f"/api/v1/members/{member['id']}")).status_code in (200, 204)
    [after] = await runs(tenant, journey["id"])
    assert after["member_id"] is None
