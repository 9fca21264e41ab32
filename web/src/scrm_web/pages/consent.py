"""Consent purposes: what members of the workspace can consent to, how many active members currently
grant each, adding a purpose, and checking the ledger's hash chain.

Checking the chain reads every record of the workspace, so it runs when asked ("Verify now"), never
on opening the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from scrm import AccessDep, ChainReport, Kernel, KernelDep, NavLink, Problem, PurposeCreate, WorkspaceDep, WorkspaceRef

from scrm_web import i18n
from scrm_web.auth import console_of
from scrm_web.errors import is_htmx
from scrm_web.forms import decode, field_errors, values
from scrm_web.i18n import N_
from scrm_web.respond import form_status, page

READ = {"scope": "consent:read"}
WRITE = {"scope": "consent:write"}


@get("/consent", opt=READ)
async def consent(request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, access: AccessDep) -> Template:
    return await _page(request, kernel, ws, access.can("consent:write"))


@post("/consent/purposes", opt=WRITE)
async def create_purpose(request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep) -> Template | Redirect:
    form = await request.form()
    try:
        data = decode(form, PurposeCreate)
        await kernel.consents.purposes.create(ws, data.name, data.description)
    except Problem as exc:
        return await _page(request, kernel, ws, True, form=(values(form), field_errors(exc)), status=form_status(exc))
    if is_htmx(request):
        message = i18n.gettext("Purpose %(name)s added.") % {"name": data.name}
        return await _page(request, kernel, ws, True, flash=message)
    return Redirect(f"{console_of(request).base}/consent", status_code=HTTP_303_SEE_OTHER)


@get("/consent/verify", opt=READ)
async def verify(request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, access: AccessDep) -> Template:
    """The chain's check: the section alone for htmx ("Verify now"), else the page with it."""
    report = await kernel.consents.verify(ws)
    if is_htmx(request):
        return Template("console/_consent_chain.html", context={"base": console_of(request).base, "report": report})
    return await _page(request, kernel, ws, access.can("consent:write"), report=report)


async def _page(
    request: Request[Any, Any, Any],
    kernel: Kernel,
    ws: WorkspaceRef,
    can_write: bool,
    *,
    form: tuple[Mapping[str, str], Mapping[str, str]] = ({}, {}),
    report: ChainReport | None = None,
    flash: str = "",
    status: int = 200,
) -> Template:
    """The consent page (the purposes section alone for htmx), with the errors and the typed values
    of the form, if it failed."""
    context = {
        "base": console_of(request).base,
        "coverage": await kernel.reports.consent_coverage(ws),
        "can_write": can_write,
        "values": form[0],
        "errors": form[1],
        "report": report,
        "flash": flash,
    }
    return page(request, "consent", context, status)


routes = [consent, create_purpose, verify]
nav = [NavLink(N_("Consent"), "/consent", "consent:read")]
