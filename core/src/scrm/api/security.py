"""Authentication, scopes and workspace resolution for everything under ``/api/v1``.

One guard on the API router authenticates the bearer key, checks the scope the route declares
(``opt={"scope": ...}``) and, on a plugin's route (``opt={PLUGIN_OPT: name}``, set by its router),
that the plugin is enabled in the workspace; the ``ws`` dependency resolves the workspace the call
acts in: the key's own, or — for an operator key — the one named by the ``X-Scrm-Workspace`` header.

One guard rather than one per layer because every guard costs each request a copy of the route
handler (Litestar hands each guard its own), and this is every request's path.
"""

from __future__ import annotations

import time
from typing import Any, cast

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.handlers.http_handlers import HTTPRouteHandler

from scrm.kernel import Kernel
from scrm.problems import MissingScope, NotFound, PluginNotEnabled, Unauthenticated, WorkspaceRequired
from scrm.services.audit import set_actor, set_workspace
from scrm.services.context import WorkspaceRef
from scrm.services.keys import Principal
from scrm.signing import SIGNED_URL_OPT

WORKSPACE_HEADER = "x-scrm-workspace"
SCOPE_OPT = "scope"
#: the ``opt`` key a plugin's router sets on its routes: the plugin that must be enabled
PLUGIN_OPT = "scrm_plugin"


def kernel_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Kernel:
    kernel: Kernel = connection.app.state.kernel
    return kernel


def is_preflight(handler: BaseRouteHandler) -> bool:
    """Whether ``handler`` is the ``OPTIONS`` answer Litestar adds to every path (a CORS preflight
    or a client asking what the path allows): it carries no credentials and reveals no data, so
    no guard applies to it. Every guard of the API starts with this test."""
    return (
        isinstance(handler, HTTPRouteHandler) and handler.http_methods == {"OPTIONS"} and SCOPE_OPT not in handler.opt
    )


async def authorize(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard: a valid key (or app access token) holding the route's scope, and on a plugin's route
    the plugin enabled in the workspace (a ``signed_url`` route verifies a signed token in its
    handler instead, and that the plugin is enabled in the link's workspace: :mod:`scrm.signing`)."""
    if is_preflight(handler) or handler.opt.get(SIGNED_URL_OPT) is True:
        return
    scope = handler.opt.get(SCOPE_OPT)
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send an API key as 'Authorization: Bearer <key>'")
    principal = await kernel_of(connection).principal(token.strip())
    if principal is None or (principal.expires_at is not None and principal.expires_at <= time.time()):
        raise Unauthenticated("The API key or access token is unknown, expired or revoked")
    connection.scope["user"] = principal
    set_actor(principal.actor, principal.workspace_id)
    if scope is None or not principal.allows(scope):
        raise MissingScope(f"This route needs the scope {scope!r}", required_scope=scope)
    plugin = handler.opt.get(PLUGIN_OPT)
    if plugin is not None:
        ws = await resolve_workspace(connection)
        if plugin not in ws.enabled_plugins:
            raise PluginNotEnabled(f"The plugin {plugin!r} is not enabled in workspace {ws.slug!r}")


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal: Principal = connection.scope["user"]
    return principal


async def resolve_workspace(connection: ASGIConnection[Any, Any, Any, Any]) -> WorkspaceRef:
    """The workspace this call acts in (memoised on the connection)."""
    cached = cast("WorkspaceRef | None", connection.scope.get("scrm_workspace"))
    if cached is not None:
        return cached
    principal = principal_of(connection)
    kernel = kernel_of(connection)
    named = connection.headers.get(WORKSPACE_HEADER)
    if principal.workspace_id is not None:
        ws = await kernel.workspace_ref(principal.workspace_id)
        if named and named not in (ws.slug, str(ws.id)):
            raise NotFound(f"No workspace {named!r} for this key")
    elif named:
        ws = await kernel.workspace_ref(named)
    else:
        raise WorkspaceRequired("An operator key must name the workspace in the X-Scrm-Workspace header")
    connection.scope["scrm_workspace"] = ws  # type: ignore[typeddict-unknown-key]
    set_workspace(ws.id)
    return ws


def provide_kernel(request: Request[Any, Any, Any]) -> Kernel:
    return kernel_of(request)


async def provide_ws(request: Request[Any, Any, Any], kernel: NamedDependency[Kernel]) -> WorkspaceRef:
    # Declaring ``kernel`` orders the two dependencies: Litestar resolves dependencies of the same
    # level concurrently in a task group, which costs more than these lookups themselves.
    return await resolve_workspace(request)


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    return principal_of(request)
