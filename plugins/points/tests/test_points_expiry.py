"""Expiry: points are lots that expire; spending takes the lot expiring first; the cron job expires
only what remains, once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import scrm_points.clock
from scrm import Kernel
from scrm.testing import Tenant
from scrm_points.expiry import expire_due

API = "/api/v1/points"


@pytest.fixture
def moment(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    at = [datetime(2026, 1, 15, 12, 0, tzinfo=UTC)]
    monkeypatch.setattr(scrm_points.clock, "now", lambda: at[0])
    return at


async def adjust(tenant: Tenant, member_id: int, amount: int) -> int:
    response = await tenant.post(f"{API}/members/{member_id}/adjustments", {"amount": amount, "reason": "t"})
    assert response.status_code == 201, response.text
    value: int = response.json()["balance"]
    return value


async def test_fifo_spending_and_expiry(tenant: Tenant, kernel: Kernel, moment: list[datetime]) -> None:
    await tenant.enable("points")
    await tenant.client.put(f"{API}/settings", json={"expiry_months": 1}, headers=tenant.headers())
    member = await tenant.member()
    m = member["id"]
    await adjust(tenant, m, 100)  # lot A, expires 15 Feb
    moment[0] = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    await adjust(tenant, m, 50)  # lot B, expires 28 Feb (no 31 Feb)
    await adjust(tenant, m, -120)  # takes all of A, then 20 of B
    account = (await tenant.get(f"{API}/members/{m}")).json()
    assert account["balance"] == 30
    assert account["expiring_points"] == 30
    assert account["next_expiry"].startswith("2026-02-28")
    moment[0] = datetime(2026, 2, 16, tzinfo=UTC)
    assert await expire_due(kernel) == 0  # A was spent; nothing left of it to expire
    moment[0] = datetime(2026, 3, 1, tzinfo=UTC)
    assert await expire_due(kernel) == 30
    assert await expire_due(kernel) == 0  # idempotent
    history = (await tenant.get(f"{API}/members/{m}/transactions")).json()["items"]
    assert [(t["kind"], t["amount"]) for t in history] == [
        ("expire", -30),
        ("adjust", -120),
        ("adjust", 50),
        ("adjust", 100),
    ]
    assert (await tenant.get(f"{API}/members/{m}")).json()["balance"] == 0
    assert (await tenant.get(f"{API}/members/{m}")).json()["lifetime"] == 150  # expiry keeps the tier


async def test_points_without_expiry_are_spent_last(tenant: Tenant, kernel: Kernel, moment: list[datetime]) -> None:
    await tenant.enable("points")
    member = await tenant.member()
    m = member["id"]
    await adjust(tenant, m, 40)  # never expires (expiry_months 0)
    await tenant.client.put(f"{API}/settings", json={"expiry_months": 2}, headers=tenant.headers())
    await adjust(tenant, m, 40)  # expires 15 March
    await adjust(tenant, m, -30)  # from the expiring lot first
    moment[0] = datetime(2026, 4, 1, tzinfo=UTC)
    assert await expire_due(kernel) == 10
    assert (await tenant.get(f"{API}/members/{m}")).json()["balance"] == 40
