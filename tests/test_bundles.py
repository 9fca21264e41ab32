"""Bundles: parsed and checked, planned against a workspace (every plugin's settings checked against
its schema before anything is written), applied idempotently, exported; the example retail bundle
applies; and the real ``scrm bundle`` command prints the plan, applies, then says nothing changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from scrm import bundles
from scrm.kernel import Kernel

EXAMPLE = ROOT / "examples" / "retail-bundle" / "retail.toml"
SCRIPT = Path(sys.executable).with_name("scrm")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "scrm.cli"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("plugins = 3", "not a bundle"),
        ("[plugins.points]\nversion = 'soon'", "plugins.points.version: 'soon' is not a version range"),
        ("[plugins.Points]", "plugins.Points: not a plugin name"),
        ("[plugins.points]\ncolour = 'red'", "not a bundle"),
        ("[plugins.points", "not TOML"),
    ],
)
def test_a_bad_bundle_is_refused_saying_where(text: str, message: str) -> None:
    with pytest.raises(bundles.BundleError, match=message):
        bundles.parse(text)


def test_what_needs_installing() -> None:
    wanted = bundles.parse("[plugins.points]\nversion = '>=0.1,<1'\n[plugins.stamps]\n[plugins.polls]\nversion = '>=2'")
    assert bundles.to_install(wanted, {"points": "0.1.0", "polls": "0.1.0"}) == {"stamps": "", "polls": ">=2"}


async def test_the_example_applies_once_then_changes_nothing(kernel: Kernel, tenant: Any) -> None:
    ws = await kernel.workspaces.ref(tenant.slug)
    retail = bundles.parse(EXAMPLE.read_text())
    assert bundles.to_install(retail, bundles.installed_versions()) == {}
    steps = await bundles.plan(kernel, ws, retail)
    assert [(s.plugin, s.action) for s in steps] == [
        ("lottery", "enable"),
        ("points", "enable"),
        ("polls", "enable"),
        ("webhooks", "enable"),
    ]
    assert "asks for webhooks:read, webhooks:write" in str(steps[-1])
    await bundles.apply(kernel, ws, retail, steps)
    ws = await kernel.workspaces.ref(tenant.slug)
    assert {"lottery", "points", "polls", "webhooks"} <= ws.enabled_plugins
    assert (await kernel.workspaces.plugin(ws, "webhooks")).settings == {"retry_hours": 48}
    again = await bundles.plan(kernel, ws, retail)
    assert {s.action for s in again} == {"unchanged"}
    # a changed setting is a configure step, naming the setting
    changed = bundles.parse(EXAMPLE.read_text().replace("retry_hours = 48", "retry_hours = 12"))
    assert [str(s) for s in await bundles.plan(kernel, ws, changed) if s.action != "unchanged"] == [
        "configure webhooks: retry_hours"
    ]


async def test_a_bad_setting_stops_the_whole_bundle_before_any_change(kernel: Kernel, tenant: Any) -> None:
    ws = await kernel.workspaces.ref(tenant.slug)
    bad = bundles.parse(EXAMPLE.read_text().replace("retry_hours = 48", "retry_hours = 500"))
    with pytest.raises(bundles.BundleError, match=r"webhooks: settings.retry_hours"):
        await bundles.plan(kernel, ws, bad)
    assert (await kernel.workspaces.ref(tenant.slug)).enabled_plugins == frozenset()


async def test_export_writes_what_the_workspace_runs(kernel: Kernel, tenant: Any) -> None:
    await tenant.enable("webhooks", {"retry_hours": 6})
    await tenant.enable("polls")
    ws = await kernel.workspaces.ref(tenant.slug)
    text = await bundles.export(kernel, ws)
    exported = bundles.parse(text)
    assert sorted(exported.plugins) == ["polls", "webhooks"]
    assert exported.plugins["webhooks"].settings == {"retry_hours": 6}
    assert exported.plugins["polls"].version == ">=0.1.0,<1"
    # applying its own export to the workspace changes nothing
    assert {s.action for s in await bundles.plan(kernel, ws, exported)} == {"unchanged"}


def test_the_command_plans_applies_and_then_has_nothing_to_do(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCRM_", "PICCOLO_"))}
    env |= {"HOME": str(tmp_path), "SCRM_DATA_DIR": str(tmp_path / "data")}

    def scrm(*args: str) -> str:
        result = subprocess.run(
            [*COMMAND, *args], env=env, capture_output=True, text=True, timeout=180, check=False, cwd=tmp_path
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    scrm("migrate")
    scrm("workspaces", "create", "Acme Coffee", "--slug", "acme")
    dry = scrm("bundle", "apply", str(EXAMPLE), "--workspace", "acme", "--dry-run")
    assert "plan for acme (dry run: nothing changed)" in dry
    assert "enable webhooks: asks for webhooks:read, webhooks:write (with its settings)" in dry
    applied = scrm("bundle", "apply", str(EXAMPLE), "--workspace", "acme")
    assert "enable points" in applied
    assert "nothing to change" not in applied
    again = scrm("bundle", "apply", str(EXAMPLE), "--workspace", "acme")
    assert "nothing to change: acme already runs this bundle" in again
    exported = scrm("bundle", "export", "--workspace", "acme")
    assert bundles.parse(exported).plugins["webhooks"].settings == {"retry_hours": 48}
