"""Segment definitions: every clause kind counted against a hand-built fixture, bad clauses → 422
naming the clause, saved segments listed and exported through the core's member routes, scopes and
isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import scrm
from scrm.testing import problem
from segments_helpers import BASE, count, events, members_of, settle


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        ({"nope": 1}, "definition.nope"),
        ({"all": []}, "definition.all"),
        (
            {"all": [{"tag": "a"}, {"events": {"type": "order.paid", "within_days": 0}}]},
            "definition.all[1].events.within_days",
        ),
        ({"any": [{"stage": "sleeping"}]}, "definition.any[0].stage"),
        ({"not": {"rfm": {"score": "x"}}}, "definition.not.rfm.score"),
        ({"rfm": {"score": "r", "min": 4, "max": 2}}, "definition.rfm.max"),
        ({"attribute": {"key": "bad key", "equals": "x"}}, "definition.attribute.key"),
        ({"attribute": {"key": "city"}}, "definition.attribute"),
        ({"active": {"within_days": 3, "before_days": 4}}, "definition.active"),
        ({"events": {"type": "Order Paid", "within_days": 3}}, "definition.events.type"),
        ({"events": {"type": "a", "within_days": 3, "colour": 1}}, "definition.events.colour"),
        ({"cluster": "two"}, "definition.cluster"),
        ({"consent": ""}, "definition.consent"),
        ([1, 2], "definition"),
    ],
)
async def test_a_bad_clause_is_a_422_naming_it(tenant: Any, definition: Any, field: str) -> None:
    await tenant.enable("segments")
    body = problem(await tenant.post(f"{BASE}/preview", {"definition": definition}), 422, "validation-error")
    assert field in [e["field"] for e in body["errors"]], body
    body = problem(await tenant.post(BASE, {"name": "x", "definition": definition}), 422, "validation-error")
    assert field in [e["field"] for e in body["errors"]]


async def test_too_deep_a_definition_is_refused(tenant: Any) -> None:
    await tenant.enable("segments")
    deep: dict[str, Any] = {"tag": "a"}
    for _ in range(12):
        deep = {"not": deep}
    problem(await tenant.post(f"{BASE}/preview", {"definition": deep}), 422, "validation-error")


async def test_every_clause_counts_its_members(kernel: scrm.Kernel, tenant: Any) -> None:
    await tenant.enable("segments")
    now = datetime.now(UTC)
    a = (await tenant.member(display_name="A", tags=["vip"], attributes={"city": "Shanghai", "age": 30}))["id"]
    b = (await tenant.member(display_name="B", tags=["vip", "kol"], attributes={"city": "Beijing"}))["id"]
    c = (await tenant.member(display_name="C", attributes={"married": True}))["id"]
    await tenant.member(display_name="D")
    response = await tenant.post(
        "/api/v1/consents", [{"member_id": a, "purpose": "marketing.email", "status": "granted", "source": "form"}]
    )
    assert response.status_code in (200, 201), response.text
    await tenant.post(
        "/api/v1/consents", [{"member_id": b, "purpose": "marketing.email", "status": "granted", "source": "form"}]
    )
    await tenant.post(
        "/api/v1/consents", [{"member_id": b, "purpose": "marketing.email", "status": "withdrawn", "source": "form"}]
    )
    await events(
        tenant,
        (a, "order.paid", now - timedelta(days=1), {"amount": 120}),
        (a, "order.paid", now - timedelta(days=2), {"amount": 300}),
        (a, "checkin", now - timedelta(days=40), {}),
        (b, "order.paid", now - timedelta(days=20), {"amount": 50}),
        (b, "checkin", now - timedelta(hours=1), {}),
        (c, "checkin", now - timedelta(days=10), {}),
    )
    await settle(kernel, tenant.id)

    assert await count(tenant, {"tag": "vip"}) == 2
    assert await count(tenant, {"all": [{"tag": "vip"}, {"not": {"tag": "kol"}}]}) == 1
    assert await count(tenant, {"any": [{"tag": "kol"}, {"attribute": {"key": "city", "equals": "Shanghai"}}]}) == 2
    assert await count(tenant, {"attribute": {"key": "age", "equals": 30}}) == 1
    assert await count(tenant, {"attribute": {"key": "married", "equals": True}}) == 1
    assert await count(tenant, {"attribute": {"key": "city", "exists": True}}) == 2
    assert await count(tenant, {"attribute": {"key": "city", "exists": False}}) == 2
    assert await count(tenant, {"consent": "marketing.email"}) == 1  # b withdrew
    assert await count(tenant, {"events": {"type": "order.paid", "within_days": 7, "min": 2}}) == 1
    assert await count(tenant, {"events": {"type": "order.paid", "within_days": 30}}) == 2
    assert await count(tenant, {"events": {"type": "order.paid", "within_days": 30, "min": 0, "max": 1}}) == 3
    assert await count(tenant, {"active": {"within_days": 7}}) == 2  # a (orders) and b (check-in)
    assert await count(tenant, {"active": {"before_days": 7}}) == 2  # c (10 days) and d (never)
    assert await count(tenant, {"joined": {"within_days": 1}}) == 4
    assert await count(tenant, {"stage": "new"}) == 4  # all joined today
    # RFM with the default thresholds: a 2 orders (f=2), 420 spent (m=3), 1 day ago (r=5); b 1 order,
    # 50 spent, 20 days ago: f=1, m=1, r=4; c and d no order: 0
    assert await count(tenant, {"rfm": {"score": "r", "min": 5}}) == 1
    assert await count(tenant, {"rfm": {"score": "r", "min": 4, "max": 4}}) == 1
    assert await count(tenant, {"rfm": {"score": "m", "min": 3, "max": 3}}) == 1
    assert await count(tenant, {"rfm": {"score": "f", "max": 0}}) == 2
    profile = (await tenant.get(f"{BASE}/members/{a}")).json()
    assert (profile["r"], profile["f"], profile["m"], profile["orders"], profile["monetary"]) == (5, 2, 3, 2, 420.0)
    assert profile["stage"] == "new"


async def test_saved_segments_list_and_export_through_the_core(kernel: scrm.Kernel, tenant: Any) -> None:
    await tenant.enable("segments")
    vip = [(await tenant.member(display_name=f"V{i}", tags=["vip"]))["id"] for i in range(3)]
    await tenant.member(display_name="N")
    created = await tenant.post(BASE, {"name": "VIPs", "definition": {"tag": "vip"}})
    assert created.status_code == 201, created.text
    segment = created.json()
    assert await members_of(tenant, segment["id"]) == sorted(vip)
    await settle(kernel, tenant.id)  # a count reads the profiles, made by delivery
    assert (await tenant.get(f"{BASE}/{segment['id']}/count")).json()["count"] == 3
    exported = await tenant.get("/api/v1/members/export", params={"segment": segment["id"], "format": "csv"})
    assert exported.status_code == 200
    assert len(exported.text.strip().splitlines()) == 4  # the header and three members
    problem(await tenant.post(BASE, {"name": "VIPs", "definition": {"tag": "x"}}), 409, "segments-duplicate-name")
    changed = await tenant.patch(f"{BASE}/{segment['id']}", {"definition": {"not": {"tag": "vip"}}})
    assert changed.json()["definition"] == {"not": {"tag": "vip"}}
    assert len(await members_of(tenant, segment["id"])) == 1
    listed = (await tenant.get(BASE)).json()["items"]
    assert [s["name"] for s in listed] == ["VIPs"]
    assert (await tenant.delete(f"{BASE}/{segment['id']}")).status_code == 204
    problem(await tenant.get("/api/v1/members", params={"segment": segment["id"]}), 422, "validation-error")


async def test_the_service_says_whether_a_member_is_in_a_segment(kernel: scrm.Kernel, tenant: Any, other: Any) -> None:
    await tenant.enable("segments")
    await other.enable("segments")
    vip = (await tenant.member(display_name="V", tags=["vip"]))["id"]
    plain = (await tenant.member(display_name="P"))["id"]
    segment = (await tenant.post(BASE, {"name": "VIPs", "definition": {"tag": "vip"}})).json()
    ws = await kernel.workspaces.ref(tenant.slug)
    service = kernel.service("segments", ws)
    for ref in (str(segment["id"]), "VIPs"):  # a journey names a segment by id or by name
        assert await service.contains(ws, ref, vip)
        assert not await service.contains(ws, ref, plain)
    assert not await service.contains(ws, "no such segment", vip)
    theirs = await kernel.workspaces.ref(other.slug)
    assert not await kernel.service("segments", theirs).contains(theirs, str(segment["id"]), vip)


async def test_isolation_on_every_route(tenant: Any, other: Any) -> None:
    await tenant.enable("segments")
    await other.enable("segments")
    mine = (await tenant.member(display_name="M"))["id"]
    segment = (await tenant.post(BASE, {"name": "All", "definition": {"joined": {"within_days": 30}}})).json()
    sid = segment["id"]
    for call in (
        other.get(f"{BASE}/{sid}"),
        other.patch(f"{BASE}/{sid}", {"name": "x"}),
        other.get(f"{BASE}/{sid}/count"),
        other.delete(f"{BASE}/{sid}"),
        other.get(f"{BASE}/members/{mine}"),
    ):
        problem(await call, 404, "not-found")
    problem(await other.get("/api/v1/members", params={"segment": sid}), 422, "validation-error")
    assert (await other.get(BASE)).json()["items"] == []
    assert (await other.post(f"{BASE}/preview", {"definition": {"joined": {"within_days": 30}}})).json()["count"] == 0
    assert (await tenant.get(f"{BASE}/{sid}")).status_code == 200


async def test_scopes(tenant: Any) -> None:
    await tenant.enable("segments")
    reader = await tenant.new_key("segments:read", "members:read")
    problem(await tenant.post(BASE, {"name": "x", "definition": {"tag": "a"}}, key=reader), 403, "missing-scope")
    put = await tenant.client.put(f"{BASE}/settings", json={}, headers=tenant.headers(reader))
    problem(put, 403, "missing-scope")
    assert (await tenant.post(f"{BASE}/preview", {"definition": {"tag": "a"}}, key=reader)).status_code == 200
    nobody = await tenant.new_key("members:read")
    problem(await tenant.get(BASE, key=nobody), 403, "missing-scope")


async def test_settings_are_checked(tenant: Any) -> None:
    await tenant.enable("segments")
    put = tenant.client.put
    bad = await put(f"{BASE}/settings", json={"n_days": 30, "m_days": 20}, headers=tenant.headers())
    assert "m_days" in [e["field"] for e in problem(bad, 422, "validation-error")["errors"]]
    bad = await put(f"{BASE}/settings", json={"frequency": [1, 1, 2, 3]}, headers=tenant.headers())
    problem(bad, 422, "validation-error")
    good = await put(f"{BASE}/settings", json={"n_days": 7, "m_days": 60}, headers=tenant.headers())
    assert good.status_code == 200
    assert good.json()["n_days"] == 7
    assert (await tenant.get(f"{BASE}/settings")).json()["m_days"] == 60
