"""The birthday-greeting example (examples/birthday-plugin, grown from ``scrm plugin new``) installs
next to the core, the points plugin and the console in a fresh virtual environment and passes its own tests there,
on this run's engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ROOT
from test_plugin_kit import fresh_venv, plugin_test_env, run_its_tests

EXAMPLE = ROOT / "examples" / "birthday-plugin"


@pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv")
def test_the_birthday_plugin_passes_its_tests_installed_with_the_core_and_points(tmp_path: Path) -> None:
    plugin = tmp_path / "birthday-plugin"
    shutil.copytree(EXAMPLE, plugin, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.egg-info"))
    venv = fresh_venv(tmp_path, plugin, ROOT / "plugins" / "points", ROOT / "web")
    tests = run_its_tests(venv, plugin, plugin_test_env())
    assert "8 passed" in tests.stdout
