"""Helpers of the referrals plugin's tests (imported by the test modules next to it)."""

from __future__ import annotations

import asyncio
from typing import Any

from scrm import Kernel

BASE = "/api/v1/referrals"


async def settle(kernel: Kernel, workspace_id: int, timeout_s: float = 20.0) -> None:
    """Deliver the workspace's pending events until none is left (the in-process delivery job the
    API queued may hold a row while this drain finds nothing to claim)."""
    for _ in range(int(timeout_s / 0.02)):
        await kernel.outbox.drain()
        rows = await kernel.db.fetch(
            "SELECT COUNT(*) AS n FROM scrm_outbox WHERE workspace = {} AND last_error IS NULL", workspace_id
        )
        if rows[0]["n"] == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the outbox did not drain")


async def campaign(tenant: Any, **fields: Any) -> dict[str, Any]:
    """A campaign in the tenant's workspace (referrals enabled there)."""
    await tenant.enable("referrals")
    response = await tenant.post(f"{BASE}/campaigns", {"name": "Bring a friend", **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def code(tenant: Any, campaign_id: int, member_id: int) -> str:
    response = await tenant.post(f"{BASE}/campaigns/{campaign_id}/codes", {"member_id": member_id})
    assert response.status_code == 200, response.text
    text: str = response.json()["code"]
    return text


async def join(tenant: Any, code_text: str, name: str, **extra: Any) -> dict[str, Any]:
    response = await tenant.post(
        f"{BASE}/joins", {"code": code_text, "member": {"display_name": name, "external_id": name}, **extra}
    )
    assert response.status_code == 201, response.text
    referral: dict[str, Any] = response.json()
    return referral


async def inviter(tenant: Any, campaign_id: int, name: str = "Inviter") -> tuple[int, str]:
    """A member with a code in the campaign: (their id, the code)."""
    member = await tenant.member(display_name=name, external_id=name)
    return member["id"], await code(tenant, campaign_id, member["id"])


async def rewards(kernel: Kernel, referral_id: int) -> list[tuple[str, str, int]]:
    rows = await kernel.sql.fetch(
        "SELECT role, state, points FROM referrals_reward WHERE referral = {} ORDER BY role", referral_id
    )
    return [(r["role"], r["state"], r["points"]) for r in rows]
