"""The console as a Litestar plugin: the core's app factory finds it through the ``scrm.frontends``
entry point and lets it add its routes, templates, CSRF protection and error pages."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    StrictUndefined,
    pass_context,
)
from litestar import Request, Response, Router
from litestar.config.app import AppConfig
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotFoundException
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.plugins import InitPluginProtocol
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from scrm import Access, ConsolePages, Kernel, NavLink, PluginError, WorkspaceRef

from scrm_web import charts, i18n
from scrm_web.auth import COOKIE_PATH, SCOPE_OPT, console_guard, console_of, plugin_guard
from scrm_web.errors import EXCEPTION_HANDLERS, error_page
from scrm_web.headers import add_console_headers
from scrm_web.pages import NAV, PUBLIC_ROUTES, SIGNED_IN_ROUTES, WORKSPACE_ROUTES
from scrm_web.uploads import close_uploads

STATIC = Path(__file__).parent / "static"


class ConsolePlugin(InitPluginProtocol):
    """Mounts the console at ``/console`` for ``kernel``, with every installed plugin's pages."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        pages = plugin_pages(self.kernel)
        i18n.load({name: p.translations for name, p in pages.items() if p.translations})
        app_config.template_config = TemplateConfig(engine=JinjaTemplateEngine.from_environment(environment(pages)))
        csrf = CSRFConfig(
            secret=self.kernel.settings.secret_key,
            cookie_path=COOKIE_PATH,
            cookie_secure=self.kernel.settings.secure_cookies,
        )
        common: dict[str, Any] = {
            "exception_handlers": EXCEPTION_HANDLERS,
            "include_in_schema": False,
            # on the console's routers only: the API authenticates with bearer keys, not cookies
            "middleware": [DefineMiddleware(CSRFMiddleware, config=csrf)],
        }
        plugin_routers = [
            Router(f"/{name}", route_handlers=list(p.routes), guards=[plugin_guard(name)], include_in_schema=False)
            for name, p in pages.items()
            if p.routes
        ]
        app_config.route_handlers.extend(
            [
                Router("/console", route_handlers=PUBLIC_ROUTES, **common),
                Router("/console", route_handlers=SIGNED_IN_ROUTES, guards=[console_guard], **common),
                Router(
                    "/console/w/{workspace:str}",
                    route_handlers=[*WORKSPACE_ROUTES, *plugin_routers],
                    guards=[console_guard],
                    dependencies={
                        "access": Provide(provide_access, sync_to_thread=False),
                        "ws": Provide(provide_ws, sync_to_thread=False),
                    },
                    **common,
                ),
                create_static_files_router("/console/static", directories=[STATIC], include_in_schema=False),
            ]
        )
        app_config.exception_handlers[NotFoundException] = console_not_found(
            app_config.exception_handlers.get(HTTPException)
        )
        app_config.before_send.append(add_console_headers)
        app_config.before_send.append(close_uploads)
        app_config.state["console_nav"] = [("", link) for link in NAV] + [
            (name, link) for name, p in pages.items() for link in p.nav
        ]
        return app_config


def console_not_found(fallback: Any) -> Any:
    """A 404 for a path no route matches: an HTML page under ``/console``, the app's answer (a problem
    document) elsewhere. Unmatched paths never reach a router, so the routers' handlers cannot answer."""

    def handle(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any]:
        if request.url.path.startswith(COOKIE_PATH + "/") or fallback is None:
            return error_page(request, 404, i18n.gettext("Not found"), i18n.gettext("There is no such page."))
        response: Response[Any] = fallback(request, exc)
        return response

    return handle


def plugin_pages(kernel: Kernel) -> dict[str, ConsolePages]:
    """Each installed plugin's console pages (``scrm_console_pages``); a page that declares no scope
    stops startup."""
    found: dict[str, ConsolePages] = kernel.plugins.answers(
        "scrm_console_pages", "scrm.ConsolePages", lambda pages: isinstance(pages, ConsolePages)
    )
    for name, pages in found.items():
        for handler in _handlers(pages.routes):
            if not handler.opt.get(SCOPE_OPT):
                raise PluginError(f"plugin {name!r}: console page {handler.handler_name!r} declares no scope")
        for link in pages.nav:
            if not isinstance(link, NavLink):
                raise PluginError(f"plugin {name!r}: console navigation entries must be scrm.NavLink")
    return found


def _handlers(routes: Any) -> list[Any]:
    """The route handlers among ``routes`` (controllers and routers are opened up)."""
    handlers = []
    for route in routes:
        nested = getattr(route, "route_handlers", None)
        if nested is not None and not callable(getattr(route, "fn", None)):
            handlers += _handlers(nested)
        elif isinstance(route, type):  # a Controller class
            handlers += [v for v in vars(route).values() if hasattr(v, "opt") and hasattr(v, "fn")]
        else:
            handlers.append(route)
    return handlers


def environment(pages: dict[str, ConsolePages]) -> Environment:
    """The console's jinja2 environment: its templates, each plugin's under ``<plugin>/``, the i18n
    extension bound to the request's language, and the formatting filters."""
    plugin_loaders = {name: FileSystemLoader(p.templates) for name, p in pages.items() if p.templates}
    env = Environment(
        loader=ChoiceLoader([PackageLoader("scrm_web", "templates"), PrefixLoader(plugin_loaders)]),
        extensions=["jinja2.ext.i18n", i18n.PluginCatalogs],
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.html_gettext, i18n.html_ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["when"] = when
    env.filters["number"] = number
    env.globals["locales"] = i18n.LOCALES
    env.globals["html_lang"] = i18n.html_lang
    env.globals["plugin_gettext"] = i18n.plugin_gettext
    env.plugin_templates = {p.templates.resolve(): name for name, p in pages.items() if p.templates}  # type: ignore[attr-defined]
    # server-side SVG charts, for the console's pages and plugins' alike (plugins import only scrm)
    env.globals.update(
        bar_chart=charts.bar_chart,
        line_chart=charts.line_chart,
        hbar_chart=charts.hbar_chart,
        pair_chart=charts.pair_chart,
    )
    return env


@pass_context
def when(context: Any, value: datetime | None, with_time: bool = True) -> str:
    """A time in the current workspace's time zone (UTC outside a workspace)."""
    if value is None:
        return "—"
    console = getattr(context["request"].state, "console", None)
    access = console.access if console else None
    zone = ZoneInfo(access.workspace.time_zone) if access else ZoneInfo("UTC")
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def number(value: float) -> str:
    """A number grouped the way the request's language writes numbers."""
    return format_decimal(value, locale=i18n.current())


def provide_access(request: Request[Any, Any, Any]) -> Access:
    access = console_of(request).access
    assert access is not None  # the workspace router's guard sets it
    return access


def provide_ws(request: Request[Any, Any, Any]) -> WorkspaceRef:
    return provide_access(request).workspace
