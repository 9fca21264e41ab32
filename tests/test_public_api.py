"""The public API is the whole contract: the console (scrm-web), the first-party plugins, the test
plugin and the example plugin import ``scrm`` — what ``core/src/scrm/__init__.py`` re-exports —
and never one of the core's private modules, so the core can change those without breaking them.
And every name ``scrm.__all__`` promises is there."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import scrm

ROOT = Path(__file__).resolve().parents[1]
#: the code held to the public API: the console, the first-party plugins, and the plugins authors copy
SCANNED = (
    ROOT / "web" / "src",
    *sorted((ROOT / "plugins").glob("*/src")),
    ROOT / "tests" / "testplugin",
    ROOT / "examples",
)
#: the core's modules besides ``scrm`` that may be imported, each only where it is meant for: the
#: pytest plugin, in a plugin's tests
ALLOWED_IN_TESTS = frozenset({"scrm.testing"})
PUBLIC = frozenset(scrm.__all__)


def in_tests(path: Path) -> bool:
    return "tests" in path.parts or path.name.startswith("test_") or path.name == "conftest.py"


def private_uses(source: str, path: Path) -> Iterator[tuple[int, str]]:
    """Each use of the core that goes past its public API, as (line, what): an import of a
    ``scrm.<module>`` (but the allowed ones), a name ``scrm`` does not export imported from it, or
    one reached as an attribute (``scrm.kernel.Kernel``)."""
    allowed = ALLOWED_IN_TESTS if in_tests(path) else frozenset()
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            if node.module == "scrm":
                modules += [f"scrm.{alias.name}" for alias in node.names if alias.name not in PUBLIC]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "scrm":
            modules = [] if node.attr in PUBLIC else [f"scrm.{node.attr}"]
        else:
            continue
        for module in modules:
            if module.startswith("scrm.") and module not in allowed:
                yield node.lineno, module


def scanned_files() -> list[Path]:
    return sorted(path for folder in SCANNED for path in folder.rglob("*.py"))


def test_the_console_and_plugins_use_only_the_public_api() -> None:
    files = scanned_files()
    assert ROOT / "web/src/scrm_web/pages/members.py" in files
    assert ROOT / "plugins/lottery/src/scrm_lottery/plugin.py" in files
    assert ROOT / "examples/third-party-plugin/tests/test_notes.py" in files
    found = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in files
        for line, module in private_uses(path.read_text(encoding="utf-8"), path)
    ]
    assert not found, "private core modules used (import what they need from `scrm`):\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "path", "found"),
    [
        ("import scrm\nfrom scrm import Kernel, hookimpl\n", "plugin.py", []),
        ("import scrm.kernel\n", "plugin.py", [(1, "scrm.kernel")]),
        ("from scrm.services.members import MemberFilter\n", "plugin.py", [(1, "scrm.services.members")]),
        ("from scrm import kernel, Kernel\n", "plugin.py", [(1, "scrm.kernel")]),
        ("import scrm\n\nx = scrm.services.members\n", "plugin.py", [(3, "scrm.services")]),
        ("from scrm.hookspecs import HOOKS\n", "plugin.py", [(1, "scrm.hookspecs")]),
        ("from scrm.testing import Tenant\n", "tests/test_notes.py", []),
        ("from scrm.testing import Tenant\n", "src/scrm_notes/plugin.py", [(1, "scrm.testing")]),
        ("from scrm.cli import main\n", "tests/test_notes.py", [(1, "scrm.cli")]),
        ("import scrmx.kernel\nfrom . import scrm\n", "plugin.py", []),
    ],
)
def test_the_scan_finds_every_way_past_the_public_api(source: str, path: str, found: list[tuple[int, str]]) -> None:
    assert list(private_uses(source, Path(path))) == found


def test_every_public_name_imports() -> None:
    assert len(PUBLIC) == len(scrm.__all__), "a name is listed twice in scrm.__all__"
    missing = [name for name in scrm.__all__ if not hasattr(scrm, name)]
    assert not missing, f"scrm.__all__ lists names scrm does not have: {missing}"


def test_every_public_name_is_in_the_author_guide() -> None:
    guide = "".join(page.read_text(encoding="utf-8") for page in (ROOT / "docs" / "plugins").glob("*.md"))
    undocumented = [name for name in scrm.__all__ if not re.search(rf"\bscrm\.{name}\b", guide)]
    assert not undocumented, f"document these in docs/plugins/authoring.md (The public API): {undocumented}"
