"""Data-subject hooks (export, erasure), deleting a workspace, and the demo seed."""

from __future__ import annotations

from typing import Any

from lottery_helpers import BASE, enter_all, members, opened, wheel_body
from scrm import Kernel
from scrm.testing import problem
from scrm_lottery import demo, fairness


async def test_export_holds_the_members_entries_wins_and_spins(tenant: Any) -> None:
    campaign = await opened(tenant)
    wheel = await opened(tenant, wheel_body())
    member = await tenant.member(display_name="Exported")
    await enter_all(tenant, campaign["id"], [member["id"]])
    await tenant.post(f"{BASE}/{wheel['id']}/spins", {"member_id": member["id"]})
    exported = (await tenant.get(f"/api/v1/members/{member['id']}/export")).json()
    mine = exported["plugins"]["lottery"]
    assert [e["campaign_id"] for e in mine["entries"]] == [campaign["id"]]
    assert [w["campaign_id"] for w in mine["wins"]] == [wheel["id"]]
    assert len(mine["spins"]) == 1
    stranger = await tenant.member(display_name="Nobody")
    assert (await tenant.get(f"/api/v1/members/{stranger['id']}/export")).json()["plugins"].get("lottery") is None


async def test_erasure_keeps_published_draws_and_drops_the_rest(tenant: Any) -> None:
    drawn = await opened(tenant)
    pending = await opened(tenant)
    wheel = await opened(tenant, wheel_body(prizes=[{"name": "Pin", "quantity": 1, "odds": 0.000001}]))
    ids = await members(tenant, 3)
    await enter_all(tenant, drawn["id"], ids)
    await enter_all(tenant, pending["id"], ids)
    await tenant.post(f"{BASE}/{wheel['id']}/spins", {"member_id": ids[0]})
    await tenant.post(f"{BASE}/{drawn['id']}/close")
    result = (await tenant.post(f"{BASE}/{drawn['id']}/draw")).json()
    before = (await tenant.get(f"{BASE}/{drawn['id']}/entries/export")).json()

    assert (await tenant.delete(f"/api/v1/members/{ids[0]}")).status_code in (200, 204)
    after = (await tenant.get(f"{BASE}/{drawn['id']}/entries/export")).json()
    assert after == before  # the published draw still verifies
    fairness.verify(
        after["commitment"],
        bytes.fromhex(after["seed"]),
        after["member_ids"],
        after["tickets"],
        after["quantities"],
        expected_hash=result["entries_hash"],
        expected_winners=after["winners"],
    )
    left = (await tenant.get(f"{BASE}/{pending['id']}/entries")).json()["items"]
    assert sorted(e["member_id"] for e in left) == sorted(ids[1:])
    assert (await tenant.get(f"{BASE}/{wheel['id']}/spins", params={"member_id": ids[0]})).json()["items"] == []


async def test_deleting_a_workspace_deletes_its_lottery(tenant: Any, kernel: Kernel) -> None:
    campaign = await opened(tenant)
    await enter_all(tenant, campaign["id"], await members(tenant, 2))
    ws = await kernel.workspaces.ref(tenant.slug)
    await kernel.workspaces.delete(tenant.slug)
    for table in ("lottery_campaign", "lottery_prize", "lottery_entry"):
        assert await kernel.sql.fetch(f"SELECT id FROM {table} WHERE workspace = {{}}", ws.id) == []


async def test_the_demo_seeds_a_drawn_campaign_and_a_wheel_once(tenant: Any, kernel: Kernel) -> None:
    await tenant.enable("lottery")
    ids = await members(tenant, 12)
    ws = await kernel.workspaces.ref(tenant.slug)
    await demo.seed(kernel, ws, ids)
    await demo.seed(kernel, ws, ids)
    campaigns = (await tenant.get(BASE)).json()["items"]
    assert sorted(c["state"] for c in campaigns) == ["drawn", "open"]
    drawn = next(c for c in campaigns if c["state"] == "drawn")
    bundle = (await tenant.get(f"{BASE}/{drawn['id']}/entries/export")).json()
    assert len(bundle["winners"]) == 6
    fairness.verify(
        bundle["commitment"],
        bytes.fromhex(bundle["seed"]),
        bundle["member_ids"],
        bundle["tickets"],
        bundle["quantities"],
        expected_winners=bundle["winners"],
    )
    wheel = next(c for c in campaigns if c["state"] == "open")
    problem(await tenant.post(f"{BASE}/{wheel['id']}/draw"), 409, "lottery-wrong-mode")
