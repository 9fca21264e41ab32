"""The plugin manager: discovers plugins by entry point, validates them, answers hook calls.

Plugins are distributions declaring ``[project.entry-points.scrm] <name> = "<module>"``. Loading
validates what each registers (unique names, table prefixes, declared scopes, compatible core
version) and stops with one clear error rather than failing later at request time.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import jsonschema
import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version
from piccolo.conf.apps import AppConfig
from pluggy import HookCaller

from scrm import builtin, hookspecs
from scrm.manifest import NAME_PATTERN, Manifest
from scrm.plugin_settings import SettingsSchema
from scrm.version import __version__

ENTRY_POINT_GROUP = "scrm"
#: A plugin that exists for tests also names itself in this group; ``scrm demo`` leaves it out.
TESTING_GROUP = "scrm.testing"
#: Names a plugin cannot take: the core's own piccolo app and its top-level API paths.
RESERVED_NAMES = frozenset(
    {
        "scrm",
        "api",
        "schema",
        "console",
        "workspaces",
        "members",
        "tags",
        "keys",
        "plugins",
        "consents",
        "events",
        "moderation",
    }
)
log = logging.getLogger("scrm.plugins")


def for_users() -> list[str]:
    """The installed plugins a user would install: every ``scrm`` entry point but those also named
    in :data:`TESTING_GROUP` (a test suite's fixture plugin), by name."""
    testing = {ep.name for ep in entry_points(group=TESTING_GROUP)}
    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)} - testing)


class PluginError(RuntimeError):
    """A plugin is broken or incompatible; the message says which and why."""


@dataclass
class LoadedPlugin:
    """A plugin as the core knows it after loading: its module, manifest and registrations."""

    module: ModuleType
    manifest: Manifest
    distribution: str | None = None
    app_config: AppConfig | None = None
    hooks: list[str] = field(default_factory=list)
    #: what its ``scrm_settings_schema`` hook declared, or None (any JSON object is then accepted)
    settings_schema: SettingsSchema | None = None

    def validate_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        """The settings to store for this plugin: checked against its schema (a 422 naming the field)."""
        return settings if self.settings_schema is None else self.settings_schema.validate(settings)

    @property
    def name(self) -> str:
        return self.manifest.name


