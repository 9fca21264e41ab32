"""The plugin catalogue, end to end with the real ``scrm`` command: wheels built here from the author
kit's template (``uv build``), an index built from them, then search, info, install (through pip, from
the wheel directory, offline) and enable; incompatible, blocklisted, tampered and unverified-when-
required installs refused."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from scrm import catalogue
from scrm.kit import scaffold

SCRIPT = Path(sys.executable).with_name("scrm")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "scrm.cli"]
pytestmark = pytest.mark.engine_independent
UV = shutil.which("uv") or "uv"


def _wheel(work: Path, dist: Path, name: str, version: str, core: str = ">=0.1,<1") -> None:
    """Scaffold plugin ``name`` with the kit, set its version and core range, build its wheel."""
    source = work / f"{name}-{version}"
    scaffold(name, source)
    pyproject = source / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "0.1.0"', f'version = "{version}"'))
    plugin = source / "src" / f"scrm_{name}" / "plugin.py"
    text = (
        plugin.read_text()
        .replace('version="0.1.0"', f'version="{version}"')
        .replace('core=">=0.1,<1"', f'core="{core}"')
    )
    plugin.write_text(text)
    subprocess.run([UV, "build", "--wheel", "--offline", "-q", "-o", str(dist), str(source)], check=True, timeout=120)


@dataclass
class Shop:
    """A catalogue directory of wheels and a home for the ``scrm`` commands run against it."""

    dist: Path
    home: Path

    def run(
        self, *args: str, ok: bool = True, python: Path | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """``scrm ARGS`` (with ``python``: as that interpreter's ``-m scrm.cli``)."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SCRM_", "PICCOLO_"))}
        base |= {"HOME": str(self.home), "SCRM_DATA_DIR": str(self.home / "data")} | env
        command = [str(python), "-m", "scrm.cli"] if python else COMMAND
        result = subprocess.run(
            [*command, *args], env=base, capture_output=True, text=True, timeout=180, check=False, cwd=self.home
        )
        if ok:
            assert result.returncode == 0, f"scrm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        else:
            assert result.returncode != 0, result.stdout
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def index(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.dist / "catalogue.json").read_text())
        return loaded


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    work = tmp_path_factory.mktemp("catalogue-src")
    dist = tmp_path_factory.mktemp("catalogue-dist")
    _wheel(work, dist, "stamps", "0.1.0")
    _wheel(work, dist, "stamps", "0.2.0")  # to be blocklisted
    _wheel(work, dist, "stamps", "0.3.0", core=">=99")  # for a future core
    _wheel(work, dist, "badges", "1.0.0")  # never verified
    shop = Shop(dist=dist, home=tmp_path_factory.mktemp("catalogue-home"))
    out = shop.run("catalogue", "build", str(dist), "--verified", "stamps", "--name", "Agency picks").stdout
    assert "2 plugin(s), 4 release(s)" in out
    index = shop.index()
    index["blocklist"] = [{"plugin": "stamps", "versions": "==0.2.0", "reason": "loses stamps on erasure"}]
    (dist / "catalogue.json").write_text(json.dumps(index))
    return shop


