"""API keys of a workspace: the list, a form that creates one and a button that revokes one.

The core stores only a key's digest, so the new key is in the answer to the form and nowhere else:
the page shows it once, marked ``no-store`` so no cache keeps it either. A key cannot hold more than
the role of the operator who creates it.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import PathParameter
from litestar.response import Template
from litestar.status_codes import HTTP_201_CREATED
from scrm import (
    MAX_ID,
    Access,
    AccessDep,
    Forbidden,
    Kernel,
    KernelDep,
    KeyCreate,
    NavLink,
    ValidationFailed,
    WorkspaceDep,
    WorkspaceRef,
)

from scrm_web import i18n
from scrm_web.errors import is_htmx
from scrm_web.forms import decode, field_errors, values
from scrm_web.i18n import N_
from scrm_web.respond import page, see_other

ALL = "*"


@get("/keys", opt={"scope": "keys:read"})
async def keys_page(request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep) -> Template:
    return await _keys(request, kernel, ws)


@post("/keys", opt={"scope": "keys:write"})
async def create_key(
    request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, access: AccessDep
) -> Template:
    form = await request.form()
    checked: list[str] = form.getall("scopes", [])
    typed = values(form)
    try:
        # checkboxes repeat the field; scopes hold no commas, so the list survives the join
        data = decode({**typed, "scopes": ",".join(checked)}, KeyCreate, lists=("scopes",))
        beyond = beyond_role(access, kernel.keys.workspace_scopes(data.scopes))
        if beyond:
            raise Forbidden(
                i18n.gettext("Your role does not hold %(scopes)s, so no key you create can.")
                % {"scopes": ", ".join(beyond)}
            )
        created = await kernel.keys.create(ws, data.scopes, data.name)
    except ValidationFailed as exc:
        return await _keys(request, kernel, ws, values=typed, checked=checked, errors=field_errors(exc), status=422)
    return await _keys(request, kernel, ws, created=created, status=HTTP_201_CREATED)


@post("/keys/{key_id:int}/revoke", opt={"scope": "keys:write"})
async def revoke_key(
    request: Request[Any, Any, Any],
    kernel: KernelDep,
    ws: WorkspaceDep,
    key_id: Annotated[int, PathParameter(gt=0, le=MAX_ID)],
) -> Template | Response[Any]:
    await kernel.keys.revoke(ws, key_id)
    if is_htmx(request):
        return await _keys(request, kernel, ws)
    return see_other(request, f"/console/w/{ws.slug}/keys")


def beyond_role(access: Access, granted: list[str]) -> list[str]:
    """The scopes ``granted`` to a key (wildcards opened up: ``kernel.keys.workspace_scopes``) that
    the operator's role lacks: an operator cannot hand out more than they may do themselves."""
    return [s for s in granted if not access.can(s)]


async def _keys(
    request: Request[Any, Any, Any], kernel: Kernel, ws: WorkspaceRef, *, status: int = 200, **form: Any
) -> Template:
    """The keys page (or its fragment); ``form`` carries what the create form shows again, or the
    key just created."""
    context = {
        "keys": await kernel.keys.list(ws),
        # a workspace key can never hold an operator scope, so the form does not offer one
        "scopes": [ALL, *kernel.keys.workspace_scopes()],
        "created": None,
        "values": {},
        "checked": [],
        "errors": {},
        **form,
    }
    secret = {"Cache-Control": "no-store"} if context["created"] else None
    return page(request, "keys", context, status, secret)


routes = [keys_page, create_key, revoke_key]
nav = [NavLink(N_("API keys"), "/keys", "keys:read")]
