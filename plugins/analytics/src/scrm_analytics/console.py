"""The analytics console (``/console/w/{workspace}/analytics/…``): the dashboard and the agency table.

The dashboard shows a day, week or month (beside the previous one, or one the operator chooses): the headline measures,
the lifecycle funnel (with segments), daily trends, the retention triangle and the weekday × hour
heatmap — all server-rendered SVG, every figure read from the rollups, so a page costs a few small
queries at any size. The report (``/report``, ``/report.pdf``) is the same figures as a page of
its own for a client, and its PDF. The agency table puts the headline measures of every workspace the operator
may read (with analytics enabled) side by side."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import scrm
from litestar import Request, Response, get
from litestar.params import QueryParameter
from litestar.response import Template

from scrm_analytics import measures, periods, report
from scrm_analytics.report import HEADLINES, MEASURE_LABELS, N_, STAGES, WEEKDAYS

READ = {"scope": "analytics:read"}
Grain = Annotated[Literal["day", "week", "month"], QueryParameter()]
Anchor = Annotated[date | None, QueryParameter(name="date")]
Compare = Annotated[date | None, QueryParameter()]


PERIODS = {"day": N_("Day"), "week": N_("Week"), "month": N_("Month")}


def _trend_points(trend: list[Any], field: str, width: int = 600, height: int = 120) -> str:
    values = [getattr(p, field) for p in trend]
    top = max([*values, 1])
    step = width / max(len(values) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - v / top * height:.1f}" for i, v in enumerate(values))


@get("/", opt=READ)
async def dashboard(
    kernel: scrm.KernelDep,
    access: scrm.AccessDep,
    period: Grain = "month",
    anchor: Anchor = None,
    compare: Compare = None,
) -> Template:
    ws = access.workspace
    summary = await measures.summary(kernel, ws, period, anchor, compare)
    today = periods.local(periods.now(), ws.time_zone).date()
    last = min(summary.current.end, today)  # no empty days ahead in the trend
    trend = await measures.trends(kernel, ws, last - timedelta(days=29), last)
    heat = await measures.heatmap(kernel, ws, summary.current.start, last)
    context = {
        "summary": summary,
        "headlines": HEADLINES,
        "periods": PERIODS,
        "period": period,
        "anchor": (anchor or periods.local(periods.now(), ws.time_zone).date()).isoformat(),
        "compare": compare.isoformat() if compare else "",
        "stages": STAGES,
        "measure_labels": MEASURE_LABELS,
        "trend": trend,
        "lines": {f: _trend_points(trend, f) for f in ("active", "events", "joined")},
        "retention": await measures.retention(kernel, ws, "month", 6),
        "heat": heat,
        "heat_top": max([max(row) for row in heat.counts] + [1]),
        "weekdays": WEEKDAYS,
    }
    return Template("analytics/dashboard.html", context=context)


def _csv(text: str, name: str) -> Response[str]:
    return Response(text, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@get("/summary.csv", opt=READ)
async def summary_csv(
    kernel: scrm.KernelDep,
    access: scrm.AccessDep,
    period: Grain = "month",
    anchor: Anchor = None,
    compare: Compare = None,
) -> Response[str]:
    found = await measures.summary(kernel, access.workspace, period, anchor, compare)
    return _csv(measures.as_csv([found.current, found.previous]), "summary")


@get("/report", opt=READ)
async def report_page(
    kernel: scrm.KernelDep,
    access: scrm.AccessDep,
    period: Grain = "month",
    anchor: Anchor = None,
    compare: Compare = None,
) -> Template:
    """The per-workspace report as a print-ready page of its own (no console around it)."""
    found = await report.context(kernel, access.workspace, period, anchor, compare)
    return Template("analytics/report.html", context=found)


@get("/report.css", opt=READ)
async def report_css() -> Response[bytes]:
    """The report page's stylesheet (the console's policy allows no inline style)."""
    return Response(report.STYLESHEET.read_bytes(), media_type="text/css; charset=utf-8")


@get("/report.pdf", opt=READ)
async def report_pdf(
    request: Request[Any, Any, Any],
    kernel: scrm.KernelDep,
    access: scrm.AccessDep,
    period: Grain = "month",
    anchor: Anchor = None,
    compare: Compare = None,
) -> Response[bytes]:
    found = await report.context(kernel, access.workspace, period, anchor, compare)
    return report.pdf_response(request, found)


@get("/retention.csv", opt=READ)
async def retention_csv(kernel: scrm.KernelDep, access: scrm.AccessDep) -> Response[str]:
    return _csv(measures.as_csv((await measures.retention(kernel, access.workspace, "month", 12)).cohorts), "retention")


@get("/agency", opt=READ)
async def agency(kernel: scrm.KernelDep, access: scrm.AccessDep) -> Template:
    """This month's headline measures of every workspace the operator may read analytics in."""
    rows = []
    for membership in await kernel.operators.memberships(access.operator):
        ws = await kernel.workspace_ref(membership.slug)
        if "analytics" not in ws.enabled_plugins or not scrm.Access(access.operator, ws, membership.role).can(
            "analytics:read"
        ):
            continue
        rows.append((ws, (await measures.summary(kernel, ws, "month")).current))
    return Template("analytics/agency.html", context={"rows": rows, "headlines": HEADLINES})


def console_pages() -> scrm.ConsolePages:
    here = Path(__file__).parent
    return scrm.ConsolePages(
        routes=[dashboard, summary_csv, report_page, report_css, report_pdf, retention_csv, agency],
        nav=[scrm.NavLink(N_("Analytics"), "/", "analytics:read")],
        templates=here / "templates",
        translations=here / "translations",
    )
