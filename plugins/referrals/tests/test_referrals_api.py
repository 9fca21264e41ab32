"""The API's edges: campaign settings checked (422 naming every field), scopes on every route,
no route crossing workspaces, routes only where the plugin is enabled, and the data-subject hooks
(export lists the member's referrals; erasure keeps the counts and unlinks the person)."""

from __future__ import annotations

from typing import Any

from referrals_helpers import BASE, campaign, code, inviter, join, settle
from scrm import Kernel
from scrm.testing import problem
from scrm_referrals import demo


async def test_campaign_settings_are_checked(tenant: Any) -> None:
    await tenant.enable("referrals")
    body = {
        "name": "Bad",
        "starts_at": "2030-01-02T00:00:00Z",
        "ends_at": "2030-01-01T00:00:00Z",
        "second_reward": {"tag": "grand"},
        "daily_cap": 10,
        "total_cap": 5,
    }
    bad = problem(await tenant.post(f"{BASE}/campaigns", body), 422, "validation-error")
    assert sorted(e["field"] for e in bad["errors"]) == ["daily_cap", "ends_at", "second_reward"]
    for wrong in (
        {"name": ""},
        {"name": "x", "levels": 3},
        {"name": "x", "landing_url": "https://brand.example/no-code"},
        {"name": "x", "conversion_event": "Not A Type"},
        {"name": "x", "surprise": 1},
    ):
        response = await tenant.post(f"{BASE}/campaigns", wrong)
        assert response.status_code in (400, 422), (wrong, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    c = await campaign(tenant)
    changed = await tenant.patch(f"{BASE}/campaigns/{c['id']}", {"name": "Renamed", "daily_cap": 2})
    assert (changed.json()["name"], changed.json()["daily_cap"]) == ("Renamed", 2)
    problem(await tenant.patch(f"{BASE}/campaigns/{c['id']}", {"total_cap": 1}), 422, "validation-error")
    listed = (await tenant.get(f"{BASE}/campaigns", params={"limit": 1})).json()
    assert [x["id"] for x in listed["items"]] == [c["id"]]
    problem(await tenant.get(f"{BASE}/campaigns", params={"cursor": "nonsense"}), 400, "invalid-cursor")
    problem(await tenant.post(f"{BASE}/campaigns/{c['id']}/codes", {}), 422, "validation-error")
    problem(await tenant.post(f"{BASE}/campaigns/{c['id']}/codes", {"member_id": 99999999}), 404, "not-found")


def routes(campaign_id: int, referral_id: int, member_id: int, code_text: str) -> list[tuple[str, str, Any, str]]:
    """Every route that names something of a workspace, with a body it would accept and its scope."""
    return [
        ("GET", f"{BASE}/campaigns/{campaign_id}", None, "read"),
        ("PATCH", f"{BASE}/campaigns/{campaign_id}", {"name": "Stolen"}, "write"),
        ("POST", f"{BASE}/campaigns/{campaign_id}/codes", {"member_id": member_id}, "write"),
        ("GET", f"{BASE}/campaigns/{campaign_id}/leaderboard", None, "read"),
        ("GET", f"{BASE}/codes/{code_text}", None, "read"),
        ("GET", f"{BASE}/codes/{code_text}/qr", None, "read"),
        ("POST", f"{BASE}/joins", {"code": code_text, "member": {"external_id": "thief"}}, "write"),
        ("POST", f"{BASE}/attributions", {"code": code_text, "member_id": member_id}, "write"),
        ("GET", f"{BASE}/referrals/{referral_id}", None, "read"),
        ("GET", f"{BASE}/referrals/{referral_id}/rewards", None, "read"),
        ("POST", f"{BASE}/referrals/{referral_id}/review", {"decision": "void"}, "admin"),
        ("GET", f"{BASE}/members/{member_id}/tree", None, "read"),
        ("GET", f"{BASE}/k?campaign_id={campaign_id}", None, "read"),
        ("GET", f"{BASE}/k/series?campaign_id={campaign_id}", None, "read"),
    ]


async def _setup(tenant: Any, kernel: Kernel) -> tuple[dict[str, Any], dict[str, Any], int, str]:
    c = await campaign(tenant, name="Secret campaign")
    inviter_id, text = await inviter(tenant, c["id"], "Secret inviter")
    referral = await join(tenant, text, "secret-friend")
    await settle(kernel, tenant.id)
    return c, referral, inviter_id, text


async def test_every_route_checks_its_scope(tenant: Any, kernel: Kernel) -> None:
    c, referral, inviter_id, text = await _setup(tenant, kernel)
    keys = {level: await tenant.new_key(f"referrals:{level}") for level in ("read", "write", "admin")}
    keys["none"] = await tenant.new_key("members:read")
    listed = [("GET", f"{BASE}/campaigns", None, "read"), ("GET", f"{BASE}/referrals", None, "read")]
    listed += [("GET", f"{BASE}/k", None, "read"), ("GET", f"{BASE}/k/series", None, "read")]
    listed += [("POST", f"{BASE}/campaigns", {"name": "New"}, "write")]
    for method, path, body, needed in routes(c["id"], referral["id"], inviter_id, text) + listed:
        kw = {"json": body} if body is not None else {}
        for level, key in keys.items():
            response = await tenant.client.request(method, path, headers=tenant.headers(key), **kw)
            if level == needed:
                assert response.status_code != 403, f"{method} {path} with {level}: {response.text}"
            else:
                assert response.status_code == 403, f"{method} {path} with {level}: {response.status_code}"


async def test_no_route_crosses_workspaces(tenant: Any, other: Any, kernel: Kernel) -> None:
    c, referral, inviter_id, text = await _setup(tenant, kernel)
    await other.enable("referrals")
    await other.post(f"{BASE}/campaigns", {"name": "Theirs"})
    for method, path, body, _ in routes(c["id"], referral["id"], inviter_id, text):
        kw = {"json": body} if body is not None else {}
        response = await other.client.request(method, path, headers=other.headers(), **kw)
        assert response.status_code in (404, 422), f"{method} {path}: {response.status_code} {response.text}"
        assert "Secret" not in response.text
        assert "secret-friend" not in response.text
    assert (await other.get(f"{BASE}/referrals")).json()["items"] == []
    assert (await other.get(f"{BASE}/k")).json()["inviters"] == 0
    assert (await tenant.get(f"{BASE}/campaigns/{c['id']}")).json()["name"] == "Secret campaign"
    assert (await tenant.get(f"{BASE}/referrals/{referral['id']}")).json()["state"] == "converted"


async def test_routes_need_the_plugin_enabled(tenant: Any, other: Any) -> None:
    c = await campaign(tenant)
    assert (await other.get(f"{BASE}/campaigns")).status_code == 404
    assert (await other.get(f"{BASE}/campaigns/{c['id']}")).status_code == 404


async def test_export_and_erasure(tenant: Any, kernel: Kernel) -> None:
    c = await campaign(tenant)
    inviter_id, text = await inviter(tenant, c["id"], "Ida")
    friend = await join(tenant, text, "jon", source="5.5.5.5", device="phone-1")
    friend_code = await code(tenant, c["id"], friend["invitee_id"])
    await join(tenant, friend_code, "kim")
    await settle(kernel, tenant.id)
    exported = (await tenant.get(f"/api/v1/members/{friend['invitee_id']}/export")).json()["plugins"]["referrals"]
    assert [x["code"] for x in exported["codes"]] == [friend_code]
    assert exported["invited_by"]["inviter_id"] == inviter_id
    assert len(exported["invited"]) == 1
    assert {r["role"] for r in exported["rewards"]} == {"invitee", "inviter"}
    counted = ("inviters", "invitations", "joins", "conversions", "k")
    k_before = [(await tenant.get(f"{BASE}/k")).json()[x] for x in counted]
    erased = await tenant.delete(f"/api/v1/members/{friend['invitee_id']}")
    assert erased.status_code == 204, erased.text
    assert [(await tenant.get(f"{BASE}/k")).json()[x] for x in counted] == k_before  # the counts stay
    rows = await kernel.sql.fetch(
        "SELECT invitee_id, inviter_id, source, device FROM referrals_referral WHERE campaign = {} ORDER BY id",
        c["id"],
    )
    assert [tuple(r.values()) for r in rows] == [
        (None, inviter_id, None, None),
        (rows[1]["invitee_id"], None, None, None),
    ]
    assert not await kernel.sql.fetch(
        "SELECT id FROM referrals_reward WHERE member_id = {} OR id IS NULL", friend["invitee_id"]
    )
    assert (await tenant.get(f"{BASE}/codes/{friend_code}")).json()["inviter_name"] == ""
    tree = (await tenant.get(f"{BASE}/members/{inviter_id}/tree")).json()
    assert tree["size"] == 0  # the link to the erased person is gone


async def test_the_demo_seeds_a_campaign_once(tenant: Any, kernel: Kernel) -> None:
    await tenant.enable("referrals")
    ids = [(await tenant.member(display_name=f"D{i}"))["id"] for i in range(60)]
    ws = await kernel.workspaces.ref(tenant.slug)
    await demo.seed(kernel, ws, ids)
    await demo.seed(kernel, ws, ids)
    [seeded] = (await tenant.get(f"{BASE}/campaigns")).json()["items"]
    k = (await tenant.get(f"{BASE}/k", params={"campaign_id": seeded["id"]})).json()
    assert k["joins"] == 30
    assert k["conversions"] > 0
    assert k["k"] > 0
    held = (await tenant.get(f"{BASE}/referrals", params={"state": "held"})).json()["items"]
    assert held
    assert (await tenant.get(f"{BASE}/campaigns/{seeded['id']}/leaderboard")).json()


async def test_deleting_a_workspace_deletes_its_referrals(tenant: Any, kernel: Kernel, operator_key: str) -> None:
    await _setup(tenant, kernel)
    response = await tenant.client.delete(f"/api/v1/workspaces/{tenant.slug}", headers=tenant.headers(operator_key))
    assert response.status_code == 204, response.text
    for table in (
        "referrals_campaign",
        "referrals_code",
        "referrals_referral",
        "referrals_reward",
        "referrals_identity",
    ):
        assert await kernel.sql.fetch(f"SELECT id FROM {table} WHERE workspace = {{}}", tenant.id) == []