def test_the_index_follows_its_schema_and_describes_each_release(shop: Shop) -> None:
    index = shop.index()
    jsonschema.validate(index, catalogue.schema())
    assert index["format"] == "scrm-catalogue/1"
    assert index["name"] == "Agency picks"
    plugins = {p["name"]: p for p in index["plugins"]}
    assert (plugins["stamps"]["verified"], plugins["badges"].get("verified", False)) == (True, False)
    releases = {r["version"]: r for r in plugins["stamps"]["releases"]}
    assert sorted(releases) == ["0.1.0", "0.2.0", "0.3.0"]
    assert releases["0.3.0"]["core"] == ">=99"  # from the plugin's own manifest
    assert releases["0.1.0"]["scopes"] == ["stamps:read"]
    wheel = shop.dist / releases["0.1.0"]["wheel"]
    assert releases["0.1.0"]["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert plugins["stamps"]["distribution"] == "scrm-stamps"


def test_rebuilding_keeps_the_blocklist_and_verified_flags(shop: Shop, tmp_path: Path) -> None:
    copy = tmp_path / "catalogue.json"
    shutil.copy(shop.dist / "catalogue.json", copy)
    shop.run("catalogue", "build", str(shop.dist), "--output", str(copy))
    rebuilt = json.loads(copy.read_text())
    assert rebuilt["blocklist"] == shop.index()["blocklist"]
    assert [p.get("verified", False) for p in rebuilt["plugins"]] == [False, True]  # badges, stamps


def test_search_and_info_show_permissions_and_what_can_be_installed(shop: Shop) -> None:
    found = shop.run("plugins", "search", "--catalogue", str(shop.dist)).stdout
    assert "stamps\t0.3.0\tverified\tstamps:read" in found
    assert "badges\t1.0.0\tunverified" in found
    assert shop.run("plugins", "search", "nothing-like-it", SCRM_CATALOGUE=str(shop.dist)).stdout.strip() == (
        "no plugin matches"
    )
    info = shop.run("plugins", "info", "stamps", "--catalogue", str(shop.dist / "catalogue.json")).stdout
    assert "0.3.0\tcore >=99\tincompatible with scrm" in info
    assert "0.2.0\tcore >=0.1,<1\tBLOCKLISTED: loses stamps on erasure" in info
    assert "0.1.0\tcore >=0.1,<1\tinstallable" in info
    assert "permissions: stamps:read" in info


def _install(shop: Shop, target: Path, *args: str, ok: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
    return shop.run(
        "plugins",
        "install",
        *args,
        "--catalogue",
        str(shop.dist),
        "--offline",
        "--no-deps",
        "--target",
        str(target),
        ok=ok,
        **env,
    )


def test_install_then_enable_from_the_local_catalogue(shop: Shop, tmp_path: Path) -> None:
    target = tmp_path / "site"
    out = _install(shop, target, "stamps").stdout
    assert "installed scrm-stamps 0.1.0 (sha256 checked)" in out  # 0.3.0 does not fit, 0.2.0 is blocked
    assert "stamps:read" in out
    assert (target / "scrm_stamps" / "plugin.py").is_file()
    assert (target / "scrm_stamps-0.1.0.dist-info").is_dir()
    # a process that has the installed plugin on its path finds it, migrates it and enables it
    env = {"PYTHONPATH": str(target), "SCRM_DATA_DIR": str(tmp_path / "data")}
    shop.run("migrate", **env)
    shop.run("workspaces", "create", "Coffee Shop", "--slug", "coffee", **env)
    listed = shop.run("plugins", "list", **env).stdout
    assert "stamps\t0.1.0\tscrm-stamps\tstamps:read" in listed
    refused = shop.run("plugins", "enable", "stamps", "--workspace", "coffee", ok=False, **env)
    assert "stamps asks for these permissions: stamps:read" in refused.stdout  # asked, not confirmed
    enabled = shop.run("plugins", "enable", "stamps", "--workspace", "coffee", "--yes", **env).stdout
    assert "stamps enabled in coffee" in enabled
    shop.run("plugins", "disable", "stamps", "--workspace", "coffee", **env)


@pytest.mark.parametrize(
    ("version", "reason"),
    [("0.2.0", "0.2.0 is blocklisted (loses stamps on erasure)"), ("0.3.0", "0.3.0 needs scrm >=99, this is")],
)
def test_blocklisted_and_incompatible_versions_are_refused(
    shop: Shop, tmp_path: Path, version: str, reason: str
) -> None:
    refused = _install(shop, tmp_path / "site", "stamps", "--version", version, ok=False)
    assert reason in refused.stderr
    assert not (tmp_path / "site").exists()


def test_a_tampered_wheel_is_refused(shop: Shop, tmp_path: Path) -> None:
    tampered = tmp_path / "dist"
    shutil.copytree(shop.dist, tampered)
    wheel = tampered / "scrm_badges-1.0.0-py3-none-any.whl"
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    refused = shop.run(
        "plugins",
        "install",
        "badges",
        "--catalogue",
        str(tampered),
        "--offline",
        "--no-deps",
        "--target",
        str(tmp_path / "site"),
        ok=False,
    )
    assert "does not match the catalogue's checksum" in refused.stderr
    assert not (tmp_path / "site").exists()


def test_unverified_plugins_are_refused_when_the_deployment_requires_verified_ones(shop: Shop, tmp_path: Path) -> None:
    refused = _install(shop, tmp_path / "a", "badges", ok=False, SCRM_PLUGINS_VERIFIED_ONLY="1")
    assert "badges is not verified" in refused.stderr
    assert "installed scrm-stamps" in _install(shop, tmp_path / "b", "stamps", SCRM_PLUGINS_VERIFIED_ONLY="1").stdout
    assert "installed scrm-badges 1.0.0" in _install(shop, tmp_path / "c", "badges").stdout


def test_a_broken_catalogue_is_one_clear_line(shop: Shop, tmp_path: Path) -> None:
    bad = tmp_path / "catalogue.json"
    bad.write_text(
        json.dumps({"format": "scrm-catalogue/1", "plugins": [{"name": "X", "distribution": "x", "releases": []}]})
    )
    refused = shop.run("plugins", "search", "--catalogue", str(bad), ok=False)
    assert "is not a valid catalogue: at plugins/0/name" in refused.stderr
    missing = shop.run("plugins", "info", "stamps", "--catalogue", str(tmp_path / "nowhere.json"), ok=False)
    assert "cannot read" in missing.stderr
    unknown = shop.run("plugins", "info", "nope", "--catalogue", str(shop.dist), ok=False)
    assert "the catalogue has no plugin 'nope'" in unknown.stderr


def test_a_bundle_dry_run_plans_installing_from_the_catalogue(shop: Shop, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.toml"
    bundle.write_text('[plugins.stamps]\nversion = ">=0.1,<0.3"\n\n[plugins.polls]\n')
    env = {"SCRM_DATA_DIR": str(tmp_path / "data"), "SCRM_CATALOGUE": str(shop.dist)}
    shop.run("migrate", **env)
    shop.run("workspaces", "create", "Boutique", "--slug", "boutique", **env)
    plan = shop.run("bundle", "apply", str(bundle), "--workspace", "boutique", "--dry-run", **env).stdout
    assert "install stamps: 0.1.0 from the catalogue, asks for stamps:read" in plan  # 0.2.0 is blocklisted
    assert "enable stamps: after it is installed" in plan
    assert "enable polls: asks for polls:read, polls:write, polls:admin" in plan
    # nothing was installed or enabled
    assert "stamps" not in shop.run("plugins", "list", **env).stdout
    missing = shop.run(
        "bundle",
        "apply",
        str(bundle),
        "--workspace",
        "boutique",
        "--dry-run",
        ok=False,
        SCRM_DATA_DIR=str(tmp_path / "data"),
    )
    assert "name a catalogue" in missing.stderr


def workspace_venv(where: Path) -> Path:
    """A virtual environment of its own (what ``bundle apply`` installs into) that also sees this one's
    packages — scrm and the first-party plugins, through a ``.pth`` file — so that nothing needs
    downloading; its python."""
    subprocess.run([UV, "venv", "-q", "--python", sys.executable, str(where)], check=True, timeout=60)
    python = where / "bin" / "python"
    own, ours = (
        subprocess.run(
            [str(p), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for p in (python, Path(sys.executable))
    )
    (Path(own) / "scrm_workspace.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return python


def test_a_bundle_installs_from_the_catalogue_into_a_venv_enables_and_configures(shop: Shop, tmp_path: Path) -> None:
    """The real install path of ``scrm bundle apply``: stamps, from the local catalogue's wheel, is
    installed by pip (uv) into the venv the command runs in, migrated, enabled with its settings next
    to a first-party plugin checked against its settings schema; a second run changes nothing."""
    python = workspace_venv(tmp_path / "venv")
    bundle = tmp_path / "bundle.toml"
    bundle.write_text(
        '[plugins.stamps]\nversion = ">=0.1,<0.3"\nsettings = { card_size = 8 }\n\n'
        "[plugins.webhooks]\nsettings = { retry_hours = 48 }\n"
    )
    env = {"SCRM_DATA_DIR": str(tmp_path / "data"), "SCRM_CATALOGUE": str(shop.dist)}
    shop.run("migrate", python=python, **env)
    shop.run("workspaces", "create", "Boutique", "--slug", "boutique", python=python, **env)
    apply = ("bundle", "apply", str(bundle), "--workspace", "boutique", "--offline", "--no-deps")
    out = shop.run(*apply, python=python, **env).stdout
    assert "install stamps: 0.1.0 from the catalogue, asks for stamps:read" in out  # 0.2.0 is blocklisted
    assert "enable stamps: asks for stamps:read (with its settings)" in out
    assert "enable webhooks: asks for webhooks:read, webhooks:write (with its settings)" in out
    installed = list((tmp_path / "venv").glob("lib/python*/site-packages/scrm_stamps-0.1.0.dist-info"))
    assert len(installed) == 1  # in the venv's own site-packages, not in the environment it sees
    with sqlite3.connect(tmp_path / "data" / "scrm.sqlite3") as db:  # the embedded database it wrote
        rows = db.execute(
            "SELECT p.plugin, p.enabled, p.settings FROM scrm_workspace_plugin p "
            "JOIN scrm_workspace w ON w.id = p.workspace WHERE w.slug = 'boutique' ORDER BY p.plugin"
        ).fetchall()
    assert [(name, bool(on), json.loads(settings)) for name, on, settings in rows] == [
        ("stamps", True, {"card_size": 8}),
        ("webhooks", True, {"retry_hours": 48}),
    ]
    again = shop.run(*apply, python=python, **env).stdout
    assert "nothing to change: boutique already runs this bundle" in again
