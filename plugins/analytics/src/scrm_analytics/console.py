"""The analytics console (``/console/w/{workspace}/analytics/…``): the dashboard and the agency table.

The dashboard shows a day, week or month (and the previous one beside it): the headline measures,
the lifecycle funnel (with segments), daily trends, the retention triangle and the weekday × hour
heatmap — all server-rendered SVG, every figure read from the rollups, so a page costs a few small
queries at any size. The agency table puts the headline measures of every workspace the operator
may read (with analytics enabled) side by side."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import scrm
from litestar import Response, get
from litestar.params import QueryParameter
from litestar.response import Template

from scrm_analytics import measures, periods

READ = {"scope": "analytics:read"}
Grain = Annotated[Literal["day", "week", "month"], QueryParameter()]
Anchor = Annotated[date | None, QueryParameter(name="date")]


def N_(message: str) -> str:
    """Marks English text translated where it is shown."""
    return message


WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
PERIODS = {"day": N_("Day"), "week": N_("Week"), "month": N_("Month")}
STAGES = {"new": N_("new"), "active": N_("active"), "silent": N_("silent"), "churned": N_("churned")}
#: the headline rows: (field, label, format)
HEADLINES = (
    ("members", N_("Members"), "int"),
    ("joined", N_("Joined"), "int"),
    ("active", N_("Active members"), "int"),
    ("active_ratio", N_("Active ratio"), "pct"),
    ("orders", N_("Orders"), "int"),
    ("gmv", N_("GMV"), "num"),
    ("average_order_value", N_("Average order value"), "num"),
    ("repurchase_rate", N_("Repurchase rate"), "pct"),
    ("gmv_share", N_("Community GMV share"), "pct"),
    ("cost_per_member", N_("Cost per member"), "num"),
    ("private_domain_value", N_("Private-domain value"), "num"),
    ("k", N_("Viral coefficient K"), "num"),
    ("nps", N_("NPS"), "num"),
    ("index", N_("Composite index"), "num"),
)


def _trend_points(trend: list[Any], field: str, width: int = 600, height: int = 120) -> str:
    values = [getattr(p, field) for p in trend]
    top = max([*values, 1])
    step = width / max(len(values) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - v / top * height:.1f}" for i, v in enumerate(values))


@get("/", opt=READ)
async def dashboard(
    kernel: scrm.KernelDep, access: scrm.AccessDep, period: Grain = "month", anchor: Anchor = None
) -> Template:
    ws = access.workspace
    summary = await measures.summary(kernel, ws, period, anchor)
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
        "stages": STAGES,
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
    kernel: scrm.KernelDep, access: scrm.AccessDep, period: Grain = "month", anchor: Anchor = None
) -> Response[str]:
    found = await measures.summary(kernel, access.workspace, period, anchor)
    return _csv(measures.as_csv([found.current, found.previous]), "summary")


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
        routes=[dashboard, summary_csv, retention_csv, agency],
        nav=[scrm.NavLink(N_("Analytics"), "/", "analytics:read")],
        templates=here / "templates",
        translations=here / "translations",
    )
