"""Plugins: discovery by entry point, switching on and off per workspace, settings, domain hooks,
and the loader's validation of what a plugin declares (manifest, name, scopes, core version,
tables, hooks, routes)."""

from __future__ import annotations

import itertools
import types
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
import scrm
from click.testing import CliRunner
from conftest import Tenant, problem
from litestar import Litestar, get
from piccolo.columns import Varchar
from piccolo.conf.apps import AppConfig
from piccolo.table import Table
from scrm.cli import main
from scrm.kernel import Kernel
from scrm.piccolo_app import APP_CONFIG
from scrm.plugins import PluginError, PluginManager
from scrm.settings import Settings
from scrm_testplugin.tables import Welcome

API = "/api/v1"
_modules = itertools.count(1)


# --- the installed test plugin ----------------------------------------------------------------


async def test_testplugin_is_discovered_by_entry_point(tenant: Tenant, kernel: Kernel) -> None:
    listed = await tenant.get(f"{API}/plugins")
    assert listed.status_code == 200, listed.text
    plugins = {p["name"]: p for p in listed.json()}
    assert "testplugin" in plugins
    plugin = plugins["testplugin"]
    assert plugin == {
        "name": "testplugin",
        "version": "0.1.0",
        "description": "Welcomes new members (used by scrm's own tests)",
        "distribution": "scrm-testplugin",
        "core": ">=0.1,<1",
        "scopes": ["testplugin:read"],
        "hooks": [
            "scrm_cli",
            "scrm_console_pages",
            "scrm_event_batch_recorded",
            "scrm_jobs",
            "scrm_manifest",
            "scrm_member_created",
            "scrm_member_panels",
            "scrm_routes",
            "scrm_tables",
            "scrm_workspace_deleted",
        ],
        "enabled": False,
        "settings": {},
        "settings_schema": None,
    }
    one = await tenant.get(f"{API}/plugins/testplugin")
    assert one.json() == plugin
    problem(await tenant.get(f"{API}/plugins/nosuch"), 404, "not-found")
    assert "testplugin:read" in kernel.known_scopes()


def test_entry_points_respect_the_allow_list() -> None:
    nothing = PluginManager()
    nothing.load_entry_points(allowed=[])
    assert nothing.plugins == {}
    only = PluginManager()
    only.load_entry_points(allowed=["testplugin"])
    assert list(only.plugins) == ["testplugin"]
    assert only.plugins["testplugin"].distribution == "scrm-testplugin"
    assert only.plugins["testplugin"].app_config is not None


async def test_route_answers_only_while_enabled(tenant: Tenant) -> None:
    problem(await tenant.get(f"{API}/testplugin/welcomes"), 404, "plugin-not-enabled")

    on = await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": True})
    assert on.status_code == 200, on.text
    assert on.json()["enabled"] is True
    response = await tenant.get(f"{API}/testplugin/welcomes")
    assert response.status_code == 200, response.text
    assert response.json() == []

    off = await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": False})
    assert off.status_code == 200, off.text
    assert off.json()["enabled"] is False
    problem(await tenant.get(f"{API}/testplugin/welcomes"), 404, "plugin-not-enabled")
    assert (await tenant.get(f"{API}/plugins/testplugin")).json()["enabled"] is False

    again = await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": True})
    assert again.status_code == 200, again.text
    assert (await tenant.get(f"{API}/testplugin/welcomes")).status_code == 200


async def test_operator_key_reaches_plugin_routes_in_the_named_workspace(tenant: Tenant, operator_key: str) -> None:
    await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": True})
    member = await tenant.member(display_name="Op")
    response = await tenant.client.get(
        f"{API}/testplugin/welcomes",
        headers={"Authorization": f"Bearer {operator_key}", "X-Scrm-Workspace": tenant.slug},
    )
    assert response.status_code == 200, response.text
    assert [r["member_id"] for r in response.json()] == [member["id"]]
    no_workspace = await tenant.client.get(
        f"{API}/testplugin/welcomes", headers={"Authorization": f"Bearer {operator_key}"}
    )
    problem(no_workspace, 400, "workspace-required")


