"""Campaigns through the API: creating with validation, editing (refused where it would change who
wins), the states and their transitions, scopes and workspace isolation."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from lottery_helpers import BASE, create, draw_body, iso, opened, wheel_body
from scrm.testing import problem


async def test_a_campaign_is_created_as_a_draft(tenant: Any) -> None:
    await tenant.enable("lottery")
    campaign = await create(tenant, draw_body(tags_required=["vip", "vip"], consent_purpose="marketing.email"))
    assert campaign["state"] == "draft"
    assert campaign["accepting"] is False
    assert campaign["commitment"] is None
    assert campaign["seed"] is None
    assert [p["name"] for p in campaign["prizes"]] == ["Phone", "Mug"]
    assert campaign["tags_required"] == ["vip"]
    assert campaign["notify_purpose"] == "marketing.wecom"
    got = await tenant.get(f"{BASE}/{campaign['id']}")
    assert got.json() == campaign
    listed = (await tenant.get(BASE)).json()
    assert [c["id"] for c in listed["items"]] == [campaign["id"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"closes_at": iso(timedelta(hours=-2))}, "closes_at"),
        ({"prizes": []}, "prizes"),
        ({"prizes": [{"name": "X", "quantity": 0}]}, "prizes[0].quantity"),
        ({"prizes": [{"name": "X", "quantity": 1, "odds": 0.5}]}, "prizes[0].odds"),
        ({"name": ""}, "name"),
        ({"opens_at": "2026-01-01T00:00:00"}, "opens_at"),
        ({"mode": "raffle"}, "mode"),
        ({"consent_purpose": "nope"}, "consent_purpose"),
        ({"notify_purpose": "nope"}, "notify_purpose"),
        ({"points_cost": 10}, "points_cost"),
        ({"points_cost": -1}, "points_cost"),
        ({"ticket_rules": [{"event_type": "comment", "tickets": 1}]}, "ticket_rules"),
        ({"spin_limit": 3}, "spin_limit"),
        ({"tags_required": ["a"], "tags_excluded": ["a"]}, "tags_excluded"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_bad_campaigns_are_refused_naming_the_field(tenant: Any, change: dict[str, Any], field: str) -> None:
    await tenant.enable("lottery")
    body = problem(await tenant.post(BASE, draw_body(**change)), 422, "validation-error")
    assert field in [e["field"] for e in body["errors"]], body
    assert (await tenant.get(BASE)).json()["items"] == []


@pytest.mark.parametrize(
    ("prizes", "field"),
    [
        ([{"name": "A", "quantity": 1}], "prizes[0].odds"),
        ([{"name": "A", "quantity": 1, "odds": 0.6}, {"name": "B", "quantity": 1, "odds": 0.5}], "prizes"),
        ([{"name": "A", "quantity": 1, "odds": 1.5}], "prizes[0].odds"),
    ],
)
async def test_instant_win_odds_are_checked(tenant: Any, prizes: list[dict[str, Any]], field: str) -> None:
    await tenant.enable("lottery")
    body = problem(await tenant.post(BASE, wheel_body(prizes=prizes)), 422, "validation-error")
    assert field in [e["field"] for e in body["errors"]], body


async def test_opening_publishes_a_commitment_and_keeps_the_seed(tenant: Any) -> None:
    campaign = await opened(tenant)
    assert campaign["state"] == "open"
    assert campaign["accepting"] is True
    assert len(campaign["commitment"]) == 64
    assert campaign["seed"] is None
    problem(await tenant.post(f"{BASE}/{campaign['id']}/open"), 409, "lottery-wrong-state")


async def test_an_open_campaign_refuses_changes_to_who_can_win(tenant: Any) -> None:
    campaign = await opened(tenant)
    url = f"{BASE}/{campaign['id']}"
    for change in (
        {"prizes": [{"name": "Car", "quantity": 1}]},
        {"tags_required": ["vip"]},
        {"opens_at": iso(timedelta(minutes=-5))},
        {"points_cost": 0},
    ):
        body = problem(await tenant.patch(url, change), 409, "lottery-campaign-locked")
        assert body["errors"][0]["field"] == next(iter(change))
    problem(await tenant.patch(url, {"closes_at": iso(timedelta(minutes=-1))}), 409, "lottery-campaign-locked")
    changed = await tenant.patch(url, {"name": "Renamed", "closes_at": iso(timedelta(hours=3))})
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Renamed"
    assert changed.json()["prizes"] == campaign["prizes"]


async def test_a_draft_can_change_anything_and_be_deleted(tenant: Any) -> None:
    await tenant.enable("lottery")
    campaign = await create(tenant)
    url = f"{BASE}/{campaign['id']}"
    changed = await tenant.patch(url, {"prizes": [{"name": "Car", "quantity": 1}], "tags_excluded": ["staff"]})
    assert changed.status_code == 200, changed.text
    assert [p["name"] for p in changed.json()["prizes"]] == ["Car"]
    problem(await tenant.patch(url, {"closes_at": iso(timedelta(days=-1))}), 422, "validation-error")
    assert (await tenant.delete(url)).status_code == 204
    problem(await tenant.get(url), 404, "not-found")


async def test_transitions(tenant: Any) -> None:
    campaign = await opened(tenant)
    url = f"{BASE}/{campaign['id']}"
    problem(await tenant.delete(url), 409, "lottery-wrong-state")
    closed = await tenant.post(f"{url}/close")
    assert closed.json()["state"] == "closed"
    problem(await tenant.post(f"{url}/close"), 409, "lottery-wrong-state")
    assert (await tenant.post(f"{url}/cancel")).json()["state"] == "cancelled"
    problem(await tenant.post(f"{url}/draw"), 409, "lottery-wrong-state")
    problem(await tenant.post(f"{url}/open"), 409, "lottery-wrong-state")


async def test_concurrent_opens_open_once(tenant: Any) -> None:
    await tenant.enable("lottery")
    campaign = await create(tenant)
    answers = await asyncio.gather(*(tenant.post(f"{BASE}/{campaign['id']}/open") for _ in range(10)))
    assert sorted(a.status_code for a in answers) == [200] + [409] * 9
    commitments = {a.json()["commitment"] for a in answers if a.status_code == 200}
    assert (await tenant.get(f"{BASE}/{campaign['id']}")).json()["commitment"] in commitments


async def test_listing_pages_and_filters(tenant: Any) -> None:
    await tenant.enable("lottery")
    ids = [(await create(tenant, draw_body(name=f"C{i}")))["id"] for i in range(5)]
    await tenant.post(f"{BASE}/{ids[0]}/open")
    first = (await tenant.get(BASE, params={"limit": 3})).json()
    assert [c["id"] for c in first["items"]] == ids[::-1][:3]
    rest = (await tenant.get(BASE, params={"limit": 3, "cursor": first["next_cursor"]})).json()
    assert [c["id"] for c in rest["items"]] == ids[::-1][3:]
    assert rest["next_cursor"] is None
    assert [c["id"] for c in (await tenant.get(BASE, params={"state": "open"})).json()["items"]] == [ids[0]]
    problem(await tenant.get(BASE, params={"cursor": "garbage"}), 400, "invalid-cursor")
    # cursors are signed for their listing: the campaign list's does not page a campaign's entries
    foreign = {"cursor": first["next_cursor"]}
    problem(await tenant.get(f"{BASE}/{ids[0]}/entries", params=foreign), 400, "invalid-cursor")
    problem(await tenant.get(BASE, params={"limit": 0}), 422, "validation-error")


async def test_campaigns_never_cross_workspaces(tenant: Any, other: Any) -> None:
    campaign = await opened(tenant)
    await other.enable("lottery")
    member = await other.member(display_name="Other")
    url = f"{BASE}/{campaign['id']}"
    for method, path, body in [
        ("get", url, None),
        ("patch", url, {"name": "Stolen"}),
        ("delete", url, None),
        ("post", f"{url}/close", None),
        ("post", f"{url}/cancel", None),
        ("post", f"{url}/draw", None),
        ("post", f"{url}/notify", None),
        ("get", f"{url}/result", None),
        ("get", f"{url}/entries", None),
        ("get", f"{url}/entries/count", None),
        ("get", f"{url}/entries/export", None),
        ("post", f"{url}/entries", {"member_id": member["id"]}),
        ("get", f"{url}/spins", None),
        ("post", f"{url}/spins", {"member_id": member["id"]}),
        ("get", f"{url}/winners", None),
    ]:
        call = getattr(other, method)
        response = await (call(path, body) if body is not None else call(path))
        problem(response, 404, "not-found")
    assert (await other.get(BASE)).json()["items"] == []
    again = (await tenant.get(url)).json()
    assert again["name"] == campaign["name"]
    assert again["state"] == "open"


async def test_the_api_answers_only_where_the_plugin_is_enabled(tenant: Any) -> None:
    problem(await tenant.get(BASE), 404, "plugin-not-enabled")


async def test_scopes(tenant: Any) -> None:
    campaign = await opened(tenant)
    url = f"{BASE}/{campaign['id']}"
    reader = await tenant.new_key("lottery:read")
    writer = await tenant.new_key("lottery:write", "lottery:read")
    assert (await tenant.get(url, key=reader)).status_code == 200
    problem(await tenant.post(BASE, draw_body(), key=reader), 403, "missing-scope")
    problem(await tenant.patch(url, {"name": "x"}, key=reader), 403, "missing-scope")
    problem(await tenant.post(f"{url}/entries", {"member_id": 1}, key=reader), 403, "missing-scope")
    for action in ("open", "close", "cancel", "draw", "notify"):
        problem(await tenant.post(f"{url}/{action}", key=writer), 403, "missing-scope")
    assert (await tenant.post(BASE, draw_body(), key=writer)).status_code == 201
    nothing = await tenant.new_key("members:read")
    problem(await tenant.get(url, key=nothing), 403, "missing-scope")
