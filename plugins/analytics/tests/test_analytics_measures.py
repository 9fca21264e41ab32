"""The measures against a hand-computed fixture in Asia/Shanghai: the retention triangle (with a
member who joined on 1 November in Shanghai but 31 October in UTC), AR, orders, AOV, repurchase,
GMV share, cost per member, private-domain value, the heatmap and trends; K and NPS "not
available" without referrals and polls; a chosen comparison period; CSV and the PDF report; bad
input; scopes and isolation."""

from __future__ import annotations

import io
import random
import sys
from datetime import UTC, date
from typing import Any

import pytest
import scrm
from analytics_helpers import BASE, event, in_zone, local, rebuilt, settle
from pypdf import PdfReader
from scrm.testing import problem
from scrm_analytics import rollups


async def fixture(kernel: scrm.Kernel, tenant: Any) -> tuple[scrm.WorkspaceRef, dict[str, int]]:
    """Members A and B joined 10 September, C on 1 November 01:00 (Shanghai), D on 5 November."""
    names = {n: (await tenant.member(display_name=n))["id"] for n in "ABCD"}
    await settle(kernel, tenant.id)  # their member.created events pass before analytics is enabled
    await tenant.enable("analytics")
    await rebuilt(kernel, tenant.id, 4)  # the job queued on enabling has read the log (today's joins)
    for table in ("daily", "active", "cohort", "member", "applied"):  # this fixture starts from nothing
        await kernel.db.fetch(f"DELETE FROM analytics_{table} WHERE workspace = {{}}", tenant.id)
    ws = await in_zone(kernel, tenant, "Asia/Shanghai")
    joined = {
        "A": local(2026, 9, 10, 9),
        "B": local(2026, 9, 10, 20),
        "C": local(2026, 11, 1, 1),
        "D": local(2026, 11, 5, 12),
    }
    for name, at in joined.items():
        await kernel.db.fetch("UPDATE scrm_member SET created_at = {} WHERE id = {}", at.astimezone(UTC), names[name])
    a, b, c, d = (names[n] for n in "ABCD")
    events = [
        *(event(names[n], "member.created", at) for n, at in joined.items()),
        event(a, "checkin", local(2026, 9, 12, 8)),
        event(a, "checkin", local(2026, 10, 3, 8)),
        event(a, "checkin", local(2026, 11, 20, 10)),
        event(b, "checkin", local(2026, 9, 15, 21)),
        event(b, "checkin", local(2026, 9, 15, 22)),
        event(b, "order.paid", local(2026, 12, 1, 12), amount=100),
        event(c, "checkin", local(2026, 11, 2, 9)),
        event(c, "order.paid", local(2026, 11, 2, 9), amount=50, community=True),
        event(c, "order.paid", local(2026, 12, 2, 18), amount=150),
        event(c, "points.checkin", local(2026, 11, 2, 9), points=10),
    ]
    random.Random(7).shuffle(events)  # noqa: S311 - a reproducible order
    async with kernel.db.transaction():
        await rollups.apply(kernel, ws, events[:6])
        await rollups.apply(kernel, ws, events)  # the first six again: a redelivery counts nothing
    assert d
    return ws, names


async def test_the_retention_triangle(kernel: scrm.Kernel, tenant: Any) -> None:
    await fixture(kernel, tenant)
    got = (await tenant.get(f"{BASE}/retention", params={"grain": "month", "cohorts": 4})).json()
    rows = {r["cohort"]: (r["size"], r["retained"]) for r in got["cohorts"]}
    today = date.today()
    assert today >= date(2026, 12, 1)  # the fixture's months are September to December 2026
    assert rows["2026-09-01"][0] == 2
    assert rows["2026-09-01"][1][:4] == [1.0, 0.5, 0.5, 0.5]  # A,B · A · A · B
    assert rows["2026-10-01"][0] == 0  # C joined on 1 November in Shanghai
    assert rows["2026-11-01"][0] == 2
    assert rows["2026-11-01"][1][:2] == [0.5, 0.5]  # C · C
    csv = await tenant.get(f"{BASE}/retention/csv", params={"grain": "month", "cohorts": 4})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "cohort,size,retained"
    assert "2026-09-01,2,1.0|0.5|0.5|0.5" in csv.text


