"""The dashboard, the page every operator lands on after signing in: the workspace at a glance —
members and their growth, events per day, consent coverage per purpose — over a period of 7, 30 or
90 days. The figures are reports (scope ``reports:read``); a role without it (a viewer) gets a short
welcome with links to what it can read, rather than a 403 on its first page."""

from __future__ import annotations

import logging
from typing import Any, Literal

import msgspec
from litestar import Request, get
from litestar.response import Template
from scrm import AccessDep, Forbidden, Kernel, KernelDep, NavLink, WorkspaceDep, WorkspaceRef

from scrm_web import charts, i18n
from scrm_web.auth import console_of
from scrm_web.errors import is_htmx
from scrm_web.forms import decode
from scrm_web.i18n import N_
from scrm_web.respond import page

PERIODS = (7, 30, 90)
log = logging.getLogger("scrm.web")


class Period(msgspec.Struct):
    """The dashboard's query: how many days its charts cover."""

    days: Literal[7, 30, 90] = 30


# Everyone with a role here reads members, so this is the route's scope; the figures need more.
@get("/", opt={"scope": "members:read"})
async def dashboard(
    request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, access: AccessDep
) -> Template:
    base = console_of(request).base
    alerts = await _alerts(kernel, ws)
    if not access.can("reports:read"):
        if is_htmx(request):  # only the period links ask for the charts alone, and they are not shown
            raise Forbidden(i18n.gettext("Your role here does not allow this."))
        return Template("console/dashboard.html", context={"welcome": True, "base": base, "alerts": alerts})
    days = decode(request.query_params, Period).days
    headline = await kernel.reports.headline(ws)
    growth = await kernel.reports.member_growth(ws, days)
    events = await kernel.reports.events_per_day(ws, days)
    coverage = await kernel.reports.consent_coverage(ws)
    # the cumulative line starts from the members who joined before the period
    joined = [(d.day.isoformat(), d.count + (growth.before if i == 0 else 0)) for i, d in enumerate(growth.days)]
    context = {
        "welcome": False,
        "alerts": alerts,
        "base": base,
        "days": days,
        "periods": PERIODS,
        "time_zone": ws.time_zone,
        "headline": headline,
        "new_members": growth.total - growth.before,
        "events_total": sum(d.count for d in events),
        "growth_chart": charts.line_chart(joined, title=i18n.gettext("Members"), cumulative=True),
        "events_chart": charts.bar_chart(
            [(d.day.isoformat(), d.count) for d in events], title=i18n.gettext("Events per day")
        ),
        "coverage_chart": charts.hbar_chart(
            [(c.purpose, c.share * 100) for c in coverage], title=i18n.gettext("Consent coverage by purpose")
        ),
    }
    return page(request, "dashboard", context)


routes = [dashboard]
nav = [NavLink(N_("Dashboard"), "/", "members:read")]


async def _alerts(kernel: Kernel, ws: WorkspaceRef) -> list[str]:
    """The enabled plugins' alerts (``scrm_dashboard_alerts``), translated; a failing hook costs its
    alerts, not the page."""
    try:
        answers = await kernel.plugins.call("scrm_dashboard_alerts", ws.enabled_plugins, workspace=ws, kernel=kernel)
    except Exception:
        log.exception("a scrm_dashboard_alerts implementation failed")
        return []
    return [i18n.gettext(str(message)) for answer in answers if answer for message in answer]