async def test_enabling_in_one_workspace_leaves_the_other_alone(tenant: Tenant, other: Tenant) -> None:
    response = await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": True, "settings": {"a": 1}})
    assert response.status_code == 200, response.text
    assert (await tenant.get(f"{API}/testplugin/welcomes")).status_code == 200
    problem(await other.get(f"{API}/testplugin/welcomes"), 404, "plugin-not-enabled")
    theirs = (await other.get(f"{API}/plugins/testplugin")).json()
    assert theirs["enabled"] is False
    assert theirs["settings"] == {}


async def test_member_created_hook_runs_only_where_enabled(tenant: Tenant, other: Tenant) -> None:
    await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": True})
    mine = await tenant.member(display_name="Mei")
    anonymous = await tenant.member()
    theirs = await other.member(display_name="Theo")

    welcomes = (await tenant.get(f"{API}/testplugin/welcomes")).json()
    assert welcomes == [
        {"member_id": mine["id"], "message": "Welcome, Mei!"},
        {"member_id": anonymous["id"], "message": "Welcome, friend!"},
    ]
    # members created by import are welcomed too
    imported = await tenant.client.post(
        f"{API}/members/import",
        content=b'{"external_id": "imp-1", "display_name": "Ines"}\n',
        headers=tenant.headers(**{"Content-Type": "application/x-ndjson"}),
    )
    assert imported.status_code == 200, imported.text
    welcomes = (await tenant.get(f"{API}/testplugin/welcomes")).json()
    assert [w["message"] for w in welcomes][-1] == "Welcome, Ines!"

    # the other workspace had it off when Theo arrived: switching on later welcomes no one retroactively
    await other.post(f"{API}/plugins", {"name": "testplugin", "enabled": True})
    assert (await other.get(f"{API}/testplugin/welcomes")).json() == []
    later = await other.member(display_name="Lara")
    assert (await other.get(f"{API}/testplugin/welcomes")).json() == [
        {"member_id": later["id"], "message": "Welcome, Lara!"}
    ]
    assert theirs["id"] not in [w["member_id"] for w in (await tenant.get(f"{API}/testplugin/welcomes")).json()]

    # switched off again: new members are not welcomed
    await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": False})
    await tenant.member(display_name="Quiet")
    await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": True})
    assert len((await tenant.get(f"{API}/testplugin/welcomes")).json()) == 3


async def test_enabling_an_unknown_plugin_is_404(kernel: Kernel, tenant: Tenant) -> None:
    doc = problem(await tenant.post(f"{API}/plugins", {"name": "nosuch", "enabled": True}), 404, "not-found")
    assert doc["errors"][0]["field"] == "name"
    problem(await tenant.post(f"{API}/plugins", {"name": "nosuch", "enabled": False}), 404, "not-found")
    rows = await kernel.db.fetch("SELECT plugin FROM scrm_workspace_plugin WHERE workspace = {}", tenant.id)
    assert rows == []


async def test_settings_are_stored_and_returned(tenant: Tenant, other: Tenant) -> None:
    settings = {"greeting": "Hi", "limit": 3, "nested": {"on": True, "list": [1, "two"]}}
    response = await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": True, "settings": settings})
    assert response.status_code == 200, response.text
    assert response.json()["settings"] == settings
    assert (await tenant.get(f"{API}/plugins/testplugin")).json()["settings"] == settings
    listed = {p["name"]: p for p in (await tenant.get(f"{API}/plugins")).json()}
    assert listed["testplugin"]["settings"] == settings

    # switching without settings keeps them; sending settings replaces them
    off = await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": False})
    assert off.json()["settings"] == settings
    replaced = await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": True, "settings": {"x": 1}})
    assert replaced.json()["settings"] == {"x": 1}
    assert (await tenant.get(f"{API}/plugins/testplugin")).json() == replaced.json()
    cleared = await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": True, "settings": {}})
    assert cleared.json()["settings"] == {}

    assert (await other.get(f"{API}/plugins/testplugin")).json()["settings"] == {}


