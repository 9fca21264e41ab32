"""The plugin manager: discovers plugins by entry point, validates them, answers hook calls.

Plugins are distributions declaring ``[project.entry-points.scrm] <name> = "<module>"``. Loading
validates what each registers (unique names, table prefixes, declared scopes, compatible core
version) and stops with one clear error rather than failing later at request time.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version
from piccolo.conf.apps import AppConfig

from scrm import hookspecs
from scrm.manifest import NAME_PATTERN, Manifest
from scrm.version import __version__

ENTRY_POINT_GROUP = "scrm"
#: Names a plugin cannot take: the core's own piccolo app and its top-level API paths.
RESERVED_NAMES = frozenset(
    {"scrm", "api", "schema", "console", "workspaces", "members", "tags", "keys", "plugins", "consents", "events"}
)
log = logging.getLogger("scrm.plugins")


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

    @property
    def name(self) -> str:
        return self.manifest.name


class PluginManager:
    """Wraps pluggy's manager with scrm's loading rules and a registry of loaded plugins."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("scrm")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, LoadedPlugin] = {}
        #: the kernel these plugins serve, handed to every hook whose spec takes ``kernel``
        self.kernel: Any = None

    @property
    def hook(self) -> Any:
        return self.pm.hook

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
        """Register one plugin module and validate what it declares."""
        impl = getattr(module, "scrm_manifest", None)
        if impl is None:
            raise PluginError(f"plugin {entry_name or module.__name__!r}: no scrm_manifest hook")
        manifest = impl()
        if not isinstance(manifest, Manifest):
            raise PluginError(f"plugin {module.__name__!r}: scrm_manifest must return scrm.Manifest")
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
        app_config = self._app_config(module, name)  # validated before pluggy sees the module
        try:
            self.pm.register(module, name=name)
        except pluggy.PluginValidationError as exc:  # e.g. a hook taking an argument its spec lacks
            raise PluginError(f"plugin {name!r}: {exc}") from exc
        loaded = LoadedPlugin(module=module, manifest=manifest, distribution=distribution, app_config=app_config)
        loaded.hooks = sorted(h.name for h in self.pm.get_hookcallers(module) or [])
        self.plugins[name] = loaded
        return loaded

    def unregister(self, name: str) -> None:
        loaded = self.plugins.pop(name)
        self.pm.unregister(loaded.module)

    def check_pending(self) -> None:
        """Fail on a misspelled hook implementation (``scrm_`` function with no spec)."""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(str(exc)) from exc

    def app_configs(self) -> list[AppConfig]:
        return [p.app_config for p in self.plugins.values() if p.app_config is not None]

    def implementers(self, hook_name: str) -> set[str]:
        """Names of the plugins implementing ``hook_name``."""
        caller = getattr(self.pm.hook, hook_name)
        return {self.pm.get_name(impl.plugin) or "" for impl in caller.get_hookimpls()}

    async def call(self, hook_name: str, only: Iterable[str] | None = None, **kwargs: Any) -> list[Any]:
        """Call a hook, awaiting async implementations; ``only`` limits it to these plugins.

        A domain hook is called for the plugins enabled in the workspace, so callers pass ``only``.
        """
        caller = getattr(self.pm.hook, hook_name)
        impls = caller.get_hookimpls()
        if not impls:
            return []
        if "kernel" not in kwargs and caller.spec is not None and "kernel" in caller.spec.argnames:
            kwargs["kernel"] = self.kernel
        if only is not None:
            wanted = set(only)
            skip = [impl.plugin for impl in impls if self.pm.get_name(impl.plugin) not in wanted]
            if len(skip) == len(impls):
                return []
            caller = self.pm.subset_hook_caller(hook_name, remove_plugins=skip)
        results = []
        for value in caller(**kwargs):
            results.append(await value if inspect.isawaitable(value) else value)
        return results

    async def call_each(self, hook_name: str, only: Iterable[str] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Call a hook plugin by plugin, returning each plugin's answer by its name (a plugin
        answering None is left out); ``only`` limits it to these plugins."""
        answers: dict[str, Any] = {}
        wanted = None if only is None else set(only)
        for name in sorted(self.implementers(hook_name)):
            if wanted is not None and name not in wanted:
                continue
            answer = [a for a in await self.call(hook_name, only=[name], **kwargs) if a is not None]
            if answer:
                answers[name] = answer[0]
        return answers

    async def notify(self, hook_name: str, only: Iterable[str] | None = None, **kwargs: Any) -> None:
        """Call a domain hook after a commit; a failing plugin is logged and does not undo anything."""
        try:
            await self.call(hook_name, only=only, **kwargs)
        except Exception:
            log.exception("hook %s failed", hook_name)

    def _app_config(self, module: ModuleType, name: str) -> AppConfig | None:
        impl = getattr(module, "scrm_tables", None)
        if impl is None:
            return None
        config = impl()
        if not isinstance(config, AppConfig):
            raise PluginError(f"plugin {name!r}: scrm_tables must return a piccolo AppConfig")
        if config.app_name != name:
            raise PluginError(f"plugin {name!r}: its piccolo app must be named {name!r}, not {config.app_name!r}")
        for table in config.table_classes:
            if not table._meta.tablename.startswith(f"{name}_"):
                raise PluginError(f"plugin {name!r}: table {table._meta.tablename!r} must start with '{name}_'")
        return config


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
