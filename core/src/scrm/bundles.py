"""Bundles: a TOML file naming plugins, version ranges and settings, applied to a workspace in one
command (``scrm bundle apply FILE --workspace W``) — what an agency runs for each client.

::

    [bundle]
    name = "Retail client"

    [plugins.points]
    version = ">=0.1,<1"
    settings = { checkin_points = 5 }

Applying installs what is missing from the catalogue (or a release whose version is outside the
range), then enables and configures each plugin through the same service as the API, so settings are
checked against each plugin's schema — all of them before anything is written. A plugin already
enabled with the same settings is left alone: applying twice changes nothing and says so. ``--dry-run``
prints the plan. ``scrm bundle export --workspace W`` writes the bundle a workspace runs today.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import msgspec
import tomli_w
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from scrm.manifest import NAME_PATTERN
from scrm.plugins import ENTRY_POINT_GROUP
from scrm.problems import ValidationFailed

if TYPE_CHECKING:
    from scrm.kernel import Kernel
    from scrm.services.context import WorkspaceRef


class BundleError(ValueError):
    """The bundle cannot be read or applied; the message names the plugin and what is wrong."""


class PluginSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    #: a PEP 440 version range (``">=0.1,<1"``); empty: any version
    version: str = ""
    enabled: bool = True
    #: its settings in the workspace (checked against its schema); left out: kept as they are
    settings: dict[str, Any] | None = None


class BundleInfo(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str = ""
    description: str = ""


class Bundle(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    bundle: BundleInfo = msgspec.field(default_factory=BundleInfo)
    plugins: dict[str, PluginSpec] = msgspec.field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One thing applying does (or would do): ``install``, ``enable``, ``configure``, ``disable`` or
    ``unchanged``."""

    plugin: str
    action: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.action} {self.plugin}" + (f": {self.detail}" if self.detail else "")


def parse(text: str) -> Bundle:
    """A bundle from TOML text, with every plugin name and version range checked."""
    try:
        bundle = msgspec.convert(tomllib.loads(text), Bundle)
    except tomllib.TOMLDecodeError as exc:
        raise BundleError(f"not TOML: {exc}") from None
    except msgspec.ValidationError as exc:
        raise BundleError(f"not a bundle: {exc}") from None
    for name, spec in bundle.plugins.items():
        if not NAME_PATTERN.match(name):
            raise BundleError(f"plugins.{name}: not a plugin name")
        try:
            SpecifierSet(spec.version)
        except InvalidSpecifier:
            raise BundleError(f"plugins.{name}.version: {spec.version!r} is not a version range") from None
    return bundle


def installed_versions() -> dict[str, str]:
    """The version of every installed plugin's distribution, by plugin name (without loading them)."""
    found = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.dist is not None:
            found[ep.name] = ep.dist.version
    return found


def to_install(bundle: Bundle, installed: dict[str, str]) -> dict[str, str]:
    """The plugins to install (name → version range): missing, or installed outside the range."""
    wanted = {}
    for name, spec in bundle.plugins.items():
        version = installed.get(name)
        if version is None or not SpecifierSet(spec.version).contains(Version(version), prereleases=True):
            wanted[name] = spec.version
    return wanted


async def plan(kernel: Kernel, ws: WorkspaceRef, bundle: Bundle, pending: set[str] | None = None) -> list[Step]:
    """What applying the bundle changes in ``ws`` (plugins in ``pending`` are still to be installed:
    their settings are checked after the install). Every plugin's settings are checked here, so a bad
    one stops the bundle before anything is written."""
    current = {p.name: p for p in await kernel.workspaces.plugins(ws)}
    steps = []
    for name, spec in sorted(bundle.plugins.items()):
        if name in (pending or set()):
            steps.append(Step(name, "enable" if spec.enabled else "disable", "after it is installed"))
            continue
        state = current.get(name)
        loaded = kernel.plugins.plugins.get(name)
        if state is None or loaded is None:
            raise BundleError(f"{name} is not installed (give a catalogue to install it from)")
        settings = None
        if spec.settings is not None:
            try:
                settings = loaded.validate_settings(spec.settings)
            except ValidationFailed as exc:
                raise BundleError(f"{name}: {exc.detail}") from None
        if not spec.enabled:
            steps.append(Step(name, "disable") if state.enabled else Step(name, "unchanged", "disabled"))
        elif not state.enabled:
            scopes = ", ".join(loaded.manifest.scopes) or "none"
            steps.append(Step(name, "enable", f"asks for {scopes}" + (" (with its settings)" if settings else "")))
        elif settings is not None and settings != state.settings:
            changed = sorted(
                k for k in settings.keys() | state.settings.keys() if settings.get(k) != state.settings.get(k)
            )
            steps.append(Step(name, "configure", ", ".join(changed)))
        else:
            steps.append(Step(name, "unchanged", "enabled"))
    return steps


async def apply(kernel: Kernel, ws: WorkspaceRef, bundle: Bundle, steps: list[Step]) -> None:
    """Carry out a plan made by :func:`plan` (on this kernel, with every plugin installed)."""
    for step in steps:
        spec = bundle.plugins[step.plugin]
        if step.action in ("enable", "configure"):
            await kernel.workspaces.set_plugin(ws, step.plugin, True, spec.settings)
        elif step.action == "disable":
            await kernel.workspaces.set_plugin(ws, step.plugin, False, None)


async def export(kernel: Kernel, ws: WorkspaceRef, name: str = "") -> str:
    """The bundle ``ws`` runs today, as TOML: each enabled plugin from its installed version up to the
    next major version, with its settings here."""
    plugins: dict[str, Any] = {}
    for plugin in await kernel.workspaces.plugins(ws):
        if not plugin.enabled:
            continue
        version = Version(plugin.version)
        entry: dict[str, Any] = {"version": f">={version},<{version.major + 1}"}
        if plugin.settings:
            entry["settings"] = plugin.settings
        plugins[plugin.name] = entry
    document = {"bundle": {"name": name or ws.slug, "description": f"exported from workspace {ws.slug}"}}
    return tomli_w.dumps({**document, "plugins": plugins})