# --- loader validation ------------------------------------------------------------------------


def plugin_module(
    name: str = "alpha",
    *,
    manifest: dict[str, Any] | bool = True,
    **hooks: Callable[..., Any],
) -> types.ModuleType:
    """A throwaway plugin module: a manifest (``manifest=False`` for none) and marked hooks."""
    module = types.ModuleType(f"throwaway_plugin_{next(_modules)}")
    if manifest is not False:
        fields = {"name": name, "version": "1.0.0", "core": ">=0.1", "scopes": [f"{name}:read"]}
        fields.update(manifest if isinstance(manifest, dict) else {})

        def scrm_manifest() -> scrm.Manifest:
            return scrm.Manifest(**fields)

        module.scrm_manifest = scrm.hookimpl(scrm_manifest)  # type: ignore[attr-defined]
    for hook_name, impl in hooks.items():
        setattr(module, hook_name, scrm.hookimpl(impl))
    return module


def tables_hook(app_name: str, tablename: str) -> Callable[[], AppConfig]:
    table = type(
        f"Throwaway{next(_modules)}",
        (Table,),
        {"name": Varchar(length=10)},
        tablename=tablename,
    )

    def scrm_tables() -> AppConfig:
        return AppConfig(app_name=app_name, migrations_folder_path=str(Path(__file__).parent), table_classes=[table])

    return scrm_tables


def test_a_valid_plugin_registers() -> None:
    pm = PluginManager()
    loaded = pm.register(
        plugin_module("alpha", scrm_tables=tables_hook("alpha", "alpha_things"), scrm_member_created=lambda: None),
        distribution="scrm-alpha",
    )
    pm.check_pending()
    assert loaded.name == "alpha"
    assert loaded.distribution == "scrm-alpha"
    assert loaded.hooks == ["scrm_manifest", "scrm_member_created", "scrm_tables"]
    assert loaded.app_config is not None
    assert [t._meta.tablename for t in loaded.app_config.table_classes] == ["alpha_things"]
    assert list(pm.plugins) == ["alpha"]
    assert pm.implementers("scrm_member_created") == {"alpha"}


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (lambda: plugin_module(manifest=False), "no scrm_manifest hook"),
        (
            lambda: plugin_module(manifest=False, scrm_manifest=lambda: {"name": "alpha"}),
            "scrm_manifest must return scrm.Manifest",
        ),
        (lambda: plugin_module("Alpha"), "names are 2-40 lowercase letters"),
        (lambda: plugin_module("al-pha", manifest={"scopes": []}), "names are 2-40 lowercase letters"),
        (lambda: plugin_module("a", manifest={"scopes": []}), "names are 2-40 lowercase letters"),
        (lambda: plugin_module("1alpha", manifest={"scopes": []}), "names are 2-40 lowercase letters"),
        (lambda: plugin_module("scrm"), "reserved by the core"),
        (lambda: plugin_module("members"), "reserved by the core"),
        (lambda: plugin_module(manifest={"scopes": ["members:read"]}), "scope 'members:read' must start with 'alpha:'"),
        (lambda: plugin_module(manifest={"scopes": ["alphabet:read"]}), "must start with 'alpha:'"),
        (lambda: plugin_module(manifest={"core": ">=99"}), "needs scrm >=99; this is scrm"),
        (lambda: plugin_module(manifest={"core": "<0.1"}), "needs scrm <0.1"),
        (lambda: plugin_module(manifest={"core": "latest"}), "is not a version specifier"),
        (lambda: plugin_module(scrm_tables=tables_hook("alpha", "things")), "table 'things' must start with 'alpha_'"),
        (
            lambda: plugin_module(scrm_tables=tables_hook("alpha", "alphathings")),
            "table 'alphathings' must start with 'alpha_'",
        ),
        (lambda: plugin_module(scrm_tables=tables_hook("beta", "alpha_x")), "must be named 'alpha', not 'beta'"),
        (lambda: plugin_module(scrm_tables=lambda: ["alpha_x"]), "scrm_tables must return a piccolo AppConfig"),
        (lambda: plugin_module(scrm_tables=lambda: None), "scrm_tables must return a piccolo AppConfig, not None"),
        (
            lambda: plugin_module(manifest=False, scrm_manifest=lambda: None),
            "scrm_manifest must return scrm.Manifest, not None",
        ),
    ],
    ids=[
        "no-manifest",
        "manifest-not-a-Manifest",
        "uppercase-name",
        "dash-in-name",
        "one-letter-name",
        "digit-first-name",
        "reserved-name",
        "core-route-name",
        "core-scope-in-manifest",
        "scope-of-a-longer-name",
        "core-too-old",
        "core-too-new",
        "core-not-a-specifier",
        "table-without-prefix",
        "table-prefix-without-underscore",
        "app-misnamed",
        "tables-not-an-AppConfig",
        "tables-None",
        "manifest-None",
    ],
)
def test_loader_rejects(module: Callable[[], types.ModuleType], message: str) -> None:
    pm = PluginManager()
    with pytest.raises(PluginError, match=r"^plugin ") as caught:
        pm.register(module())
    assert message in str(caught.value)
    assert pm.plugins == {}


