"""Nothing crosses workspaces; every route needs its scope; bad input is a 4xx naming the field."""

from __future__ import annotations

from typing import Any

from scrm.testing import Tenant, problem

API = "/api/v1/points"


async def seeded(tenant: Tenant) -> dict[str, Any]:
    await tenant.enable("points")
    member = await tenant.member()
    m = member["id"]
    tx = (await tenant.post(f"{API}/members/{m}/adjustments", {"amount": 500, "reason": "seed"})).json()["transaction"]
    rule = (await tenant.post(f"{API}/rules", {"name": "r", "event_type": "x", "points": 1})).json()
    reward = (await tenant.post(f"{API}/rewards", {"name": "Mug", "cost": 10, "stock": 3})).json()
    return {"member": m, "tx": tx["id"], "rule": rule["id"], "reward": reward["id"]}


async def test_every_resource_of_another_workspace_is_404(tenant: Tenant, other: Tenant) -> None:
    mine = await seeded(tenant)
    await other.enable("points")
    m, tx, rule, reward = mine["member"], mine["tx"], mine["rule"], mine["reward"]
    attempts = [
        other.get(f"{API}/members/{m}"),
        other.get(f"{API}/members/{m}/transactions"),
        other.post(f"{API}/members/{m}/adjustments", {"amount": 5, "reason": "x"}),
        other.get(f"{API}/transactions/{tx}"),
        other.post(f"{API}/transactions/{tx}/reversals", {"reason": "x"}),
        other.post(f"{API}/checkins", {"member_id": m}),
        other.get(f"{API}/rules/{rule}"),
        other.patch(f"{API}/rules/{rule}", {"points": 99}),
        other.delete(f"{API}/rules/{rule}"),
        other.get(f"{API}/rewards/{reward}"),
        other.patch(f"{API}/rewards/{reward}", {"stock": 99}),
        other.delete(f"{API}/rewards/{reward}"),
        other.post(f"{API}/rewards/{reward}/redemptions", {"member_id": m}),
    ]
    for attempt in attempts:
        problem(await attempt, 404, "not-found")
    other_member = (await other.member())["id"]
    problem(await other.post(f"{API}/rewards/{reward}/redemptions", {"member_id": other_member}), 404, "not-found")
    problem(await tenant.post(f"{API}/rewards/{reward}/redemptions", {"member_id": other_member}), 404, "not-found")
    assert (await other.get(f"{API}/rules")).json()["items"] == []
    assert (await other.get(f"{API}/rewards")).json()["items"] == []
    assert (await other.get(f"{API}/redemptions")).json()["items"] == []
    assert (await other.get(f"{API}/leaderboard")).json()["entries"] == []
    # nothing changed in the first workspace
    assert (await tenant.get(f"{API}/members/{m}")).json()["balance"] == 500
    assert (await tenant.get(f"{API}/rules/{rule}")).json()["points"] == 1
    assert (await tenant.get(f"{API}/rewards/{reward}")).json()["stock"] == 3
    assert len((await tenant.get(f"{API}/members/{m}/transactions")).json()["items"]) == 1


async def test_scopes(tenant: Tenant) -> None:
    ids = await seeded(tenant)
    m = ids["member"]
    reader = await tenant.new_key("points:read")
    writer = await tenant.new_key("points:read", "points:write")
    assert (await tenant.get(f"{API}/members/{m}", key=reader)).status_code == 200
    for key, path, body in [
        (reader, f"{API}/checkins", {"member_id": m}),
        (reader, f"{API}/rewards/{ids['reward']}/redemptions", {"member_id": m}),
        (writer, f"{API}/members/{m}/adjustments", {"amount": 1, "reason": "x"}),
        (writer, f"{API}/rules", {"name": "r", "event_type": "x", "points": 1}),
        (writer, f"{API}/rewards", {"name": "r", "cost": 1}),
        (writer, f"{API}/transactions/{ids['tx']}/reversals", {"reason": "x"}),
    ]:
        problem(await tenant.post(path, body, key=key), 403, "missing-scope")
    response = await tenant.client.put(f"{API}/settings", json={}, headers=tenant.headers(writer))
    problem(response, 403, "missing-scope")
    assert (await tenant.post(f"{API}/checkins", {"member_id": m}, key=writer)).status_code == 201
    none = await tenant.new_key("members:read")
    problem(await tenant.get(f"{API}/members/{m}", key=none), 403, "missing-scope")


async def test_bad_input_names_the_field(tenant: Tenant) -> None:
    ids = await seeded(tenant)
    m = ids["member"]
    cases = [
        (f"{API}/members/{m}/adjustments", {"amount": 0, "reason": "x"}, "amount"),
        (f"{API}/members/{m}/adjustments", {"amount": 5}, "reason"),
        (f"{API}/members/{m}/adjustments", {"amount": 5, "reason": ""}, "reason"),
        (f"{API}/members/{m}/adjustments", {"amount": 10**12, "reason": "x"}, "amount"),
        (f"{API}/transactions/{ids['tx']}/reversals", {}, "reason"),
        (f"{API}/rewards", {"name": "x", "cost": -1}, "cost"),
        (f"{API}/rewards", {"name": "x", "cost": 1, "stock": -1}, "stock"),
        (f"{API}/rewards/{ids['reward']}/redemptions", {"member_id": 0}, "member_id"),
        (f"{API}/checkins", {"member_id": m, "extra": 1}, "extra"),
    ]
    for path, body, field in cases:
        found = problem(await tenant.post(path, body), 422, "validation-error")
        assert any(e["field"] == field for e in found["errors"]), (path, body, found)
    for patch_path, body, field in [
        (f"{API}/rules/{ids['rule']}", {"points": "many"}, "points"),
        (f"{API}/rewards/{ids['reward']}", {"cost": 0}, "cost"),
    ]:
        found = problem(await tenant.patch(patch_path, body), 422, "validation-error")
        assert any(e["field"] == field for e in found["errors"]), found
    for settings, field in [
        ({"expiry_months": -1}, "expiry_months"),
        ({"streak_bonuses": {"0": 5}}, "streak_bonuses"),
        ({"tiers": [{"name": "gold", "threshold": 100}, {"name": "silver", "threshold": 50}]}, "tiers[1].threshold"),
        ({"tiers": [{"name": "Gold!", "threshold": 1}]}, "tiers[0].name"),
    ]:
        response = await tenant.client.put(f"{API}/settings", json=settings, headers=tenant.headers())
        found = problem(response, 422, "validation-error")
        assert any(e["field"].startswith(field) for e in found["errors"]), found
    for path, params in [(f"{API}/members/{2**64}", {}), (f"{API}/leaderboard", {"by": "karma"})]:
        response = await tenant.get(path, params=params)
        assert response.status_code in (400, 404, 422), response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    problem(await tenant.get(f"{API}/members/{m}/transactions", params={"cursor": "nope"}), 400, "invalid-cursor")
    found = problem(
        await tenant.get(f"{API}/leaderboard", params={"by": "balance", "since": "2026-01-01T00:00:00Z"}),
        422,
        "validation-error",
    )
    assert found["errors"][0]["field"] == "since"
    assert (await tenant.get(f"{API}/settings")).json()["expiry_months"] == 0  # nothing was saved


async def test_answers_only_where_enabled(tenant: Tenant, other: Tenant) -> None:
    problem(await other.get(f"{API}/rules"), 404, "plugin-not-enabled")
