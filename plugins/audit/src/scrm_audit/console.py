"""The audit plugin's console pages (``/console/w/{workspace}/audit/…``): integrity (the latest chain
verifications, verify now), the trail's search, the data-subject request queue with due dates,
retention settings with a dry run, the marketing copy check with the starter word lists, and the
reports page with its charts and the HTML report to download. Every change goes through the same
functions as the API, so the console refuses what the API refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import scrm
from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from scrm_audit import checks, copy, policy, reports, requests
from scrm_audit.schemas import CopyIn, PolicyIn, Report, RequestClose, RequestIn, StarterIn

READ = {"scope": "audit:read"}
WRITE = {"scope": "audit:write"}
CHECK = {"scope": "audit:read", scrm.AUDIT_OPT: False}
KINDS = ("access", "rectification", "erasure", "withdrawal")


def N_(message: str) -> str:
    """Marks English text translated where it is shown."""
    return message


KIND_TITLES = {
    "access": N_("access"),
    "rectification": N_("rectification"),
    "erasure": N_("erasure"),
    "withdrawal": N_("withdrawal"),
}
STATUS_TITLES = {"open": N_("open"), "done": N_("done"), "rejected": N_("rejected")}


def _base(request: Request[Any, Any, Any]) -> str:
    return f"{request.state.console.base}/audit"


def _go(request: Request[Any, Any, Any], path: str) -> Redirect:
    return Redirect(f"{_base(request)}{path}", status_code=303)


def _handler(access: scrm.Access) -> str:
    return f"operator:{access.operator.username}"


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {k: v.replace("\r\n", "\n") for k, v in scrm.form_values(await request.form()).items()}


@get("/", opt=READ)
async def integrity(kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, access: scrm.AccessDep) -> Template:
    return Template(
        "audit/integrity.html",
        context={"checks": await checks.latest(kernel, ws, 20), "can_write": access.can("audit:write")},
    )


@post("/checks", opt=WRITE)
async def verify_now(request: Request[Any, Any, Any], kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> Redirect:
    await checks.verify(kernel, ws)
    return _go(request, "/")


@get("/trail", opt=READ)
async def trail(request: Request[Any, Any, Any], kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> Template:
    query = {k: v for k, v in request.query_params.items() if v}
    filters = scrm.AuditFilter.parse(query.get("actor"), query.get("action"), query.get("target"))
    page = await kernel.audit.list(ws.id, filters, query.get("cursor"), 50)
    return Template(
        "audit/trail.html", context={"records": page.items, "next_cursor": page.next_cursor, "query": query}
    )


@get("/requests", opt=READ)
async def request_queue(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, access: scrm.AccessDep
) -> Template:
    page = await requests.listing(
        kernel, ws, request.query_params.get("status") or None, request.query_params.get("cursor"), 100
    )
    return Template(
        "audit/requests.html",
        context={
            "requests": page.items,
            "next_cursor": page.next_cursor,
            "kinds": KINDS,
            "kind_titles": KIND_TITLES,
            "status_titles": STATUS_TITLES,
            "can_write": access.can("audit:write"),
            "policy": await policy.load(kernel, ws),
        },
    )


@post("/requests", opt=WRITE)
async def add_request(request: Request[Any, Any, Any], kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> Redirect:
    typed = await _form(request)
    ident = typed.get("member", "").strip()
    data: dict[str, Any] = {"kind": typed.get("kind", ""), "note": typed.get("note", "")}
    data["member_id" if ident.isdecimal() else "external_id"] = int(ident) if ident.isdecimal() else ident
    await requests.create(kernel, ws, scrm.convert_form(data, RequestIn))
    return _go(request, "/requests")


@post("/requests/{request_id:int}/execute", opt=WRITE)
async def execute_request(
    request: Request[Any, Any, Any],
    kernel: scrm.KernelDep,
    ws: scrm.WorkspaceDep,
    access: scrm.AccessDep,
    request_id: scrm.PathId,
) -> Response[bytes] | Redirect:
    done = await requests.execute(kernel, ws, request_id, _handler(access))
    if done.archive is not None:  # the access request's archive, downloaded
        return Response(
            msgspec.json.encode(done.archive),
            media_type="application/json",
            headers={"content-disposition": f'attachment; filename="request-{request_id}.json"'},
        )
    return _go(request, "/requests")


@post("/requests/{request_id:int}/close", opt=WRITE)
async def close_request(
    request: Request[Any, Any, Any],
    kernel: scrm.KernelDep,
    ws: scrm.WorkspaceDep,
    access: scrm.AccessDep,
    request_id: scrm.PathId,
) -> Redirect:
    typed = await _form(request)
    data = scrm.convert_form({"status": typed.get("status", ""), "result": typed.get("result", "")}, RequestClose)
    await requests.close(kernel, ws, request_id, data, _handler(access))
    return _go(request, "/requests")


@get("/retention", opt=READ)
async def retention_page(kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, access: scrm.AccessDep) -> Template:
    return Template(
        "audit/retention.html",
        context={"policy": await policy.load(kernel, ws), "can_write": access.can("audit:write"), "report": None},
    )


@post("/retention", opt=WRITE)
async def save_retention(request: Request[Any, Any, Any], kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> Redirect:
    typed = await _form(request)
    fields = ("events_days", "erased_events_days", "trail_years", "dsr_due_days", "dsr_due_months")
    await policy.save(kernel, ws, scrm.convert_form({f: typed.get(f, "") for f in fields if typed.get(f)}, PolicyIn))
    return _go(request, "/retention")


@post("/retention/dry-run", opt=CHECK)
async def dry_run(kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, access: scrm.AccessDep) -> Template:
    return Template(
        "audit/retention.html",
        context={
            "policy": await policy.load(kernel, ws),
            "can_write": access.can("audit:write"),
            "report": await policy.retention(kernel, ws, dry_run=True),
        },
    )


@post("/retention/apply", opt=WRITE)
async def apply_retention(request: Request[Any, Any, Any], kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> Redirect:
    await policy.retention(kernel, ws, dry_run=False)
    return _go(request, "/retention")


@get("/copy", opt=READ)
async def copy_page(access: scrm.AccessDep) -> Template:
    return Template("audit/copy.html", context={"text": "", "report": None, "can_write": access.can("audit:write")})


@post("/copy", opt=CHECK)
async def copy_check(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, access: scrm.AccessDep
) -> Template:
    text = (await _form(request)).get("text", "")
    report = await copy.check(kernel, ws, scrm.convert_form({"text": text}, CopyIn).text)
    return Template(
        "audit/copy.html",
        context={
            "text": text,
            "report": report,
            "parts": highlight(text, report),
            "can_write": access.can("audit:write"),
        },
    )


@post("/copy/starter", opt=WRITE)
async def load_starter(request: Request[Any, Any, Any], kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> Redirect:
    language = (await _form(request)).get("language", "")
    await copy.load_starter(kernel, ws, scrm.convert_form({"language": language}, StarterIn).language)
    return _go(request, "/copy")


def highlight(text: str, report: Any) -> list[tuple[str, str | None]]:
    """The draft cut into (text, category of a finding or None), for marking the findings."""
    parts: list[tuple[str, str | None]] = []
    at = 0
    for f in report.findings:
        if f.start < at:
            continue  # overlapping: the first one is marked
        parts += [(text[at : f.start], None), (text[f.start : f.end], f.category)]
        at = f.end
    return [*parts, (text[at:], None)]


def _period(request: Request[Any, Any, Any]) -> tuple[datetime, datetime, int]:
    days = request.query_params.get("days", "30")
    n = int(days) if days in ("7", "30", "90", "365") else 30
    until = datetime.now(UTC)
    return until - timedelta(days=n), until, n


@get("/reports", opt=READ)
async def report_page(request: Request[Any, Any, Any], kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> Template:
    since, until, days = _period(request)
    report = await reports.build(kernel, ws, since, until)
    return Template("audit/reports.html", context={"report": report, "days": days, **figures(report)})


@get("/reports/html", opt=READ)
async def report_html(request: Request[Any, Any, Any], kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> Template:
    since, until, days = _period(request)
    report = await reports.build(kernel, ws, since, until)
    return Template(
        "audit/report.html",
        context={"report": report, "days": days, "workspace": ws, "generated_at": datetime.now(UTC), **figures(report)},
        headers={"content-disposition": f'attachment; filename="compliance-{ws.slug}-{days}d.html"'},
    )


def figures(report: Report) -> dict[str, list[tuple[str, float]]]:
    """The report's charts' points (the console's SVG charts take them as they are)."""
    refused: dict[str, int] = {}
    for r in report.refusals:
        refused[r.purpose] = refused.get(r.purpose, 0) + r.count
    return {
        "coverage": [(purpose, round(share * 100, 1)) for purpose, share in report.consent_coverage.items()],
        "requests_chart": [(kind, float(n)) for kind, n in report.requests.items()],
        "channels_chart": [(channel, float(n)) for channel, n in sorted(report.writes_by_channel.items())]
        or [("api", 0.0)],
        "refusals_chart": [(purpose, float(n)) for purpose, n in sorted(refused.items())] or [("-", 0.0)],
    }


def console_pages() -> scrm.ConsolePages:
    here = Path(__file__).parent
    return scrm.ConsolePages(
        routes=[
            integrity,
            verify_now,
            trail,
            request_queue,
            add_request,
            execute_request,
            close_request,
            retention_page,
            save_retention,
            dry_run,
            apply_retention,
            copy_page,
            copy_check,
            load_starter,
            report_page,
            report_html,
        ],
        nav=[scrm.NavLink(N_("Compliance"), "/", "audit:read")],
        templates=here / "templates",
        translations=here / "translations",
    )