async def test_the_period_figures(kernel: scrm.Kernel, tenant: Any) -> None:
    await fixture(kernel, tenant)
    cost = await tenant.client.put(f"{BASE}/costs/2026-11-01", json={"amount": 300}, headers=tenant.headers())
    assert cost.status_code == 200, cost.text
    got = (await tenant.get(f"{BASE}/summary", params={"period": "month", "date": "2026-11-15"})).json()
    nov, octo = got["current"], got["previous"]
    assert (nov["start"], nov["end"]) == ("2026-11-01", "2026-11-30")
    assert (nov["members"], nov["joined"], nov["active"], nov["active_ratio"]) == (4, 2, 2, 0.5)
    assert (nov["events"], nov["orders"], nov["gmv"], nov["average_order_value"]) == (4, 1, 50.0, 50.0)
    assert (nov["gmv_share"], nov["repurchase_rate"], nov["points_issued"]) == (1.0, 0.0, 10.0)
    assert (nov["cost"], nov["cost_per_member"]) == (300.0, 75.0)
    assert nov["k"] is None
    assert nov["nps"] is None
    assert {"k", "nps", "reusable_content"} <= set(nov["not_available"])
    # index over what is available: interactions 4/4/30/0.5 = 0.0667, GMV share 1, cost 1 - 75/10 → 0
    assert nov["index"] == round(100 * (0.18 * (4 / 4 / 30 / 0.5) + 0.20 * 1.0 + 0.20 * 0.0) / 0.58, 2)
    assert (octo["start"], octo["members"], octo["active"], octo["active_ratio"]) == ("2026-10-01", 2, 1, 0.5)
    assert octo["cost"] is None
    assert "cost_per_member" in octo["not_available"]
    dec = (await tenant.get(f"{BASE}/summary", params={"period": "month", "date": "2026-12-07"})).json()["current"]
    assert (dec["orders"], dec["gmv"], dec["average_order_value"], dec["repurchase_rate"]) == (2, 250.0, 125.0, 0.5)
    assert dec["gmv_share"] == 0.0
    assert dec["private_domain_value"] == 4 * 0.5 * 125 * 3
    week = (await tenant.get(f"{BASE}/summary", params={"period": "week", "date": "2026-11-02"})).json()["current"]
    assert (week["start"], week["end"], week["active"]) == ("2026-11-02", "2026-11-08", 1)
    csv = await tenant.get(f"{BASE}/summary/csv", params={"period": "month", "date": "2026-11-15"})
    assert csv.text.splitlines()[1].startswith("2026-11-01,2026-11-30,4,2,2,0.5,")


async def test_heatmap_and_trends(kernel: scrm.Kernel, tenant: Any) -> None:
    await fixture(kernel, tenant)
    heat = (await tenant.get(f"{BASE}/heatmap", params={"start": "2026-11-01", "end": "2026-11-30"})).json()
    assert heat["counts"][0][9] == 3  # Monday 2 November 09:00: C's check-in, order and points
    assert heat["counts"][4][10] == 1  # Friday 20 November 10:00: A's check-in
    assert sum(map(sum, heat["counts"])) == 4
    assert (heat["best_weekday"], heat["best_hour"]) == (0, 9)
    trend = (await tenant.get(f"{BASE}/trends", params={"start": "2026-11-01", "end": "2026-11-03"})).json()
    assert [(p["day"], p["joined"], p["active"], p["events"], p["orders"]) for p in trend] == [
        ("2026-11-01", 1, 0, 0, 0),
        ("2026-11-02", 0, 1, 3, 1),
        ("2026-11-03", 0, 0, 0, 0),
    ]
    csv = await tenant.get(f"{BASE}/trends/csv", params={"start": "2026-11-02", "end": "2026-11-02"})
    assert csv.text.splitlines() == ["day,joined,active,events,orders,gmv", "2026-11-02,0,1,3,1,50.0"]


async def test_the_lifecycle_comes_from_segments_when_enabled(kernel: scrm.Kernel, tenant: Any) -> None:
    await tenant.enable("analytics")
    await tenant.member(display_name="A")
    await settle(kernel, tenant.id)
    assert (await tenant.get(f"{BASE}/summary")).json()["lifecycle"] is None
    await tenant.enable("segments")
    await tenant.member(display_name="B")
    await settle(kernel, tenant.id)
    lifecycle = (await tenant.get(f"{BASE}/summary")).json()["lifecycle"]
    assert lifecycle["new"] >= 1
    assert set(lifecycle) == {"new", "active", "silent", "churned"}


