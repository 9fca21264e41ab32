"""OAuth 2 apps of a workspace (registering, revoking), and the consent screen where an operator
approves the scopes an app asks for (the authorization-code grant with PKCE).

Registering goes through the same service as ``POST /api/v1/apps``; the client secret is on the page
that answers the form and nowhere else (``no-store``). An app never gets more than the role of the
operator who registers it, and a token never more than the role of the operator who approves it.
The consent screen lives outside any workspace's URL (the app's workspace is the one it was registered
in): the operator must hold a role there.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from scrm import (
    AccessDep,
    AppCreate,
    ConsentError,
    Forbidden,
    Kernel,
    KernelDep,
    NavLink,
    PathId,
    ValidationFailed,
    WorkspaceDep,
    WorkspaceRef,
    approve,
    consent_request,
    deny_redirect,
)

from scrm_web import i18n
from scrm_web.auth import console_of
from scrm_web.forms import decode, field_errors, values
from scrm_web.i18n import N_
from scrm_web.pages.keys import ALL, beyond_role
from scrm_web.respond import see_other

#: the query parameters of an authorization request, carried through the consent form
OAUTH_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


@get("/apps", opt={"scope": "keys:read"})
async def apps_page(kernel: KernelDep, ws: WorkspaceDep) -> Template:
    return await _apps(kernel, ws)


@post("/apps", opt={"scope": "keys:write"})
async def create_app(
    request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, access: AccessDep
) -> Template:
    form = await request.form()
    checked: list[str] = form.getall("scopes", [])
    typed = values(form)
    uris = [u.strip() for u in typed.get("redirect_uris", "").splitlines() if u.strip()]
    try:
        data = decode({"name": typed.get("name", ""), "scopes": ",".join(checked)}, AppCreate, lists=("scopes",))
        data = AppCreate(name=data.name, scopes=data.scopes, redirect_uris=uris)
        beyond = beyond_role(access, kernel.keys.workspace_scopes(data.scopes))
        if beyond:
            raise Forbidden(
                i18n.gettext("Your role does not hold %(scopes)s, so no app you register can.")
                % {"scopes": ", ".join(beyond)}
            )
        created = await kernel.apps.create(ws, data)
    except (ValidationFailed, Forbidden) as exc:
        errors = field_errors(exc)
        return await _apps(kernel, ws, status=exc.status, values=typed, checked=checked, errors=errors)
    return await _apps(kernel, ws, status=201, created=created)


@post("/apps/{app_id:int}/revoke", opt={"scope": "keys:write"})
async def revoke_app(
    request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, app_id: PathId
) -> Response[Any]:
    await kernel.apps.revoke(ws, app_id)
    return see_other(request, f"/console/w/{ws.slug}/apps")


async def _apps(kernel: Kernel, ws: WorkspaceRef, *, status: int = 200, **form: Any) -> Template:
    context = {
        "apps": await kernel.apps.list(ws),
        "scopes": [ALL, *kernel.keys.workspace_scopes()],
        "created": None,
        "values": {},
        "checked": [],
        "errors": {},
        **form,
    }
    headers = {"Cache-Control": "no-store"} if context["created"] else None
    return Template("console/apps.html", context=context, status_code=status, headers=headers)


# --- the consent screen --------------------------------------------------------------------------


async def _consent(request: Request[Any, Any, Any], kernel: Kernel, params: dict[str, str]) -> Any:
    """The checked authorization request and the operator's access in the app's workspace."""
    console = console_of(request)
    asked = await consent_request(kernel, str(request.url), params)
    access = await kernel.operators.access(console.operator, str(asked.workspace_id))
    return asked, access


@get("/oauth/authorize")
async def consent_page(request: Request[Any, Any, Any], kernel: KernelDep) -> Template | Redirect:
    params = {k: v for k, v in request.query_params.items() if k in OAUTH_PARAMS}
    try:
        asked, access = await _consent(request, kernel, params)
    except ConsentError as exc:
        if exc.redirect:
            return Redirect(exc.redirect, status_code=303)
        return Template("console/oauth_consent.html", context={"error": str(exc)}, status_code=400)
    context = {
        "error": None,
        "app": asked.app,
        "workspace": access.workspace,
        "scopes": [(s, access.can(s)) for s in asked.scopes],
        "params": params,
    }
    return Template("console/oauth_consent.html", context=context)


@post("/oauth/authorize")
async def consent_decision(request: Request[Any, Any, Any], kernel: KernelDep) -> Redirect | Template:
    """Approve (the scopes still checked that the operator's role holds) or deny; either way back to
    the app, with a code or an ``access_denied`` error."""
    form = await request.form()
    params = {k: str(form.get(k)) for k in OAUTH_PARAMS if form.get(k) is not None}
    try:
        asked, access = await _consent(request, kernel, params)
        if form.get("decision") != "approve":
            return Redirect(deny_redirect(asked, params.get("state")), status_code=303)
        kept = [s for s in form.getall("scopes", []) if s in asked.scopes and access.can(s)]
        if not kept:
            return Redirect(deny_redirect(asked, params.get("state")), status_code=303)
        location = await approve(kernel, str(request.url), params, console_of(request).operator.id, kept)
    except ConsentError as exc:
        if exc.redirect:
            return Redirect(exc.redirect, status_code=303)
        return Template("console/oauth_consent.html", context={"error": str(exc)}, status_code=400)
    return Redirect(location, status_code=303)


routes = [apps_page, create_app, revoke_app]
signed_in_routes = [consent_page, consent_decision]
nav = [NavLink(N_("Apps"), "/apps", "keys:read")]
