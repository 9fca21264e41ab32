"""The console's start page: straight into the operator's (first) workspace, or a page that says
they have none yet. And, for agency admins, every workspace and a form that creates one."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from scrm import Conflict, Kernel, KernelDep, ValidationFailed, WorkspaceCreate

from scrm_web.auth import console_of
from scrm_web.forms import decode, field_errors, values
from scrm_web.respond import form_status

ADMIN = {"scope": "admin"}
#: what the time zone field suggests
TIME_ZONES = sorted(available_timezones())


@get("/")
async def start(request: Request[Any, Any, Any]) -> Template | Redirect:
    console = console_of(request)
    if console.memberships:
        return Redirect(f"/console/w/{console.memberships[0].slug}/", status_code=HTTP_303_SEE_OTHER)
    return Template("console/no_workspace.html", context={})


@get("/workspaces", opt=ADMIN)
async def workspaces_page(kernel: KernelDep, created: FromQuery[str | None] = None) -> Template:
    """``created`` is the slug of the workspace just created, offered to open."""
    return await _workspaces(kernel, created=created)


@post("/workspaces", opt=ADMIN)
async def create_workspace(request: Request[Any, Any, Any], kernel: KernelDep) -> Template | Redirect:
    typed = values(await request.form())
    if not typed.get("slug") and typed.get("name"):
        typed["slug"] = kernel.workspaces.slugify(
            typed["name"]
        )  # shown in the form should the name not make a usable one
    try:
        workspace = await kernel.workspaces.create(decode(typed, WorkspaceCreate))
    except (ValidationFailed, Conflict) as exc:
        return await _workspaces(kernel, values=typed, errors=field_errors(exc), status=form_status(exc))
    return Redirect(f"/console/workspaces?created={workspace.slug}", status_code=HTTP_303_SEE_OTHER)


async def _workspaces(kernel: Kernel, *, status: int = 200, **form: Any) -> Template:
    context = {
        "workspaces": await kernel.workspaces.list(),
        "time_zones": TIME_ZONES,
        "created": None,
        "values": {"time_zone": "UTC"},
        "errors": {},
        **form,
    }
    return Template("console/workspaces.html", context=context, status_code=status)


routes = [start, workspaces_page, create_workspace]
