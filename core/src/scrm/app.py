"""The app factory: a Litestar app for a kernel — core routes, plugin routes, OpenAPI, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from litestar import Controller, Litestar, Request, Router, get
from litestar.di import Provide
from litestar.handlers import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins import PluginProtocol
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from scrm.api.apps import AppController
from scrm.api.audit import AuditController
from scrm.api.consents import ConsentController
from scrm.api.events import EventController
from scrm.api.keys import KeyController
from scrm.api.members import MemberController
from scrm.api.moderation import ModerationController
from scrm.api.plugins import PluginController
from scrm.api.security import (
    PLUGIN_OPT,
    SCOPE_OPT,
    authorize,
    is_preflight,
    provide_kernel,
    provide_principal,
    provide_ws,
)
from scrm.api.tags import TagController
from scrm.api.workspaces import WorkspaceController
from scrm.auditing import RecordWrites
from scrm.deps import KernelDep
from scrm.gcfreeze import freeze_startup_objects
from scrm.kernel import Kernel
from scrm.logs import configure_logging
from scrm.nul import RefuseNul
from scrm.oauth import ROUTES as OAUTH_ROUTES
from scrm.plugins import PluginError
from scrm.problems import EXCEPTION_HANDLERS, ServiceUnavailable, problem_responses
from scrm.scopes import CORE_SCOPES
from scrm.settings import Settings
from scrm.startup import Startup, start_when_reachable
from scrm.version import __version__

API_PREFIX = "/api/v1"
#: distributions that serve a user interface (the console, ``scrm-web``) register a callable here
#: that takes the kernel and returns a Litestar plugin; the app mounts every one installed
FRONTENDS_GROUP = "scrm.frontends"
STATIC = Path(__file__).parent / "static"
CORE_CONTROLLERS: list[ControllerRouterHandler] = [
    WorkspaceController,
    MemberController,
    TagController,
    EventController,
    ConsentController,
    KeyController,
    PluginController,
    ModerationController,
    AuditController,
    AppController,
]


@get("/healthz", include_in_schema=False, sync_to_thread=False)
def healthz() -> dict[str, str]:
    """Alive: the process answers."""
    return {"status": "ok"}


@get("/readyz", include_in_schema=False)
async def readyz(request: Request[Any, Any, Any], kernel: KernelDep) -> dict[str, str]:
    """Ready: the process has started (see :mod:`scrm.startup`) and the database answers."""
    startup: Startup | None = request.app.state.get("startup")
    if startup is not None and not startup.ready:
        raise ServiceUnavailable("Starting: the database cannot be reached yet")
    if not await kernel.db.ping():
        raise ServiceUnavailable("The database is not reachable")
    return {"status": "ok", "database": kernel.db.dialect.name}


def create_app(
    settings: Settings | None = None,
    kernel: Kernel | None = None,
    *,
    configure_logs: bool = True,
    run_crons: bool = True,
) -> Litestar:
    """Build the app for ``settings`` (from the environment when omitted) or for a ready kernel.

    Without Redis the app runs the cron jobs (the outbox sweeper among them) in its own process;
    ``run_crons=False`` leaves them to another process on the same database, so that a second app
    there (the SDK tests' server) does not deliver the first one's events behind its back."""
    if kernel is None:
        kernel = Kernel(settings or Settings.from_env())
    if configure_logs:
        configure_logging(kernel.settings)

    async def start() -> None:
        await kernel.start()
        await kernel.plugins.call("scrm_startup", kernel=kernel)
        if run_crons and not kernel.jobs.uses_redis:
            kernel.jobs.run_crons_locally()  # the embedded default: no worker, jobs run here

    async def stop() -> None:
        try:
            await kernel.plugins.notify("scrm_shutdown", kernel=kernel)
        finally:
            await kernel.stop()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with start_when_reachable(str(kernel.settings.database), start, stop) as startup:
            app.state.startup = startup
            yield

    api = Router(
        API_PREFIX,
        route_handlers=[*CORE_CONTROLLERS, *_plugin_routers(kernel)],
        guards=[authorize],
        dependencies={
            "ws": Provide(provide_ws),
            "principal": Provide(provide_principal, sync_to_thread=False),
        },
        security=[{"apiKey": []}],
    )
    app = Litestar(
        route_handlers=[
            api,
            *OAUTH_ROUTES,
            healthz,
            readyz,
            create_static_files_router("/schema/assets", directories=[STATIC / "swagger-ui"], include_in_schema=False),
        ],
        dependencies={"kernel": Provide(provide_kernel, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[RefuseNul(), RecordWrites()],
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="scrm",
            version=__version__,
            description="The scrm REST API. Authenticate with 'Authorization: Bearer <API key>'.",
            path="/schema",
            use_handler_docstrings=True,  # a handler's docstring is its operation's description
            render_plugins=[
                SwaggerRenderPlugin(
                    path="/swagger",
                    js_url="/schema/assets/swagger-ui-bundle.js",
                    css_url="/schema/assets/swagger-ui.css",
                    standalone_preset_js_url="/schema/assets/swagger-ui-standalone-preset.js",
                    favicon="",
                )
            ],
            components=Components(
                security_schemes={"apiKey": SecurityScheme(type="http", scheme="bearer", description="An scrm API key")}
            ),
        ),
        plugins=_frontends(kernel),
        signature_types=[Kernel],
        debug=False,
        logging_config=None,
    )
    app.state.kernel = kernel
    _check_scopes(app, kernel)
    _declare_problems(app)
    return app


def _frontends(kernel: Kernel) -> list[PluginProtocol]:
    """The installed frontends (such as the console), each built for ``kernel``."""
    frontends = []
    for ep in sorted(entry_points(group=FRONTENDS_GROUP), key=lambda e: e.name):
        try:
            frontends.append(ep.load()(kernel))
        except Exception as exc:
            raise PluginError(f"frontend {ep.name!r} ({ep.value}) cannot start: {exc}") from exc
    return frontends


def _plugin_routers(kernel: Kernel) -> list[Router]:
    """Each plugin's routes (``scrm_routes``) under ``/api/v1/<name>``, answering only where it is
    enabled (the API's guard checks it: :data:`~scrm.api.security.PLUGIN_OPT`)."""
    declared = kernel.plugins.answers("scrm_routes", "a list of route handlers, controllers or routers", _are_routes)
    return [
        Router(f"/{name}", route_handlers=handlers, opt={PLUGIN_OPT: name}, tags=[name])
        for name, handlers in declared.items()
        if handlers
    ]


def _are_routes(routes: Any) -> bool:
    return isinstance(routes, list) and all(
        isinstance(route, (BaseRouteHandler, Router)) or (isinstance(route, type) and issubclass(route, Controller))
        for route in routes
    )


def _check_scopes(app: Litestar, kernel: Kernel) -> None:
    """Every API route must declare a scope: a core route a core scope, a plugin's route a core
    scope or one of its own manifest's."""
    for route in app.routes:
        if not route.path.startswith(API_PREFIX):
            continue
        segment = route.path.removeprefix(API_PREFIX + "/").split("/", 1)[0]
        plugin = kernel.plugins.plugins.get(segment)
        known = set(CORE_SCOPES) | set(plugin.manifest.scopes if plugin else ())
        for handler in route.route_handlers:  # type: ignore[union-attr]
            if is_preflight(handler):
                continue
            scope = handler.opt.get(SCOPE_OPT)
            where = f"{'/'.join(sorted(handler.http_methods))} {route.path}"
            if not scope:
                raise PluginError(f"route {where} declares no scope (opt={{'scope': ...}})")
            if scope not in known:
                owner = f"plugin {plugin.name!r}'s manifest" if plugin else "the core"
                raise PluginError(f"route {where} uses scope {scope!r}, which {owner} does not declare")


def _declare_problems(app: Litestar) -> None:
    """Every API operation, the core's and every plugin's, declares the problem documents it can
    answer (a handler's own ``responses`` win), so the OpenAPI document says what the server sends."""
    for route in app.routes:
        if not route.path.startswith(API_PREFIX):
            continue
        for handler in route.route_handlers:  # type: ignore[union-attr]
            if not is_preflight(handler):
                handler.responses = {
                    **problem_responses(set(map(str, handler.http_methods))),
                    **(handler.responses or {}),
                }


def app_from_env() -> Litestar:
    """Factory for ``uvicorn --factory scrm.app:app_from_env`` (what ``scrm serve`` runs): the app,
    whose startup objects are frozen out of the garbage collector's sight once it has started."""
    app = create_app()
    app.on_startup.append(freeze_startup_objects)
    return app


__all__ = ["create_app"]
