"""Measures: K and its factors on a known tree (per campaign, per workspace, per period), the invite
tree of a member (depth, size, who invited them), top inviters, and K through the public service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from referrals_helpers import BASE, campaign, code, inviter, join, settle
from scrm import Kernel
from scrm.testing import problem


async def _tree(tenant: Any, kernel: Kernel) -> dict[str, Any]:
    """A known tree in one campaign: A invites B, C, D; B invites E, F; E invites G. Two more members
    hold codes and invite nobody; D's referral is voided. Links opened: 10."""
    c = await campaign(tenant, burst_limit=1000)
    ids: dict[str, int] = {}
    ids["A"], a_code = await inviter(tenant, c["id"], "A")
    for name in ("Idle1", "Idle2"):
        await inviter(tenant, c["id"], name)
    refs = {}
    for name in ("B", "C", "D"):
        refs[name] = await join(tenant, a_code, name)
    b_code = await code(tenant, c["id"], refs["B"]["invitee_id"])
    for name in ("E", "F"):
        refs[name] = await join(tenant, b_code, name)
    e_code = await code(tenant, c["id"], refs["E"]["invitee_id"])
    refs["G"] = await join(tenant, e_code, "G")
    for name, r in refs.items():
        ids[name] = r["invitee_id"]
    for _ in range(10):
        assert (await tenant.get(f"{BASE}/codes/{a_code}")).status_code == 200
    await settle(kernel, tenant.id)
    voided = await tenant.post(f"{BASE}/referrals/{refs['D']['id']}/review", {"decision": "void"})
    assert voided.status_code == 200, voided.text
    return {"campaign": c, "ids": ids, "refs": refs}


async def test_k_on_a_known_tree(tenant: Any, kernel: Kernel) -> None:
    known = await _tree(tenant, kernel)
    c = known["campaign"]
    k = (await tenant.get(f"{BASE}/k", params={"campaign_id": c["id"]})).json()
    # inviters: A, Idle1, Idle2, B, E hold codes; invitations: max(10 links opened, 6 joins);
    # conversions: 6 joins converted, D voided
    assert (k["inviters"], k["invitations"], k["joins"], k["conversions"]) == (5, 10, 6, 5)
    assert k["invitations_per_member"] == 2.0
    assert k["conversion_share"] == 0.5
    assert k["k"] == 1.0
    whole = (await tenant.get(f"{BASE}/k")).json()
    assert whole["k"] == 1.0
    before = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    past = (await tenant.get(f"{BASE}/k", params={"end": before})).json()
    assert (past["inviters"], past["conversions"], past["k"]) == (0, 0, 0.0)
    series = (await tenant.get(f"{BASE}/k/series", params={"period": "day", "campaign_id": c["id"]})).json()
    assert len(series["points"]) == 30
    assert sum(p["conversions"] for p in series["points"]) == 5
    problem(await tenant.get(f"{BASE}/k", params={"start": before, "end": before}), 422, "validation-error")
    bad = await tenant.get(f"{BASE}/k/series", params={"period": "year"})
    assert bad.status_code in (400, 422)
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_k_through_the_public_service(tenant: Any, kernel: Kernel) -> None:
    known = await _tree(tenant, kernel)
    ws = await kernel.workspaces.ref(tenant.slug)
    service = kernel.service("referrals", ws)
    now = datetime.now(UTC)
    figure = await service.k(ws, now - timedelta(days=1), now + timedelta(minutes=1))
    assert (figure.conversions, figure.inviters, figure.k) == (5, 5, 1.0)
    weekly = await service.k_series(
        ws, now - timedelta(days=14), now + timedelta(minutes=1), "week", known["campaign"]["id"]
    )
    assert [p.conversions for p in weekly.points] == [0, 5, 0]
    other = await kernel.workspaces.ref(tenant.slug)
    assert kernel.service("referrals", other) is service


async def test_the_invite_tree(tenant: Any, kernel: Kernel) -> None:
    known = await _tree(tenant, kernel)
    ids = known["ids"]
    tree = (await tenant.get(f"{BASE}/members/{ids['A']}/tree")).json()
    assert (tree["depth"], tree["size"], tree["invited_by"], tree["truncated"]) == (3, 5, None, False)
    root = tree["root"]
    assert [n["display_name"] for n in root["children"]] == ["B", "C"]  # D voided
    assert [n["display_name"] for n in root["children"][0]["children"]] == ["E", "F"]
    assert root["children"][0]["children"][0]["children"][0]["display_name"] == "G"
    of_b = (await tenant.get(f"{BASE}/members/{ids['B']}/tree")).json()
    assert (of_b["depth"], of_b["size"], of_b["invited_by"]) == (2, 3, ids["A"])


async def test_top_inviters(tenant: Any, kernel: Kernel) -> None:
    known = await _tree(tenant, kernel)
    ids, c = known["ids"], known["campaign"]
    top = (await tenant.get(f"{BASE}/campaigns/{c['id']}/leaderboard")).json()
    assert [(t["member_id"], t["conversions"], t["joins"]) for t in top] == [
        (ids["A"], 2, 2),
        (ids["B"], 2, 2),
        (ids["E"], 1, 1),
    ]
    assert top[0]["display_name"] == "A"
