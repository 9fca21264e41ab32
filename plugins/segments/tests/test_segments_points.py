"""The ``points`` clause: a member's balance through the points plugin's service when it is enabled,
a 422 naming the clause when it is not; a watched segment over points follows the balance."""

from __future__ import annotations

from typing import Any

import scrm
from scrm_segments import lifecycle, watch
from segments_helpers import BASE, count, settle


async def adjust(tenant: Any, member_id: int, amount: int, reference: str) -> None:
    response = await tenant.post(
        f"/api/v1/points/members/{member_id}/adjustments",
        {"amount": amount, "reason": "test", "reference": reference},
    )
    assert response.status_code in (200, 201), response.text


async def test_the_points_clause_needs_points(kernel: scrm.Kernel, tenant: Any) -> None:
    await tenant.enable("segments")
    refused = await tenant.post(f"{BASE}/preview", {"definition": {"all": [{"tag": "x"}, {"points": {"min": 1}}]}})
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["field"] == "definition.all[1].points"
    assert "points plugin" in error["message"]
    for bad, field in (
        ({"points": {}}, "definition.points"),
        ({"points": {"min": -1}}, "definition.points.min"),
        ({"points": {"min": 5, "max": 2}}, "definition.points.max"),
        ({"points": {"least": 5}}, "definition.points.least"),
    ):
        response = await tenant.post(f"{BASE}/preview", {"definition": bad})
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field

    await tenant.enable("points")
    rich, poor, _ = [(await tenant.member(display_name=n))["id"] for n in ("Rich", "Poor", "None")]
    await adjust(tenant, rich, 500, "r")
    await adjust(tenant, poor, 20, "p")
    await settle(kernel, tenant.id)  # a count reads the profiles, made by delivery
    assert await count(tenant, {"points": {"min": 100}}) == 1
    assert await count(tenant, {"points": {"min": 10, "max": 100}}) == 1
    assert await count(tenant, {"points": {"max": 20}}) == 2  # a member who never had points has 0
    assert await count(tenant, {"points": {"max": 0}}) == 1
    assert await count(tenant, {"not": {"points": {"min": 1}}}) == 1


async def test_a_watched_points_segment_follows_the_balance(kernel: scrm.Kernel, tenant: Any) -> None:
    await tenant.enable("segments")
    await tenant.enable("points")
    ws = await kernel.workspaces.ref(tenant.slug)
    member = (await tenant.member(display_name="Saver"))["id"]
    saved = await tenant.post(BASE, {"name": "Savers", "definition": {"points": {"min": 100}}, "watch": True})
    assert saved.status_code == 201, saved.text
    await adjust(tenant, member, 150, "a")
    await settle(kernel, tenant.id)
    # a balance change is no event of its own: the hourly pass finds it (unless an event the points
    # plugin recorded about the member, a tier change, was delivered first) — either way, once
    await lifecycle.tick(kernel, ws)
    await settle(kernel, tenant.id)
    assert await lifecycle.tick(kernel, ws) == (0, 0)
    entered = (await tenant.get("/api/v1/events", params={"type": watch.ENTERED})).json()["items"]
    assert [(e["member_id"], e["properties"]["segment"]) for e in entered] == [(member, "Savers")]
    # points switched off: the segment cannot be evaluated, and delivery goes on regardless
    response = await tenant.post("/api/v1/plugins", {"name": "points", "enabled": False})
    assert response.status_code in (200, 201), response.text
    ws = await kernel.workspaces.ref(tenant.slug)
    assert await lifecycle.tick(kernel, ws) == (0, 0)
    checkin = await tenant.post("/api/v1/events", {"member_id": member, "type": "checkin"})
    assert checkin.status_code in (200, 201, 202), checkin.text
    await settle(kernel, tenant.id)
    assert (await tenant.get(f"{BASE}/members/{member}")).json()["engagement"] == 1