class PluginManager:
    """Wraps pluggy's manager with scrm's loading rules and a registry of loaded plugins.

    Every hook is called through pluggy (``pm.hook.<name>``), so only functions marked
    ``@scrm.hookimpl`` are hooks and a spec's ``firstresult`` holds. Where the core needs to know
    which plugin answered, it calls the hook for one plugin at a time through pluggy's
    ``subset_hook_caller``. The manager holds no kernel: callers pass ``kernel=`` to the hooks whose
    spec takes it.
    """

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("scrm")
        self.pm.add_hookspecs(hookspecs)
        self.pm.register(builtin, name=builtin.NAME)  # the core's own hooks, run in every workspace
        self.plugins: dict[str, LoadedPlugin] = {}

    def load_entry_points(self, allowed: Iterable[str] | None = None) -> None:
        """Load every installed plugin (or only those named in ``allowed``, from ``SCRM_PLUGINS``)."""
        allow = set(allowed) if allowed is not None else None
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if allow is not None and ep.name not in allow:
                continue
            try:
                module = ep.load()
            except Exception as exc:
                raise PluginError(f"plugin {ep.name!r}: cannot import {ep.value!r}: {exc}") from exc
            self.register(module, distribution=ep.dist.name if ep.dist else None, entry_name=ep.name)

    def register(
        self, module: ModuleType, *, distribution: str | None = None, entry_name: str | None = None
    ) -> LoadedPlugin:
        """Register one plugin module and validate what it declares.

        Its manifest and tables are asked of a pluggy manager holding this module alone, so nothing
        joins the shared manager before it is known to be valid."""
        label = entry_name or module.__name__
        alone = _alone(module, label)
        if not alone.hook.scrm_manifest.get_hookimpls():
            raise PluginError(f"plugin {label!r}: no scrm_manifest hook (a function marked @scrm.hookimpl)")
        manifest = alone.hook.scrm_manifest()
        if not isinstance(manifest, Manifest):
            raise PluginError(f"plugin {label!r}: scrm_manifest must return scrm.Manifest, not {_short(manifest)}")
        name = manifest.name
        if not NAME_PATTERN.match(name):
            raise PluginError(f"plugin {name!r}: names are 2-40 lowercase letters, digits or _")
        if entry_name is not None and entry_name != name:
            raise PluginError(f"plugin {name!r}: entry point is named {entry_name!r}; use one name everywhere")
        if name in RESERVED_NAMES:
            raise PluginError(f"plugin {name!r}: the name is reserved by the core (its routes live there)")
        if name in self.plugins:
            raise PluginError(f"plugin {name!r}: a plugin of this name is already registered")
        _check_core_version(manifest)
        for scope in manifest.scopes:
            if not scope.startswith(f"{name}:"):
                raise PluginError(f"plugin {name!r}: scope {scope!r} must start with '{name}:'")
        tables = alone.hook.scrm_tables
        app_config = _app_config(tables(), name) if tables.get_hookimpls() else None
        declared = alone.hook.scrm_settings_schema
        schema = _settings_schema(declared(), name) if declared.get_hookimpls() else None
        self.pm.register(module, name=name)
        loaded = LoadedPlugin(
            module=module, manifest=manifest, distribution=distribution, app_config=app_config, settings_schema=schema
        )
        loaded.hooks = sorted(h.name for h in self.pm.get_hookcallers(module) or [])
        self.plugins[name] = loaded
        return loaded

    def unregister(self, name: str) -> None:
        loaded = self.plugins.pop(name)
        self.pm.unregister(loaded.module)

    def check_pending(self) -> None:
        """Fail on a misspelled hook implementation (a marked ``scrm_`` function with no spec) and
        on a function named like a hook but not marked ``@scrm.hookimpl``, which is not a hook."""
        for name, plugin in self.plugins.items():
            unmarked = sorted(
                attr
                for attr, value in vars(plugin.module).items()
                if attr in HOOK_NAMES and callable(value) and attr not in plugin.hooks
            )
            if unmarked:
                hooks = ", ".join(unmarked)
                raise PluginError(
                    f"plugin {name!r}: {hooks} is not marked @scrm.hookimpl (an unmarked function is not a hook)"
                )
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(str(exc)) from exc

    def app_configs(self) -> list[AppConfig]:
        return [p.app_config for p in self.plugins.values() if p.app_config is not None]

    def implementers(self, hook_name: str) -> set[str]:
        """Names of the plugins implementing ``hook_name`` (pluggy's hook implementations)."""
        caller = getattr(self.pm.hook, hook_name)
        return {self.pm.get_name(impl.plugin) or "" for impl in caller.get_hookimpls()}

    def answers(
        self,
        hook_name: str,
        expected: str,
        valid: Callable[[Any], bool],
        only: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Each plugin's answer to a registration hook, by plugin name in name order, called through
        pluggy for one plugin at a time (``only`` limits it to these plugins). An answer failing
        ``valid`` stops startup with one error naming the plugin and saying what was ``expected``."""
        found = {}
        for name, answer in self._each(hook_name, only, kwargs):
            if not valid(answer):
                raise PluginError(f"plugin {name!r}: {hook_name} must return {expected}, not {_short(answer)}")
            found[name] = answer
        return found

    async def call(self, hook_name: str, only: Iterable[str] | None = None, **kwargs: Any) -> list[Any]:
        """Call a hook, awaiting async implementations; ``only`` limits it to these plugins.

        A domain hook is called for the plugins enabled in the workspace, so callers pass ``only``.
        """
        self._check_arguments(hook_name, kwargs)
        caller = self._caller(hook_name, only)
        if caller is None:
            return []
        results = []
        for value in _results(caller, caller(**kwargs)):
            results.append(await value if inspect.isawaitable(value) else value)
        return results

    async def call_each(self, hook_name: str, only: Iterable[str] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Call a hook plugin by plugin, returning each plugin's answer by its name (a plugin
        answering None is left out); ``only`` limits it to these plugins."""
        answers: dict[str, Any] = {}
        for name, value in self._each(hook_name, only, kwargs):
            answer = await value if inspect.isawaitable(value) else value
            if answer is not None:
                answers[name] = answer
        return answers

    async def notify(self, hook_name: str, only: Iterable[str] | None = None, **kwargs: Any) -> None:
        """Call a domain hook after a commit; a failing plugin is logged and does not undo anything."""
        self._check_arguments(hook_name, kwargs)
        try:
            await self.call(hook_name, only=only, **kwargs)
        except Exception:
            log.exception("hook %s failed", hook_name)

    def _check_arguments(self, hook_name: str, kwargs: dict[str, Any]) -> None:
        """A call passes every argument its spec names, ``kernel`` included: a missing one is the
        core's bug, raised even where a plugin's failure would only be logged."""
        spec = getattr(self.pm.hook, hook_name).spec
        missing = [name for name in spec.argnames if name not in kwargs] if spec else []
        if missing:
            raise TypeError(f"{hook_name} called without {', '.join(missing)}")

    def _caller(self, hook_name: str, only: Iterable[str] | None) -> HookCaller | None:
        """pluggy's caller of ``hook_name`` limited to the plugins named in ``only`` (all when None),
        or None when none of them implements it."""
        caller: HookCaller = getattr(self.pm.hook, hook_name)
        impls = caller.get_hookimpls()
        if only is not None:
            wanted = set(only)
            skip = [impl.plugin for impl in impls if self.pm.get_name(impl.plugin) not in wanted]
            if skip:
                if len(skip) == len(impls):
                    return None
                return self.pm.subset_hook_caller(hook_name, remove_plugins=skip)
        return caller if impls else None

    def _each(self, hook_name: str, only: Iterable[str] | None, kwargs: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        """(plugin name, answer) for each implementing plugin (in ``only``), in name order: the hook
        called through pluggy for that plugin alone, so the core knows who answered."""
        self._check_arguments(hook_name, kwargs)
        names = self.implementers(hook_name)
        for name in sorted(names if only is None else names & set(only)):
            caller = self._caller(hook_name, [name])
            if caller is not None:
                yield name, next(iter(_results(caller, caller(**kwargs))), None)


#: The name of every hook in the contract.
HOOK_NAMES = frozenset(name for name in vars(hookspecs) if name.startswith("scrm_"))


def _alone(module: ModuleType, label: str) -> pluggy.PluginManager:
    """A pluggy manager holding only ``module``: where the core asks a plugin who it is before it
    joins, and where a hook taking an argument its spec lacks is refused."""
    alone = pluggy.PluginManager("scrm")
    alone.add_hookspecs(hookspecs)
    try:
        alone.register(module)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {label!r}: {exc}") from exc
    return alone


def _results(caller: HookCaller, returned: Any) -> list[Any]:
    """A hook call's answers as a list: a ``firstresult`` hook returns one value (None for none)."""
    if caller.spec is not None and caller.spec.opts.get("firstresult"):
        return [] if returned is None else [returned]
    return list(returned)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _app_config(config: Any, name: str) -> AppConfig:
    """Validate the answer of a plugin's ``scrm_tables``."""
    if not isinstance(config, AppConfig):
        raise PluginError(f"plugin {name!r}: scrm_tables must return a piccolo AppConfig, not {_short(config)}")
    if config.app_name != name:
        raise PluginError(f"plugin {name!r}: its piccolo app must be named {name!r}, not {config.app_name!r}")
    for table in config.table_classes:
        if not table._meta.tablename.startswith(f"{name}_"):
            raise PluginError(f"plugin {name!r}: table {table._meta.tablename!r} must start with '{name}_'")
    return config


def _settings_schema(declared: Any, name: str) -> SettingsSchema:
    try:
        return SettingsSchema(name, declared)
    except TypeError as exc:
        raise PluginError(f"plugin {name!r}: scrm_settings_schema must return {exc}, not {_short(declared)}") from None
    except jsonschema.SchemaError as exc:
        raise PluginError(f"plugin {name!r}: scrm_settings_schema is not a valid JSON Schema: {exc.message}") from None


def _check_core_version(manifest: Manifest) -> None:
    if not manifest.core:
        return
    try:
        spec = SpecifierSet(manifest.core)
    except InvalidSpecifier:
        raise PluginError(
            f"plugin {manifest.name!r}: core requirement {manifest.core!r} is not a version specifier"
        ) from None
    if Version(__version__) not in spec:
        raise PluginError(f"plugin {manifest.name!r} needs scrm {manifest.core}; this is scrm {__version__}")
