"""``/api/v1/analytics``: each measure for brands' BI tools, as JSON or CSV. Scope ``analytics:read``
to read, ``analytics:write`` to enter monthly costs and change the settings."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

import scrm
from litestar import Controller, Request, Response, get, put
from litestar.params import JSONBody, PathParameter, QueryParameter

from scrm_analytics import config, measures, periods, report
from scrm_analytics.config import AnalyticsSettings
from scrm_analytics.schemas import CostIn, CostOut, Heatmap, Retention, Summary, TrendPoint

READ = {"scope": "analytics:read"}
WRITE = {"scope": "analytics:write"}
MAX_DAYS = 400
Grain = Annotated[Literal["day", "week", "month"], QueryParameter(description="The period's length")]
Anchor = Annotated[date | None, QueryParameter(name="date", description="A day in the period (default: today)")]
Compare = Annotated[
    date | None,
    QueryParameter(description="A day in the period to compare with (default: the period just before)"),
]
Start = Annotated[date | None, QueryParameter(description="First local day (default: 29 days before end)")]
End = Annotated[date | None, QueryParameter(description="Last local day (default: today)")]
Month = Annotated[str, PathParameter(max_length=10, description="The month's first day, 2026-11-01")]


def _range(ws: scrm.WorkspaceRef, start: date | None, end: date | None) -> tuple[date, date]:
    last = end or periods.local(periods.now(), ws.time_zone).date()
    first = start or last - timedelta(days=29)
    if first > last:
        raise scrm.ValidationFailed("start: after end", errors=[scrm.field_error("start", "after end", "query")])
    if (last - first).days >= MAX_DAYS:
        raise scrm.ValidationFailed(
            f"start: at most {MAX_DAYS} days", errors=[scrm.field_error("start", f"at most {MAX_DAYS} days", "query")]
        )
    return first, last


def _month(text: str) -> date:
    """A month named by its first day (``2026-11-01``); anything else is a 422 naming ``month``."""
    try:
        first = date.fromisoformat(text)
    except ValueError:
        first = None
    if first is None or first.day != 1:
        raise scrm.ValidationFailed(
            "month: give the month's first day, 2026-11-01",
            errors=[scrm.field_error("month", "the month's first day, 2026-11-01", "path")],
        )
    return first


def _csv(text: str, name: str) -> Response[str]:
    return Response(text, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


class AnalyticsController(Controller):
    path = "/"
    tags = ["analytics"]

    @get("/summary", opt=READ, operation_id="analyticsSummary", summary="The period's measures")
    async def summary(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        period: Grain = "month",
        anchor: Anchor = None,
        compare: Compare = None,
    ) -> Summary:
        """Every measure of PRODUCT §7 for the day, week or month holding `date`, beside the one
        holding `compare` (default: the previous one)."""
        return await measures.summary(kernel, ws, period, anchor, compare)

    @get(
        "/summary/csv",
        opt=READ,
        media_type="text/csv",
        operation_id="analyticsSummaryCsv",
        summary="The period's measures as CSV",
    )
    async def summary_csv(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        period: Grain = "month",
        anchor: Anchor = None,
        compare: Compare = None,
    ) -> Response[str]:
        """The period's figures and those of the period compared with, one row each."""
        found = await measures.summary(kernel, ws, period, anchor, compare)
        return _csv(measures.as_csv([found.current, found.previous]), "summary")

    @get(
        "/report/pdf",
        opt=READ,
        media_type="application/pdf",
        operation_id="analyticsReportPdf",
        summary="The workspace's report as PDF",
    )
    async def report_pdf(
        self,
        request: Request[Any, Any, Any],
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        period: Grain = "month",
        anchor: Anchor = None,
        compare: Compare = None,
    ) -> Response[bytes]:
        """The per-workspace report for a client: the period's headline measures beside the period
        compared with, the lifecycle, the daily trend and retention (503 when the server cannot
        render PDF)."""
        return report.pdf_response(request, await report.context(kernel, ws, period, anchor, compare))

    @get("/trends", opt=READ, operation_id="analyticsTrends", summary="Daily trends")
    async def trends(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, start: Start = None, end: End = None
    ) -> list[TrendPoint]:
        """Members joined, active members, engagement events, orders and GMV per local day."""
        return await measures.trends(kernel, ws, *_range(ws, start, end))

    @get(
        "/trends/csv", opt=READ, media_type="text/csv", operation_id="analyticsTrendsCsv", summary="Daily trends as CSV"
    )
    async def trends_csv(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, start: Start = None, end: End = None
    ) -> Response[str]:
        """The daily trends, one row per day."""
        return _csv(measures.as_csv(await measures.trends(kernel, ws, *_range(ws, start, end))), "trends")

    @get("/heatmap", opt=READ, operation_id="analyticsHeatmap", summary="Engagement by weekday and hour")
    async def heatmap(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, start: Start = None, end: End = None
    ) -> Heatmap:
        """Engagement events by weekday and local hour, and the best send time."""
        return await measures.heatmap(kernel, ws, *_range(ws, start, end))

    @get("/retention", opt=READ, operation_id="analyticsRetention", summary="Retention by join cohort")
    async def retention(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        grain: Annotated[Literal["week", "month"], QueryParameter()] = "month",
        cohorts: Annotated[int, QueryParameter(ge=1, le=26)] = 6,
    ) -> Retention:
        """The retention triangle: each join cohort's share active in each later week or month."""
        return await measures.retention(kernel, ws, grain, cohorts)

    @get(
        "/retention/csv",
        opt=READ,
        media_type="text/csv",
        operation_id="analyticsRetentionCsv",
        summary="Retention as CSV",
    )
    async def retention_csv(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        grain: Annotated[Literal["week", "month"], QueryParameter()] = "month",
        cohorts: Annotated[int, QueryParameter(ge=1, le=26)] = 6,
    ) -> Response[str]:
        """One row per cohort: its size and the shares retained (separated by |)."""
        return _csv(measures.as_csv((await measures.retention(kernel, ws, grain, cohorts)).cohorts), "retention")

    @put("/costs/{month:str}", opt=WRITE, operation_id="analyticsPutCost", summary="Enter a month's cost")
    async def put_cost(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, month: Month, data: JSONBody[CostIn]
    ) -> CostOut:
        """The operating cost of a month, for cost per member (the month's first day, 2026-11-01, names it)."""
        first = _month(month)
        await kernel.sql.fetch(
            "INSERT INTO analytics_cost (workspace, month, amount) VALUES ({}, {}, {}) "
            "ON CONFLICT (workspace, month) DO UPDATE SET amount = excluded.amount",
            ws.id,
            first,
            data.amount,
        )
        return CostOut(month=first, amount=data.amount)

    @get("/settings", opt=READ, operation_id="analyticsGetSettings", summary="Get the analytics settings")
    async def get_settings(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> AnalyticsSettings:
        """The composite index's weights and targets, and the lifetime of private-domain value."""
        return await config.load(kernel, ws.id)

    @put("/settings", opt=WRITE, operation_id="analyticsPutSettings", summary="Change the analytics settings")
    async def put_settings(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[AnalyticsSettings]
    ) -> AnalyticsSettings:
        """Replace the settings (fields left out take their defaults)."""
        return await config.save(kernel, ws.id, data)


ROUTES = [AnalyticsController]
