"""The documentation cannot drift from the code: every hook spec, setting, problem kind, CLI command and
core route the code defines is documented, links between documents resolve, and the example plugin
still loads."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from litestar.handlers import HTTPRouteHandler
from scrm import hookspecs
from scrm.app import API_PREFIX, CORE_CONTROLLERS
from scrm.cli import main
from scrm.plugins import PluginManager
from scrm.problems import _STATUS_KINDS

pytestmark = pytest.mark.engine_independent
ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SRC = ROOT / "core" / "src" / "scrm"
EXAMPLE = ROOT / "examples" / "third-party-plugin"
#: the site's pages generated from the code when it is built (docs_hooks/reference.py)
GENERATED_PAGES = ("reference/hooks.md", "reference/openapi.md")

# A problem kind in the code: `kind = "x"` (class attribute or keyword argument), `_generic(500, "x", ...)`
# or the fallback of `_STATUS_KINDS.get(status, "x")`.
KIND = re.compile(
    r'\bkind(?::\s*str)?\s*=\s*"([a-z][a-z0-9-]*)"'
    r'|_generic\(\s*\d+,\s*"([a-z][a-z0-9-]*)"'
    r'|_STATUS_KINDS\.get\([^)]*"([a-z][a-z0-9-]*)"\)'
)


def doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def test_every_hook_spec_has_a_section_and_no_other() -> None:
    specs = {name for name, value in vars(hookspecs).items() if name.startswith("scrm_") and callable(value)}
    sections = set(re.findall(r"^## (scrm_\w+)$", doc("plugins/hooks.md"), re.MULTILINE))
    assert specs, "no hook specs found"
    assert sorted(specs - sections) == [], "hooks without a section in docs/plugins/hooks.md"
    assert sorted(sections - specs) == [], "sections in docs/plugins/hooks.md for hooks that do not exist"


def test_every_setting_is_in_the_operator_guide() -> None:
    names = set(re.findall(r"\bSCRM_[A-Z0-9_]+\b", (SRC / "settings.py").read_text(encoding="utf-8")))
    guide = doc("operator-guide.md")
    assert "SCRM_DATABASE_URL" in names
    assert sorted(name for name in names if f"`{name}`" not in guide) == []


def problem_kinds() -> set[str]:
    kinds = set(_STATUS_KINDS.values())
    for path in SRC.rglob("*.py"):
        for match in KIND.finditer(path.read_text(encoding="utf-8")):
            kinds.add(next(group for group in match.groups() if group))
    return kinds


def test_every_problem_kind_is_in_the_user_guide() -> None:
    kinds = problem_kinds()
    assert {"not-found", "validation-error", "csv-header", "internal-error"} <= kinds
    guide = doc("user-guide.md")
    assert sorted(kind for kind in kinds if f"| `{kind}` |" not in guide) == []


def cli_commands(group: click.Group, prefix: str) -> Iterator[str]:
    for name, command in sorted(group.commands.items()):
        if command.hidden:
            continue
        path = f"{prefix} {name}"
        yield path
        if isinstance(command, click.Group):
            yield from cli_commands(command, path)


def test_every_cli_command_is_documented() -> None:
    text = "\n".join(path.read_text(encoding="utf-8") for path in DOCS.rglob("*.md"))
    commands = list(cli_commands(main, "scrm"))
    assert "scrm keys create" in commands
    assert [c for c in commands if not re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)] == []


def core_routes() -> Iterator[tuple[str, str, str]]:
    """(method, path, scope) of every core route, with path parameters written ``{name}``."""
    for controller in CORE_CONTROLLERS:
        attributes = vars(controller)
        for handler in attributes.values():
            if not isinstance(handler, HTTPRouteHandler):
                continue
            for sub in handler.paths:
                path = (API_PREFIX + attributes["path"]).rstrip("/") + ("" if sub == "/" else sub)
                path = re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
                for method in sorted(handler.http_methods):
                    yield method, path, handler.opt["scope"]


def test_every_core_route_is_in_the_api_reference() -> None:
    reference = doc("api.md")
    routes = list(core_routes())
    assert ("GET", "/api/v1/members/{member_id}", "members:read") in routes
    assert [r for r in routes if f"| {r[0]} | `{r[1]}` | `{r[2]}` |" not in reference] == []


@pytest.mark.parametrize(
    "page",
    [
        *sorted(p.relative_to(ROOT).as_posix() for p in DOCS.rglob("*.md")),
        *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "examples").glob("**/README.md")),
    ],
)
def test_relative_links_resolve(page: str) -> None:
    path = ROOT / page
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8"))
    local = [t for t in targets if "://" not in t and not t.startswith("mailto:")]
    generated = {DOCS / name for name in GENERATED_PAGES}  # written by docs_hooks/reference.py at build time
    assert [t for t in local if not (path.parent / t).exists() and (path.parent / t).resolve() not in generated] == []


def test_example_plugin_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example registers cleanly: the loader's rules hold and its routes use its own scopes."""
    entry_points = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"]
    [(name, module_name)] = entry_points["scrm"].items()
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    module = importlib.import_module(module_name)
    manager = PluginManager()
    loaded = manager.register(module, distribution="scrm-notes", entry_name=name)
    manager.check_pending()
    assert loaded.app_config is not None
    routes = manager.answers("scrm_routes", "routes", lambda routes: isinstance(routes, list))[name]
    assert {handler.opt["scope"] for handler in routes} <= set(loaded.manifest.scopes)
    for path in EXAMPLE.rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


def test_the_site_builds_strictly_with_the_generated_references(tmp_path: Path) -> None:
    """``mkdocs build --strict`` (what ``./dev docs`` serves): every page in the navigation, no broken
    link or anchor, and the hook and API references generated from the code."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    hooks_page = (tmp_path / "site" / "reference" / "hooks" / "index.html").read_text(encoding="utf-8")
    specs = [name for name, value in vars(hookspecs).items() if name.startswith("scrm_") and callable(value)]
    assert [name for name in specs if f'id="{name}"' not in hooks_page] == []
    api_page = (tmp_path / "site" / "reference" / "openapi" / "index.html").read_text(encoding="utf-8")
    for operation_id in ("createMember", "recordEvents", "pointsGetAccount", "lotteryDraw"):
        assert f'id="{operation_id}"' in api_page
    assert "Create a member" in api_page
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")} | set(GENERATED_PAGES)
    assert sorted(page for page in pages if page not in nav) == [], "pages missing from the nav in mkdocs.yml"