def test_loader_rejects_a_second_plugin_of_one_name() -> None:
    pm = PluginManager()
    pm.register(plugin_module("alpha"))
    with pytest.raises(PluginError, match="'alpha': a plugin of this name is already registered"):
        pm.register(plugin_module("alpha"))
    assert list(pm.plugins) == ["alpha"]


def test_loader_rejects_an_entry_point_named_otherwise() -> None:
    with pytest.raises(PluginError, match="entry point is named 'beta'; use one name everywhere"):
        PluginManager().register(plugin_module("alpha"), entry_name="beta")


def test_misspelled_hook_is_caught_by_check_pending() -> None:
    pm = PluginManager()
    pm.register(plugin_module("alpha", scrm_member_craeted=lambda workspace, member: None))
    with pytest.raises(PluginError, match="scrm_member_craeted"):
        pm.check_pending()


def test_hook_with_an_unknown_argument_is_a_plugin_error() -> None:
    pm = PluginManager()
    with pytest.raises(PluginError, match=r"^plugin 'alpha': ") as caught:
        pm.register(plugin_module("alpha", scrm_member_created=lambda workspace, membre: None), entry_name="alpha")
    assert "scrm_member_created" in str(caught.value)
    assert "membre" in str(caught.value)
    assert pm.plugins == {}


# --- create_app refuses routes without a declared scope ---------------------------------------
#
# These build a real second Kernel with a custom PluginManager, exactly as a deployment with such a
# plugin would. A Kernel binds piccolo's tables and app registry to its own engine process-wide, so
# ``other_kernel`` rebinds the session kernel's tables on exit, as ``Kernel.__init__`` binds them.


@pytest.fixture
def other_kernel(kernel: Kernel, settings: Settings) -> Callable[[PluginManager], AbstractContextManager[Kernel]]:
    @contextmanager
    def build(pm: PluginManager) -> Iterator[Kernel]:
        try:
            yield Kernel(settings, plugins=pm)
        finally:
            kernel.db.bind([APP_CONFIG, *kernel.plugins.app_configs()])

    return build


def routes_module(name: str, opt: dict[str, Any] | None) -> types.ModuleType:
    @get("/things", opt=opt or {}, operation_id=f"{name}Things{next(_modules)}")
    async def things() -> list[str]:
        return []

    return plugin_module(name, scrm_routes=lambda: [things])


