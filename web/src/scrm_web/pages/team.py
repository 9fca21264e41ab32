"""The workspace's team: the operators with a role here. Owners add existing operators, create new
accounts, change roles and remove people; the core keeps at least one owner in every workspace.

The page has several forms; a failed one comes back with its errors and typed values (``form``
names which), the others empty.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import PathParameter
from litestar.response import Template
from scrm import (
    MAX_ID,
    ROLES,
    Access,
    AccessDep,
    Conflict,
    Kernel,
    KernelDep,
    NavLink,
    NotFound,
    ValidationFailed,
    WorkspaceDep,
    WorkspaceRef,
)

from scrm_web import i18n
from scrm_web.core_messages import ROLE_DESCRIPTIONS
from scrm_web.errors import is_htmx
from scrm_web.forms import field_errors, invalid, values
from scrm_web.i18n import N_
from scrm_web.respond import form_status, page, see_other

OperatorId = Annotated[int, PathParameter(gt=0, le=MAX_ID)]


@get("/team", opt={"scope": "team:read"})
async def team_page(request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep) -> Template:
    return await _team(request, kernel, ws)


@post("/team/add", opt={"scope": "team:write"})
async def add_operator(
    request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, access: AccessDep
) -> Template | Response[Any]:
    typed = values(await request.form())
    try:
        operator_id = await _operator_named(kernel, typed.get("username", ""))
        if operator_id in {m.operator.id for m in await kernel.operators.team(ws)}:
            raise invalid("username", N_("already in this team: change their role in the list"))
        kernel.operators.check_role(typed.get("role", ""))
        await kernel.operators.grant(operator_id, ws, typed["role"])
    except (ValidationFailed, Conflict) as exc:
        return await _team(
            request, kernel, ws, form="add", values=typed, errors=field_errors(exc), status=form_status(exc)
        )
    return await _done(request, kernel, ws, access, operator_id)


@post("/team/create", opt={"scope": "team:write"})
async def create_operator(
    request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, access: AccessDep
) -> Template | Response[Any]:
    form = await request.form()
    typed = values(form)
    try:
        kernel.operators.check_role(typed.get("role", ""))
        # the password as typed: spaces at its ends are part of it
        password = str(form.get("password", ""))
        operator = await kernel.operators.create(
            typed.get("username", ""), password, display_name=typed.get("display_name", "")
        )
        await kernel.operators.grant(operator.id, ws, typed["role"])
    except (ValidationFailed, Conflict) as exc:
        typed.pop("password", None)  # never sent back in the page
        return await _team(
            request, kernel, ws, form="create", values=typed, errors=field_errors(exc), status=form_status(exc)
        )
    return await _done(request, kernel, ws, access, operator.id)


@post("/team/{operator_id:int}/role", opt={"scope": "team:write"})
async def change_role(
    request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, access: AccessDep, operator_id: OperatorId
) -> Template | Response[Any]:
    role = values(await request.form()).get("role", "")
    if operator_id not in {m.operator.id for m in await kernel.operators.team(ws)}:
        # granting would add them: only people already in this team have a role to change
        raise NotFound(i18n.gettext("Operator %(id)s has no role in this workspace") % {"id": operator_id})
    try:
        await kernel.operators.grant(operator_id, ws, role)
    except (ValidationFailed, Conflict) as exc:
        return await _team(request, kernel, ws, form="row", errors=field_errors(exc), status=form_status(exc))
    return await _done(request, kernel, ws, access, operator_id)


@post("/team/{operator_id:int}/remove", opt={"scope": "team:write"})
async def remove_operator(
    request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, access: AccessDep, operator_id: OperatorId
) -> Template | Response[Any]:
    try:
        await kernel.operators.revoke(operator_id, ws)
    except Conflict as exc:
        return await _team(request, kernel, ws, form="row", errors=field_errors(exc), status=exc.status)
    return await _done(request, kernel, ws, access, operator_id)


async def _operator_named(kernel: Kernel, username: str) -> int:
    try:
        return (await kernel.operators.by_username(username)).id
    except NotFound:
        raise invalid("username", N_("no operator has this username")) from None


async def _done(
    request: Request[Any, Any, Any], kernel: Kernel, ws: WorkspaceRef, access: Access, changed: int
) -> Template | Response[Any]:
    """After a change: the team again (the fragment for htmx). An owner who changed their own role
    may no longer see this page, so they start over from the workspace's first page."""
    if changed == access.operator.id:
        return see_other(request, f"/console/w/{ws.slug}/")
    if is_htmx(request):
        return await _team(request, kernel, ws)
    return see_other(request, f"/console/w/{ws.slug}/team")


async def _team(
    request: Request[Any, Any, Any], kernel: Kernel, ws: WorkspaceRef, *, status: int = 200, **form: Any
) -> Template:
    context = {
        "team": await kernel.operators.team(ws),
        "roles": [(role, i18n.gettext(role)) for role in ROLES],
        "descriptions": ROLE_DESCRIPTIONS,
        "form": "",
        "values": {},
        "errors": {},
        **form,
    }
    return page(request, "team", context, status)


routes = [team_page, add_operator, create_operator, change_role, remove_operator]
nav = [NavLink(N_("Team"), "/team", "team:read")]
