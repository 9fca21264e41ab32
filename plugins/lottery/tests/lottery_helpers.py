"""Helpers of the lottery's tests (imported by the test modules next to it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

BASE = "/api/v1/lottery/campaigns"


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def draw_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Spring draw",
        "opens_at": iso(timedelta(minutes=-1)),
        "closes_at": iso(timedelta(hours=1)),
        "prizes": [{"name": "Phone", "quantity": 1, "value": 399900}, {"name": "Mug", "quantity": 2, "value": 2900}],
    }
    body.update(overrides)
    return body


def wheel_body(**overrides: Any) -> dict[str, Any]:
    return draw_body(
        **{
            "name": "Wheel",
            "mode": "instant",
            "prizes": [{"name": "Coupon", "quantity": 10, "value": 500, "odds": 1.0}],
            **overrides,
        }
    )


async def create(tenant: Any, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await tenant.post(BASE, body or draw_body())
    assert response.status_code == 201, response.text
    campaign: dict[str, Any] = response.json()
    return campaign


async def opened(tenant: Any, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """A campaign created and opened in the tenant's workspace (the lottery enabled there)."""
    await tenant.enable("lottery")
    campaign = await create(tenant, body)
    response = await tenant.post(f"{BASE}/{campaign['id']}/open")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def members(tenant: Any, n: int, **fields: Any) -> list[int]:
    return [(await tenant.member(display_name=f"M{i}", **fields))["id"] for i in range(n)]


async def enter_all(tenant: Any, campaign_id: int, member_ids: list[int]) -> None:
    for member_id in member_ids:
        response = await tenant.post(f"{BASE}/{campaign_id}/entries", {"member_id": member_id})
        assert response.status_code == 201, response.text