@pytest.mark.parametrize(
    ("opt", "message"),
    [
        (None, "route GET /api/v1/alpha/things declares no scope"),
        ({"scope": ""}, "route GET /api/v1/alpha/things declares no scope"),
        ({"scope": "alpha:write"}, "uses scope 'alpha:write', which plugin 'alpha''s manifest does not declare"),
        ({"scope": "members:fly"}, "uses scope 'members:fly', which plugin 'alpha''s manifest does not declare"),
        (
            {"scope": "testplugin:read"},
            "uses scope 'testplugin:read', which plugin 'alpha''s manifest does not declare",
        ),
    ],
    ids=["no-opt", "empty-scope", "undeclared-own-scope", "unknown-core-scope", "plugin-not-loaded"],
)
def test_create_app_refuses_routes_without_a_declared_scope(
    other_kernel: Callable[[PluginManager], AbstractContextManager[Kernel]], opt: dict[str, Any] | None, message: str
) -> None:
    pm = PluginManager()
    pm.register(routes_module("alpha", opt))
    with other_kernel(pm) as k, pytest.raises(PluginError) as caught:
        scrm.create_app(kernel=k, configure_logs=False)
    assert message in str(caught.value)


@pytest.mark.parametrize("scope", ["alpha:read", "members:read"])
def test_create_app_mounts_routes_with_a_declared_scope(
    other_kernel: Callable[[PluginManager], AbstractContextManager[Kernel]], scope: str
) -> None:
    pm = PluginManager()
    pm.register(routes_module("alpha", {"scope": scope}))
    with other_kernel(pm) as k:
        app: Litestar = scrm.create_app(kernel=k, configure_logs=False)
    mounted = {
        (route.path, handler.opt.get("scope"))
        for route in app.routes
        for handler in route.route_handlers  # type: ignore[union-attr]
        if route.path.startswith(f"{API}/alpha") and "GET" in handler.http_methods
    }
    assert mounted == {(f"{API}/alpha/things", scope)}
    assert f"{API}/testplugin/welcomes" not in {route.path for route in app.routes}


async def test_tables_are_rebound_after_another_kernel(
    other_kernel: Callable[[PluginManager], AbstractContextManager[Kernel]], kernel: Kernel, tenant: Tenant
) -> None:
    """A second kernel with the test plugin takes its table over; leaving the context gives it back,
    and the session app's plugin route and hook work again."""
    pm = PluginManager()
    pm.load_entry_points(["testplugin"])
    with other_kernel(pm) as k:
        assert Welcome._meta.db is k.db.engine
        assert Welcome._meta.db is not kernel.db.engine
    assert Welcome._meta.db is kernel.db.engine
    for config in (APP_CONFIG, *kernel.plugins.app_configs()):
        assert all(t._meta.db is kernel.db.engine for t in config.table_classes)
    await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": True})
    member = await tenant.member(display_name="After")
    welcomes = (await tenant.get(f"{API}/testplugin/welcomes")).json()
    assert welcomes == [{"member_id": member["id"], "message": "Welcome, After!"}]


# --- pluggy is the only door: an unmarked function is not a hook; answers are checked where asked ---


def unmarked_module(name: str, calls: list[str]) -> types.ModuleType:
    """A plugin whose ``scrm_routes`` and ``scrm_member_created`` lack ``@scrm.hookimpl``."""
    module = plugin_module(name)

    @get("/hidden", opt={"scope": f"{name}:read"}, operation_id=f"hidden{next(_modules)}")
    async def hidden() -> list[str]:
        return []

    def scrm_routes() -> list[Any]:
        calls.append("scrm_routes")
        return [hidden]

    def scrm_member_created(member: dict[str, Any]) -> None:
        calls.append("scrm_member_created")

    module.scrm_routes = scrm_routes  # type: ignore[attr-defined]
    module.scrm_member_created = scrm_member_created  # type: ignore[attr-defined]
    return module


async def test_an_unmarked_function_is_not_a_hook(
    other_kernel: Callable[[PluginManager], AbstractContextManager[Kernel]], kernel: Kernel, tenant: Tenant
) -> None:
    calls: list[str] = []
    pm = PluginManager()
    assert pm.register(unmarked_module("alpha", calls)).hooks == ["scrm_manifest"]
    assert pm.implementers("scrm_routes") == set()
    with other_kernel(pm) as k:
        app = scrm.create_app(kernel=k, configure_logs=False)
    assert [route.path for route in app.routes if route.path.startswith(f"{API}/alpha")] == []

    name = f"unmarked{next(_modules)}"
    kernel.plugins.register(unmarked_module(name, calls))
    try:
        await tenant.enable(name)
        await tenant.member(display_name="Unwelcomed")
    finally:
        kernel.plugins.unregister(name)
        kernel.forget_cached()
    assert calls == []


