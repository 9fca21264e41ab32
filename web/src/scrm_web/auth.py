"""Who is signed in, where, and whether they may: the console's guards and session cookie.

Every console route except the sign-in page sits behind :func:`console_guard`. It resolves the
session cookie to an operator (sessions are rows of the core's ``scrm_operator_session``), picks the
request's language, and — for routes under ``/console/w/{workspace}`` — the operator's role there,
then checks the scope the route declares (``opt={"scope": ...}``) against that role. An operator
with no role in a workspace gets the same 404 as for a workspace that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers.base import BaseRouteHandler
from scrm import Access, Actor, Forbidden, Kernel, Membership, NavLink, NotFound, OperatorOut, set_actor

from scrm_web import i18n

SESSION_COOKIE = "scrm_session"
COOKIE_PATH = "/console"
SCOPE_OPT = "scope"
#: the workspace router's path parameter
WORKSPACE_PARAM = "workspace"


class SignInRequired(Exception):
    """No valid session: the console answers with the sign-in page."""


@dataclass(frozen=True)
class NavItem:
    title: str
    href: str
    active: bool


@dataclass
class Console:
    """What every console page needs: who is signed in, in which workspace with which role, the
    workspaces they can switch to, the navigation they may see, and the language."""

    operator: OperatorOut
    memberships: list[Membership]
    locale: str
    access: Access | None = None
    nav: list[NavItem] = field(default_factory=list)

    def can(self, scope: str) -> bool:
        return self.access is not None and self.access.can(scope)

    @property
    def base(self) -> str:
        """The URL prefix of the current workspace's pages."""
        return f"/console/w/{self.access.workspace.slug}" if self.access else "/console"


def kernel_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Kernel:
    kernel: Kernel = connection.app.state.kernel
    return kernel


def console_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Console:
    console: Console = connection.state.console
    return console


async def console_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard: a signed-in operator with the route's scope in the workspace of the URL."""
    kernel = kernel_of(connection)
    token = connection.cookies.get(SESSION_COOKIE)
    operator = await kernel.operators.session(token) if token else None
    if operator is None:
        i18n.use(i18n.best_match(connection.headers.get("accept-language", "")))
        raise SignInRequired
    i18n.use(operator.locale)
    console = Console(
        operator=operator, memberships=await kernel.operators.memberships(operator), locale=i18n.current()
    )
    connection.state.console = console
    actor = Actor("operator", str(operator.id), operator.username)
    set_actor(actor)  # the audit trail's "who" for what this request writes
    slug = connection.path_params.get(WORKSPACE_PARAM)
    scope = handler.opt.get(SCOPE_OPT)
    if slug is not None:
        console.access = await kernel.operators.access(operator, slug)
        set_actor(actor, console.access.workspace.id)
        console.nav = _navigation(connection, console)
        if scope is not None and not console.access.can(scope):
            raise Forbidden(i18n.gettext("Your role here does not allow this."))
    elif scope == "admin" and not operator.admin:
        raise Forbidden(i18n.gettext("Only agency admins may do this."))


def plugin_guard(name: str) -> Any:
    """Guard of a plugin's console pages: the plugin must be enabled in the workspace."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        access = console_of(connection).access
        if access is None or name not in access.workspace.enabled_plugins:
            raise NotFound(i18n.gettext("This plugin is not enabled in this workspace."))

    return guard


def _navigation(connection: ASGIConnection[Any, Any, Any, Any], console: Console) -> list[NavItem]:
    """The entries this operator may see: the core's pages, then enabled plugins' pages."""
    assert console.access is not None
    links: list[tuple[str, NavLink]] = list(connection.app.state.console_nav)
    here = connection.url.path
    items = []
    for plugin, link in links:
        if plugin and plugin not in console.access.workspace.enabled_plugins:
            continue
        if not console.access.can(link.scope):
            continue
        href = console.base + (f"/{plugin}" if plugin else "") + link.path
        home = href.rstrip("/") == console.base
        active = here.rstrip("/") == href.rstrip("/") if home else here.startswith(href.rstrip("/"))
        items.append(NavItem(title=i18n.gettext(link.title), href=href, active=active))
    return items


def is_https(request: Request[Any, Any, Any]) -> bool:
    """Whether browsers reach the console over https: the request's scheme says so, or the setting
    does (behind a proxy that terminates TLS)."""
    return kernel_of(request).settings.secure_cookies or request.url.scheme == "https"


def session_cookie(request: Request[Any, Any, Any], token: str | None) -> Cookie:
    """The session cookie carrying ``token`` (or clearing it when None): HTTP-only, same-site lax,
    limited to the console's paths, secure when the console is reached over https."""
    return Cookie(
        key=SESSION_COOKIE,
        value=token or "",
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        max_age=int(kernel_of(request).operators.session_max.total_seconds()) if token else 0,
    )