async def test_bad_input_scopes_and_isolation(tenant: Any, other: Any) -> None:
    await tenant.enable("analytics")
    await other.enable("analytics")
    for params in ({"period": "year"}, {"date": "yesterday"}):
        assert (await tenant.get(f"{BASE}/summary", params=params)).status_code in (400, 422)
    body = problem(
        await tenant.get(f"{BASE}/trends", params={"start": "2026-11-02", "end": "2026-11-01"}), 422, "validation-error"
    )
    assert body["errors"][0]["field"] == "start"
    problem(
        await tenant.get(f"{BASE}/trends", params={"start": "2020-01-01", "end": "2026-11-01"}), 422, "validation-error"
    )
    put = tenant.client.put
    problem(
        await put(f"{BASE}/costs/2026-11-02", json={"amount": 1}, headers=tenant.headers()), 422, "validation-error"
    )
    assert (await put(f"{BASE}/costs/2026-11-01", json={"amount": -1}, headers=tenant.headers())).status_code in (
        400,
        422,
    )
    reader = await tenant.new_key("analytics:read")
    problem(
        await put(f"{BASE}/costs/2026-11-01", json={"amount": 1}, headers=tenant.headers(reader)), 403, "missing-scope"
    )
    assert (await tenant.get(f"{BASE}/summary", key=reader)).status_code == 200
    nobody = await tenant.new_key("members:read")
    problem(await tenant.get(f"{BASE}/summary", key=nobody), 403, "missing-scope")
    await put(f"{BASE}/costs/2026-11-01", json={"amount": 500}, headers=tenant.headers())
    mine = (await tenant.get(f"{BASE}/summary", params={"date": "2026-11-10"})).json()["current"]
    theirs = (await other.get(f"{BASE}/summary", params={"date": "2026-11-10"})).json()["current"]
    assert mine["cost"] == 500.0
    assert theirs["cost"] is None


async def test_nps_comes_from_polls_when_enabled(kernel: scrm.Kernel, tenant: Any) -> None:
    await tenant.enable("analytics")
    await tenant.enable("polls")
    poll = (
        await tenant.post("/api/v1/polls", {"name": "NPS", "questions": [{"kind": "nps", "title": "Recommend?"}]})
    ).json()
    await tenant.post(f"/api/v1/polls/{poll['id']}/open")
    question = poll["questions"][0]["id"]
    for score in (10, 9, 9, 8, 3):  # 3 promoters, 1 passive, 1 detractor: (3 - 1) / 5 = 40
        member = (await tenant.member(display_name=f"V{score}"))["id"]
        cast = await tenant.post(
            f"/api/v1/polls/{poll['id']}/ballots",
            {"member_id": member, "answers": [{"question_id": question, "score": score}]},
        )
        assert cast.status_code == 201, cast.text
    current = (await tenant.get(f"{BASE}/summary")).json()["current"]
    assert current["nps"] == 40.0
    assert "nps" not in current["not_available"]


def pdf_text(body: bytes) -> str:
    assert body.startswith(b"%PDF-"), body[:20]
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


async def test_a_chosen_comparison_period_and_the_pdf_report(kernel: scrm.Kernel, tenant: Any, other: Any) -> None:
    await fixture(kernel, tenant)
    params = {"period": "month", "date": "2026-11-15", "compare": "2026-09-20"}
    got = (await tenant.get(f"{BASE}/summary", params=params)).json()
    sep = got["previous"]
    assert (sep["start"], sep["end"], sep["members"], sep["active"], sep["active_ratio"]) == (
        "2026-09-01",
        "2026-09-30",
        2,
        2,
        1.0,
    )
    assert got["current"]["start"] == "2026-11-01"
    csv = await tenant.get(f"{BASE}/summary/csv", params=params)
    assert csv.text.splitlines()[2].startswith("2026-09-01,2026-09-30,2,2,2,1.0,")
    assert (await tenant.get(f"{BASE}/summary", params={**params, "compare": "soon"})).status_code in (400, 422)

    report = await tenant.get(f"{BASE}/report/pdf", params=params)
    assert report.status_code == 200, report.text[:500]
    assert report.headers["content-type"] == "application/pdf"
    text = pdf_text(report.content)
    ws = await kernel.workspaces.ref(tenant.slug)
    for words in (ws.name, "2026-11-01", "2026-09-01", "Active ratio", "50.0%", "100.0%", "Asia/Shanghai"):
        assert words in text, words
    await other.enable("analytics")
    theirs = pdf_text((await other.get(f"{BASE}/report/pdf")).content)
    assert ws.name not in theirs
    nobody = await tenant.new_key("members:read")
    problem(await tenant.get(f"{BASE}/report/pdf", key=nobody), 403, "missing-scope")


async def test_no_pdf_without_its_library_is_a_503(
    kernel: scrm.Kernel, tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await tenant.enable("analytics")
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as if it could not be loaded
    problem(await tenant.get(f"{BASE}/report/pdf"), 503, "analytics-report-unavailable")