def test_check_pending_reports_an_unmarked_function_named_like_a_hook() -> None:
    pm = PluginManager()
    pm.register(unmarked_module("alpha", []))
    with pytest.raises(PluginError) as caught:
        pm.check_pending()
    assert str(caught.value) == (
        "plugin 'alpha': scrm_member_created, scrm_routes is not marked @scrm.hookimpl"
        " (an unmarked function is not a hook)"
    )


ROUTES = "a list of route handlers, controllers or routers"


@pytest.mark.parametrize(
    ("hooks", "message"),
    [
        ({"scrm_routes": lambda: None}, f"scrm_routes must return {ROUTES}, not None"),
        ({"scrm_routes": lambda: "/things"}, f"scrm_routes must return {ROUTES}, not '/things'"),
        ({"scrm_routes": lambda: [len]}, f"scrm_routes must return {ROUTES}, not [<built-in function len>]"),
        (
            {"scrm_jobs": lambda: ["alpha.job"]},
            "scrm_jobs must return a list of scrm.Job or scrm.Cron, not ['alpha.job']",
        ),
        ({"scrm_jobs": lambda: None}, "scrm_jobs must return a list of scrm.Job or scrm.Cron, not None"),
        ({"scrm_service": lambda kernel: None}, "scrm_service must return its service object, not None"),
        (
            {"scrm_console_pages": lambda: {"routes": []}},
            "scrm_console_pages must return scrm.ConsolePages, not {'routes': []}",
        ),
        ({"scrm_console_pages": lambda: None}, "scrm_console_pages must return scrm.ConsolePages, not None"),
    ],
    ids=[
        "routes-None",
        "routes-not-a-list",
        "routes-not-handlers",
        "jobs-not-Jobs",
        "jobs-None",
        "service-None",
        "console-pages-a-dict",
        "console-pages-None",
    ],
)
def test_startup_refuses_a_wrong_answer_naming_the_plugin(
    other_kernel: Callable[[PluginManager], AbstractContextManager[Kernel]],
    hooks: dict[str, Callable[..., Any]],
    message: str,
) -> None:
    pm = PluginManager()
    pm.register(plugin_module("alpha", **hooks))
    with pytest.raises(PluginError) as caught, other_kernel(pm) as k:
        scrm.create_app(kernel=k, configure_logs=False)
    assert str(caught.value) == f"plugin 'alpha': {message}"


def test_the_cli_refuses_a_command_that_is_not_click(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    module = plugin_module("alpha", scrm_cli=lambda: "not a command")
    monkeypatch.setattr(PluginManager, "load_entry_points", lambda self, allowed=None: self.register(module))
    monkeypatch.setenv("SCRM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SCRM_SECRET_KEY", "test-secret-key-" + "x" * 32)
    result = CliRunner().invoke(main, ["alpha"])
    assert result.exit_code == 1
    assert result.output == "Error: plugin 'alpha': scrm_cli must return a click command, not 'not a command'\n"


async def test_a_hook_called_without_its_kernel_is_the_cores_bug(kernel: Kernel, tenant: Tenant) -> None:
    """The manager holds no kernel: a caller that forgets ``kernel=`` fails loudly, even through
    ``notify``, which only logs a plugin's failure."""
    ws = await kernel.workspaces.ref(tenant.slug)
    with pytest.raises(TypeError, match=r"^scrm_member_created called without kernel$"):
        await kernel.plugins.notify("scrm_member_created", ws.enabled_plugins, workspace=ws, member={})
    with pytest.raises(TypeError, match=r"^scrm_export_member called without member_id, kernel$"):
        await kernel.plugins.call_each("scrm_export_member", workspace=ws)
