"""Helpers of the journeys plugin's tests."""

from __future__ import annotations

from typing import Any

BASE = "/api/v1/journeys"


def welcome(**overrides: Any) -> dict[str, Any]:
    """A welcome journey: on member.created, tag, wait an hour, unless VIP send the welcome email; goal: a paid order."""
    body: dict[str, Any] = {
        "name": "Welcome",
        "definition": {
            "trigger": {"kind": "event", "event_type": "member.created"},
            "steps": [
                {"type": "action", "action": "tag_add", "tag": "welcomed"},
                {"type": "wait", "seconds": 3600},
                {"type": "condition", "has_tag": "vip", "negate": True},
                {"type": "action", "action": "send", "template": "welcome", "purpose": "marketing.email"},
            ],
            "goal": {"event_type": "order.paid"},
        },
    }
    body.update(overrides)
    return body


async def live(tenant: Any, body: dict[str, Any] | None = None) -> dict[str, Any]:
    await tenant.enable("journeys")
    created = await tenant.post(BASE, body or welcome())
    assert created.status_code == 201, created.text
    published = await tenant.post(f"{BASE}/{created.json()['id']}/publish")
    assert published.status_code == 200, published.text
    journey: dict[str, Any] = published.json()
    return journey


async def event(tenant: Any, member_id: int, type: str, **properties: Any) -> None:
    response = await tenant.post("/api/v1/events", {"member_id": member_id, "type": type, "properties": properties})
    assert response.status_code in (200, 201, 202), response.text


async def runs(tenant: Any, journey_id: int, **params: Any) -> list[dict[str, Any]]:
    response = await tenant.get(f"{BASE}/{journey_id}/runs", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
