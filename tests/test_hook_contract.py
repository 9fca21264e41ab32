"""Pluggy is the only door: no code reaches a plugin's hook implementation by its name.

The core, the console, the first-party plugins, the example and the test plugin are scanned: a hook
looked up with ``getattr(x, "scrm_…")``, read as ``<object>.scrm_…`` (other than pluggy's
``<manager>.hook.scrm_…``), imported by name or called directly would bypass pluggy, so a function
not marked ``@scrm.hookimpl`` would act as a hook and ``firstresult`` would mean nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from scrm.plugins import HOOK_NAMES

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "core/src", ROOT / "web/src", ROOT / "plugins", ROOT / "examples", ROOT / "tests"]


def hook_bypasses(source: str) -> list[str]:
    """Where ``source`` reaches a hook implementation other than through pluggy: ``line: code``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in HOOK_NAMES:  # a hook implementation called directly
                found.append(node)
            elif node.func.id in {"getattr", "hasattr"} and len(node.args) >= 2:
                name = node.args[1]
                if isinstance(name, ast.Constant) and name.value in HOOK_NAMES:
                    found.append(node)
        elif isinstance(node, ast.Attribute) and node.attr in HOOK_NAMES and isinstance(node.ctx, ast.Load):
            owner = node.value
            through_pluggy = isinstance(owner, ast.Attribute) and owner.attr == "hook"
            if not through_pluggy:
                found.append(node)
        elif isinstance(node, ast.ImportFrom) and any(alias.name in HOOK_NAMES for alias in node.names):
            found.append(node)
    return [f"{node.lineno}: {ast.unparse(node)}" for node in found]


def python_files() -> list[Path]:
    files = []
    for top in SOURCES:
        files += [p for p in top.rglob("*.py") if ".venv" not in p.parts and p.name != "hookspecs.py"]
    return sorted(files)


def test_every_hook_is_called_through_pluggy() -> None:
    bypasses = {
        path.relative_to(ROOT).as_posix(): found
        for path in python_files()
        if (found := hook_bypasses(path.read_text(encoding="utf-8")))
    }
    assert bypasses == {}


@pytest.mark.parametrize(
    "code",
    [
        'declare = getattr(plugin.module, "scrm_jobs", None)',
        'handlers = getattr(kernel.plugins.plugins[name].module, "scrm_routes", lambda: None)()',
        "command = loaded.module.scrm_cli()",
        "pages = module.scrm_console_pages",
        'if hasattr(module, "scrm_service"): pass',
        "from scrm_points.plugin import scrm_routes",
        "routes = scrm_routes()",
    ],
)
def test_the_scan_sees_a_bypass(code: str) -> None:
    """The scan would catch each way the core used to reach hooks around pluggy."""
    assert hook_bypasses(code) != []


@pytest.mark.parametrize(
    "code",
    [
        "pm.hook.scrm_manifest()",
        "self.pm.hook.scrm_tables.get_hookimpls()",
        "module.scrm_manifest = scrm.hookimpl(manifest)",
        "@scrm.hookimpl\ndef scrm_routes() -> list[Any]:\n    return [PointsController]",
        'plugins.answers("scrm_routes", "a list", valid)',
    ],
)
def test_the_scan_lets_pluggy_calls_and_definitions_pass(code: str) -> None:
    assert hook_bypasses(code) == []


def test_the_scan_covers_the_places_hooks_are_called() -> None:
    scanned = {path.relative_to(ROOT).as_posix() for path in python_files()}
    for expected in [
        "core/src/scrm/plugins.py",
        "core/src/scrm/kernel.py",
        "core/src/scrm/app.py",
        "core/src/scrm/cli.py",
        "web/src/scrm_web/plugin.py",
        "plugins/points/src/scrm_points/plugin.py",
        "plugins/lottery/src/scrm_lottery/plugin.py",
        "plugins/polls/src/scrm_polls/plugin.py",
        "tests/testplugin/src/scrm_testplugin/plugin.py",
        "examples/third-party-plugin/src/scrm_notes/plugin.py",
    ]:
        assert expected in scanned
