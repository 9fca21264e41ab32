"""The analytics dashboard and agency table: the figures, the charts, CSV, roles, Chinese, and no
crossing workspaces."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from console_client import SignIn, text_of
from PIL import ImageFile
from pypdf import PdfReader
from scrm.kernel import Kernel


def base(tenant: Any) -> str:
    return f"/console/w/{tenant.slug}/analytics"


@pytest.fixture
async def analytics(kernel: Kernel, tenant: Any) -> Any:
    await tenant.enable("analytics")
    await tenant.enable("segments")
    ids = [(await tenant.member(display_name=f"M{i}"))["id"] for i in range(4)]
    body = [{"member_id": m, "type": "checkin"} for m in ids[:3]]
    body.append({"member_id": ids[0], "type": "order.paid", "properties": {"amount": 80}})
    assert (await tenant.post("/api/v1/events", body)).status_code in (200, 201)
    for _ in range(200):
        await kernel.outbox.drain()
        rows = await kernel.db.fetch("SELECT COUNT(*) AS n FROM scrm_outbox WHERE workspace = {}", tenant.id)
        if rows[0]["n"] == 0:
            break
    return tenant


async def test_the_dashboard(analytics: Any, sign_in: SignIn) -> None:
    analyst = await sign_in(analytics, "analyst")
    page = await analyst.get(f"{base(analytics)}/")
    assert page.status_code == 200, page.text
    for chart in ("headlines", "funnel", "trends", "cohorts", "heatmap"):
        assert f'data-testid="{chart}"' in page.text, chart
    text = text_of(page)
    assert "Active ratio 75.0%" in text  # 3 of 4 members engaged this month
    assert "GMV 80.00" in text
    assert "Not available here:" in text  # K and NPS without referrals and polls
    csv = await analyst.get(f"{base(analytics)}/summary.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert (await analyst.get(f"{base(analytics)}/retention.csv")).status_code == 200
    week = await analyst.get(f"{base(analytics)}/", params={"period": "week"})
    assert week.status_code == 200
    assert (await analyst.get(f"{base(analytics)}/", params={"period": "year"})).status_code == 400


async def test_the_agency_table_and_isolation(analytics: Any, other: Any, sign_in: SignIn) -> None:
    await other.enable("analytics")
    admin = await sign_in(None, admin=True)
    table = await admin.get(f"{base(analytics)}/agency")
    assert f'data-workspace="{analytics.slug}"' in table.text
    assert f'data-workspace="{other.slug}"' in table.text
    owner = await sign_in(analytics, "owner")
    mine = await owner.get(f"{base(analytics)}/agency")
    assert f'data-workspace="{analytics.slug}"' in mine.text
    assert f'data-workspace="{other.slug}"' not in mine.text
    assert (await owner.get(f"{base(other)}/")).status_code in (403, 404)


async def test_the_dashboard_in_chinese(kernel: Kernel, analytics: Any, sign_in: SignIn) -> None:
    owner = await sign_in(analytics, "owner")
    await kernel.operators.set_locale(owner.operator_id, "zh_CN")
    text = text_of(await owner.get(f"{base(analytics)}/"))
    for words in ("数据看板", "活跃率", "按加入月份的留存", "最佳发送时间"):
        assert words in text, words


async def test_a_chosen_comparison_and_the_report(kernel: Kernel, analytics: Any, other: Any, sign_in: SignIn) -> None:
    analyst = await sign_in(analytics, "analyst")
    ws = await kernel.workspaces.ref(analytics.slug)
    today = date.today()
    year_ago = today.replace(year=today.year - 1, day=1)
    page = await analyst.get(f"{base(analytics)}/", params={"compare": year_ago.isoformat()})
    assert page.status_code == 200, page.text
    headlines = text_of(page)
    assert f"{year_ago.isoformat()} to " in headlines  # the chosen period heads the second column
    assert f'name="compare" value="{year_ago.isoformat()}"' in page.text
    assert f"report.pdf?period=month&amp;date={today.isoformat()}&amp;compare={year_ago.isoformat()}" in page.text

    report = await analyst.get(f"{base(analytics)}/report", params={"compare": year_ago.isoformat()})
    assert report.status_code == 200
    text = text_of(report)
    assert ws.name in text
    assert "Active ratio 75.0% —" in text  # 3 of 4 this month; nobody a year ago (no members then)
    assert '<link rel="stylesheet" href="report.css">' in report.text  # no inline style: the policy forbids it
    css = await analyst.get(f"{base(analytics)}/report.css")
    assert css.headers["content-type"].startswith("text/css")
    assert "@page" in css.text
    pdf = await analyst.get(f"{base(analytics)}/report.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # WeasyPrint's import left Pillow as it was
    body = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert ws.name in body
    assert "75.0%" in body
    assert (await analyst.get(f"{base(other)}/report.pdf")).status_code in (403, 404)


async def test_the_report_in_chinese(kernel: Kernel, analytics: Any, sign_in: SignIn) -> None:
    owner = await sign_in(analytics, "owner")
    await kernel.operators.set_locale(owner.operator_id, "zh_CN")
    text = text_of(await owner.get(f"{base(analytics)}/report"))
    for words in ("核心指标", "活跃率", "每日趋势"):
        assert words in text, words
    body = (await owner.get(f"{base(analytics)}/report.pdf")).content
    assert "核心指标" in "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
