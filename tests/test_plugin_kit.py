"""The plugin author kit: ``scrm plugin new NAME`` writes a plugin that installs into a fresh virtual
environment next to the core, passes its own tests there (on this run's engine), and — served by
``scrm serve`` from that environment — is enabled through the API and answers its route."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from conftest import BACKEND, PG_URL, ROOT
from scrm.cli import main
from scrm.kit import scaffold

UV = shutil.which("uv")


def test_the_command_writes_a_plugin_in_the_toolkits_shape(tmp_path: Path) -> None:
    target = tmp_path / "scrm-greeter"
    result = CliRunner().invoke(main, ["plugin", "new", "greeter", "--directory", str(target)])
    assert result.exit_code == 0, result.output
    package = target / "src" / "scrm_greeter"
    for part in (
        "pyproject.toml",
        "tests/conftest.py",
        "tests/test_greeter.py",
        "tests/test_greeter_console.py",
        "src/scrm_greeter/plugin.py",
        "src/scrm_greeter/tables.py",
        "src/scrm_greeter/routes.py",
        "src/scrm_greeter/console.py",
        "src/scrm_greeter/templates/records.html",
        "src/scrm_greeter/templates/panel.html",
        "src/scrm_greeter/translations/zh_CN/LC_MESSAGES/messages.po",
    ):
        assert (target / part).is_file(), part
    assert len(list((package / "migrations").glob("greeter_*.py"))) == 1
    assert 'greeter = "scrm_greeter.plugin"' in (target / "pyproject.toml").read_text()
    plugin = (package / "plugin.py").read_text()
    for hook in ("scrm_manifest", "scrm_tables", "scrm_routes", "scrm_console_pages", "scrm_member_panels"):
        assert f"def {hook}(" in plugin
    assert "async def scrm_event_recorded(" in plugin
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(target)],  # with the plugin's own settings
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout
    again = CliRunner().invoke(main, ["plugin", "new", "greeter", "--directory", str(target)])
    assert again.exit_code != 0
    assert "not empty" in again.output
    bad = CliRunner().invoke(main, ["plugin", "new", "Bad-Name", "--directory", str(tmp_path / "x")])
    assert bad.exit_code != 0
    assert "lowercase" in bad.output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def fresh_venv(tmp: Path, plugin: Path, *others: Path) -> Path:
    """A new virtual environment with the core (from this checkout), ``others`` (such as a first-party
    plugin) and the plugin with its test extra, at the versions this workspace locks."""
    assert UV is not None
    venv = tmp / "venv"
    subprocess.run([UV, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    constraints = tmp / "constraints.txt"
    exported = subprocess.run(
        [UV, "export", "-q", "--frozen", "--no-hashes", "--no-emit-workspace", "--all-packages", "--no-dev"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    constraints.write_text(exported.stdout)
    python = venv / "bin" / "python"
    install = [UV, "pip", "install", "-q", "--python", str(python), "-c", str(constraints)]
    subprocess.run([*install, str(ROOT / "core"), *map(str, others), f"{plugin}[test]"], check=True, timeout=300)
    return venv


def plugin_test_env() -> dict[str, str]:
    """This process's environment for a plugin's own tests: this run's engine, nothing of scrm's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCRM_", "PICCOLO_", "VIRTUAL_ENV"))}
    return env | {"SCRM_TEST_DATABASE": BACKEND, "SCRM_TEST_PG_URL": PG_URL}


def run_its_tests(venv: Path, plugin: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the plugin's own test suite with the venv's Python; fails the test when it fails."""
    tests = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=plugin,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    return tests


@pytest.mark.skipif(UV is None, reason="needs uv")
def test_a_new_plugin_installs_passes_its_tests_and_is_enabled_through_the_api(tmp_path: Path) -> None:
    plugin = tmp_path / "scrm-hello"
    scaffold("hello", plugin, "Hello")
    venv = fresh_venv(tmp_path, plugin, ROOT / "web")  # with the console: its page and panel are tested too
    env = plugin_test_env()
    tests = run_its_tests(venv, plugin, env)
    assert "6 passed" in tests.stdout

    scrm = str(venv / "bin" / "scrm")
    env = {k: v for k, v in env.items() if not k.startswith("SCRM_")}
    env |= {"SCRM_DATA_DIR": str(tmp_path / "data"), "SCRM_SECRET_KEY": "kit-test-" + "k" * 40}
    subprocess.run([scrm, "migrate"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run([scrm, "workspaces", "create", "Acme"], env=env, check=True, capture_output=True, timeout=60)
    created = subprocess.run(
        [scrm, "keys", "create", "--workspace", "acme"], env=env, check=True, capture_output=True, text=True
    )
    key = created.stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [scrm, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10) as api:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if api.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "scrm serve did not start"
                time.sleep(0.2)
            member = api.post("/api/v1/members", json={"external_id": "m-1"}).json()
            route = f"/api/v1/hello/members/{member['id']}/records"
            assert api.get(route).json()["type"] == "urn:scrm:problem:plugin-not-enabled"
            enabled = api.post("/api/v1/plugins", json={"name": "hello", "enabled": True})
            assert enabled.status_code == 200, enabled.text
            assert enabled.json()["enabled"] is True
            answer = api.get(route)
            assert answer.status_code == 200, answer.text
            assert set(answer.json()) == {"items", "next_cursor"}
    finally:
        server.terminate()
        server.wait(timeout=30)
