"""The ``scrm`` command, run as the real console script in a subprocess.

Runs against an embedded SQLite database in a fresh data directory, or — with
``SCRM_TEST_DATABASE=postgres`` — against a PostgreSQL database made (and dropped) here.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import BACKEND, PG_URL
from scrm import create_app
from scrm.kernel import Kernel
from scrm.piccolo_app import APP_CONFIG
from scrm.settings import DatabaseURL, Settings
from scrm.testing import pg_admin

SCRIPT = Path(sys.executable).with_name("scrm")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "scrm.cli"]
SECRET = "cli-test-secret-" + "s" * 32


@dataclass
class Cli:
    env: dict[str, str]
    backend: str

    def run(
        self, *args: str, check: bool = True, input: str | None = None, **extra_env: str
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.env, **extra_env}
        result = subprocess.run(
            [*COMMAND, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=env["HOME"],
            input=input,
        )
        if check:
            assert result.returncode == 0, f"scrm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            assert "Traceback" not in result.stderr, result.stderr
        return result

    def last_line(self, *args: str) -> str:
        lines = self.run(*args).stdout.strip().splitlines()
        assert lines, f"scrm {' '.join(args)} printed nothing"
        return lines[-1].strip()

    def scrm_env(self) -> dict[str, str]:
        return {k: v for k, v in self.env.items() if k.startswith("SCRM_")}


def _base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCRM_", "PICCOLO_"))}
    env["HOME"] = str(home)
    return env


@pytest.fixture(scope="module", params=[BACKEND])
async def cli(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cli]:
    """A migrated database for the CLI, on the backend this run uses."""
    home = tmp_path_factory.mktemp("cli-home")
    env = _base_env(home)
    env["SCRM_DATA_DIR"] = str(home / "data")
    name = None
    if request.param == "postgres":
        name = f"scrm_cli_{secrets.token_hex(4)}"
        await pg_admin(f'CREATE DATABASE "{name}"')
        base = DatabaseURL.parse(PG_URL)
        env["SCRM_DATABASE_URL"] = f"postgresql://{base.user}@{base.host}:{base.port}/{name}"
        env["SCRM_SECRET_KEY"] = SECRET
    cli = Cli(env=env, backend=request.param)
    try:
        result = cli.run("migrate")
        assert result.stdout.strip().splitlines()[-1] == "migrations applied"
        yield cli
    finally:
        if name:
            await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def restore_binding(kernel: Kernel) -> Iterator[None]:
    """A second kernel in this process rebinds piccolo's tables; point them back afterwards."""
    yield
    kernel.db.bind([APP_CONFIG, *kernel.plugins.app_configs()])


@asynccontextmanager
async def api(cli: Cli) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process app on the CLI's database, with the same settings the command used."""
    settings = Settings.from_env(cli.scrm_env())
    kernel = Kernel(settings)
    await kernel.start()
    try:
        app = create_app(kernel=kernel, configure_logs=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cli.test") as client:
            yield client
    finally:
        await kernel.stop()


def bearer(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed with exactly one line on stderr and no traceback; returns that line."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- the happy path ---------------------------------------------------------------------------


def test_migrate_is_idempotent(cli: Cli) -> None:
    result = cli.run("migrate")
    assert result.stdout.strip().splitlines()[-1] == "migrations applied"
    if cli.backend == "sqlite":
        assert (Path(cli.env["SCRM_DATA_DIR"]) / "scrm.sqlite3").is_file()
        key_file = Path(cli.env["SCRM_DATA_DIR"]) / "secret_key"
        assert key_file.stat().st_mode & 0o777 == 0o600


async def test_workspace_and_key_work_against_the_api(cli: Cli, restore_binding: None) -> None:
    assert cli.last_line("workspaces", "create", "Acme Coffee") == "acme-coffee"
    listing = cli.run("workspaces", "list").stdout
    assert any(line.split("\t")[0] == "acme-coffee" for line in listing.splitlines()), listing

    key = cli.last_line("keys", "create", "--workspace", "acme-coffee", "--scopes", "members:read,members:write")
    assert key.startswith("scrm_")
    assert " " not in key
    async with api(cli) as client:
        created = await client.post(
            "/api/v1/members", json={"external_id": "cli-1", "display_name": "From the CLI"}, headers=bearer(key)
        )
        assert created.status_code == 201, created.text
        listed = await client.get("/api/v1/members", headers=bearer(key))
        assert listed.status_code == 200, listed.text
        assert [m["external_id"] for m in listed.json()["items"]] == ["cli-1"]
        # the key has exactly the scopes asked for
        denied = await client.get("/api/v1/tags", headers=bearer(key))
        assert denied.status_code == 403
        assert denied.json()["type"] == "urn:scrm:problem:missing-scope"
        me = await client.get("/api/v1/keys", headers=bearer(key))
        assert me.status_code == 403


async def test_operator_key(cli: Cli, restore_binding: None) -> None:
    cli.run("workspaces", "create", "Operator Land", "--slug", "operator-land", "--time-zone", "Asia/Shanghai")
    key = cli.last_line("keys", "create", "--operator")
    assert key.startswith("scrm_")
    async with api(cli) as client:
        response = await client.get("/api/v1/workspaces", headers=bearer(key))
        assert response.status_code == 200, response.text
        slugs = {w["slug"]: w for w in response.json()}
        assert slugs["operator-land"]["time_zone"] == "Asia/Shanghai"
        # an operator key names the workspace it acts in
        missing = await client.get("/api/v1/members", headers=bearer(key))
        assert missing.status_code == 400
        assert missing.json()["type"] == "urn:scrm:problem:workspace-required"
        response = await client.get("/api/v1/members", headers=bearer(key, **{"X-Scrm-Workspace": "operator-land"}))
        assert response.status_code == 200, response.text
        assert response.json()["items"] == []


def test_plugins_list(cli: Cli) -> None:
    lines = cli.run("plugins", "list").stdout.strip().splitlines()
    rows = {line.split("\t")[0]: line.split("\t") for line in lines}
    assert "testplugin" in rows, lines
    _, version, distribution, scopes, description = rows["testplugin"]
    assert version == "0.1.0"
    assert distribution == "scrm-testplugin"
    assert scopes == "testplugin:read"
    assert description


def test_a_plugins_command_is_mounted_under_its_name(cli: Cli) -> None:
    listed = cli.run("--help").stdout
    assert "testplugin" in listed, listed
    cli.run("workspaces", "create", "Plugin Commands", "--slug", "plugin-cmd")
    assert cli.last_line("testplugin", "welcomes", "--workspace", "plugin-cmd") == "0 welcome note(s)"
    missing = cli.run("testplugin", "welcomes", "--workspace", "nowhere", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == ["Error: No workspace 'nowhere'"], missing.stderr
    # only the plugins SCRM_PLUGINS allows are loaded, their commands included
    hidden = cli.run("testplugin", "--help", check=False, SCRM_PLUGINS="points")
    assert hidden.returncode == 2
    assert "No such command 'testplugin'" in hidden.stderr


async def demo_event_count(client: httpx.AsyncClient, key: str) -> dict[str, int]:
    """The demo's own events per type, every page read (the plugins enabled in the demo add events
    of their own, so a page of the newest events holds a varying share of them)."""
    counts = {}
    for kind in ("checkin", "order.paid"):
        counts[kind], cursor = 0, None
        while True:
            params = {"limit": 500, "type": kind, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/v1/events", params=params, headers=bearer(key))).json()
            counts[kind] += sum(e["source"] == "demo" for e in page["items"])
            if not (cursor := page["next_cursor"]):
                break
    return counts


async def test_demo_seeds_and_prints_a_key(cli: Cli, restore_binding: None) -> None:
    result = cli.run("demo", "--no-serve", "--members", "50")
    lines = result.stdout.strip().splitlines()
    key = lines[-1].split()[-1]
    assert key.startswith("scrm_")
    assert lines[0].startswith("scrm demo — database: ")
    assert "workspace:  demo (50 members)" in result.stdout
    console = next(line for line in lines if line.strip().startswith("console:"))
    password = console.split("password '")[1].rstrip("')")
    async with api(cli) as client:
        response = await client.get("/api/v1/members", params={"limit": 500}, headers=bearer(key))
        assert response.status_code == 200, response.text
        members = response.json()["items"]
        assert len(members) == 50
        assert members[0]["external_id"] == "demo-000001"
        tags = (await client.get("/api/v1/tags", headers=bearer(key))).json()
        assert {t["group"] for t in tags} <= {"lifecycle", "interest", "tier"}
        assert sum(t["member_count"] for t in tags) >= 50
        await client.get("/console/login")  # the printed console sign-in works
        form = {"username": "demo", "password": password, "_csrf_token": client.cookies["csrftoken"]}
        assert (await client.post("/console/login", data=form)).status_code == 303
        demo_events = await demo_event_count(client, key)
        assert demo_events["checkin"] > 0
        assert demo_events["order.paid"] > 0
    # seeding again refreshes the same members rather than adding more
    key2 = cli.last_line("demo", "--no-serve", "--members", "50").split()[-1]
    assert key2 != key
    async with api(cli) as client:
        response = await client.get("/api/v1/members", params={"limit": 500}, headers=bearer(key2))
        assert len(response.json()["items"]) == 50
        assert await demo_event_count(client, key2) == demo_events
    # a re-run prints the members the workspace has, whatever --members says; the demo loads the
    # plugins a user installs, not the test suite's own
    rerun = cli.run("demo", "--no-serve", "--members", "20").stdout
    assert "workspace:  demo (50 members)" in rerun, rerun
    plugins = next(line for line in rerun.splitlines() if line.startswith("  plugins:")).split(":", 1)[1]
    assert {"lottery", "points"} <= {p.strip() for p in plugins.split(",")}, rerun
    assert "testplugin" not in plugins, rerun
    # consents were granted once, on the first run, and their chain holds
    verified = cli.run("consent", "verify", "--workspace", "demo").stdout
    assert verified.startswith("demo\tok\t"), verified
    assert "\t0 records" not in verified, verified
    # the demo's jobs ran before it exited: nothing waits in the outbox
    assert cli.run("outbox", "status").stdout.splitlines()[0] == "pending: 0 event(s) in 0 row(s); oldest: none"


async def test_operator_commands(cli: Cli, restore_binding: None) -> None:
    slug = cli.last_line("workspaces", "create", "Console Shop", "--slug", f"console-{secrets.token_hex(3)}")
    created = cli.run("operators", "create", "Ops.Lead", "--workspace", slug, "--generate-password").stdout
    assert "created operator 'ops.lead'" in created
    assert f"owner of {slug}" in created
    password = created.strip().splitlines()[-1].removeprefix("password: ")
    assert len(password) >= 10
    typed = cli.run(
        "operators",
        "create",
        "typist",
        "--workspace",
        slug,
        "--role",
        "viewer",
        input="typed password 1\ntyped password 1\n",
    )
    assert "viewer of " + slug in typed.stdout
    assert "ops.lead" in cli.run("operators", "list").stdout
    cli.run("operators", "grant", "typist", "--workspace", slug, "--role", "analyst")
    assert f"{slug}:analyst" in cli.run("operators", "list").stdout
    cli.run("operators", "revoke", "typist", "--workspace", slug)
    assert one_error_line(cli.run("operators", "revoke", "ops.lead", "--workspace", slug, check=False)).startswith(
        "Error: A workspace keeps at least one owner"
    )
    assert "already exists" in one_error_line(
        cli.run("operators", "create", "ops.lead", "--admin", "--generate-password", check=False)
    )
    assert "--workspace" in one_error_line(cli.run("operators", "create", "lonely", "--generate-password", check=False))

    async with api(cli) as client:
        await client.get("/console/login")
        form = {"username": "ops.lead", "password": password, "_csrf_token": client.cookies["csrftoken"]}
        assert (await client.post("/console/login", data=form)).status_code == 303
    changed = cli.run("operators", "password", "ops.lead", "--generate-password").stdout
    assert "sessions ended" in changed
    cli.run("operators", "disable", "ops.lead")
    listed = dict(line.split("\t", 1) for line in cli.run("operators", "list").stdout.splitlines())
    assert "\tdisabled\t" in listed["ops.lead"]
    cli.run("operators", "disable", "ops.lead", "--enable")


def test_outbox_commands(cli: Cli) -> None:
    status = cli.run("outbox", "status").stdout.splitlines()
    assert status[0].startswith("pending: ")
    assert status[1].startswith("failing: ")
    assert cli.last_line("outbox", "retry").endswith("row(s) queued for delivery")


def test_worker_needs_redis(cli: Cli) -> None:
    assert "SCRM_REDIS_URL" in one_error_line(cli.run("worker", check=False))


# --- errors: one line, no traceback -----------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "env", "variable"),
    [
        ("migrate", {"SCRM_DATABASE_URL": "mysql://x"}, "SCRM_DATABASE_URL"),
        ("serve", {"SCRM_DATABASE_URL": "mysql://x"}, "SCRM_DATABASE_URL"),
        ("migrate", {"SCRM_DATABASE_URL": "sqlite://relative/path.db"}, "SCRM_DATABASE_URL"),
        (
            "migrate",
            {"SCRM_DATABASE_URL": "postgresql://u:hunter2@db:notaport/x", "SCRM_SECRET_KEY": SECRET},
            "SCRM_DATABASE_URL",
        ),
        ("migrate", {"SCRM_LOG_FORMAT": "xml"}, "SCRM_LOG_FORMAT"),
        ("serve", {"SCRM_LOG_FORMAT": "xml"}, "SCRM_LOG_FORMAT"),
        ("migrate", {"SCRM_LOG_LEVEL": "loud"}, "SCRM_LOG_LEVEL"),
        ("migrate", {"SCRM_DB_POOL_SIZE": "0"}, "SCRM_DB_POOL_SIZE"),
        ("migrate", {"SCRM_REDIS_URL": "http://cache"}, "SCRM_REDIS_URL"),
        ("migrate", {"SCRM_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/scrm"}, "SCRM_SECRET_KEY"),
        ("serve", {"SCRM_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/scrm"}, "SCRM_SECRET_KEY"),
        ("migrate", {"SCRM_SECRET_KEY": "short"}, "SCRM_SECRET_KEY"),
    ],
)
def test_wrong_setting_is_one_line(cli: Cli, command: str, env: dict[str, str], variable: str) -> None:
    clean = {k: v for k, v in cli.env.items() if not k.startswith("SCRM_")}
    clean["SCRM_DATA_DIR"] = cli.env["SCRM_DATA_DIR"]
    result = subprocess.run(
        [*COMMAND, command],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=clean["HOME"],
    )
    line = one_error_line(result)
    assert variable in line
    assert "hunter2" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["workspaces", "create", "Xylo Coffee"],
        ["keys", "create", "--operator"],
        ["demo", "--no-serve"],
        ["plugins", "list"],
    ],
)
def test_wrong_setting_on_other_commands(cli: Cli, command: list[str]) -> None:
    result = cli.run(*command, check=False, SCRM_LOG_FORMAT="xml")
    assert "SCRM_LOG_FORMAT" in one_error_line(result)


def test_unreachable_database_is_one_line(cli: Cli) -> None:
    result = cli.run(
        "migrate",
        check=False,
        SCRM_DATABASE_URL="postgresql://postgres:hunter2@127.0.0.1:1/nowhere",
        SCRM_SECRET_KEY=SECRET,
    )
    line = one_error_line(result)
    assert "database" in line
    assert "hunter2" not in result.stderr


def test_usage_errors_are_one_line(cli: Cli) -> None:
    cli.run("workspaces", "create", "Twice Coffee")
    assert "already exists" in one_error_line(cli.run("workspaces", "create", "Twice Coffee", check=False))
    assert "--slug" in one_error_line(cli.run("workspaces", "create", "!!!", check=False))
    assert "--operator" in one_error_line(cli.run("keys", "create", check=False))
    assert "--operator" in one_error_line(cli.run("keys", "create", "--operator", "--workspace", "x", check=False))
    assert "no-such" in one_error_line(cli.run("keys", "create", "--workspace", "no-such", check=False))
    assert "scope" in one_error_line(cli.run("keys", "create", "--operator", "--scopes", " , ", check=False))
    assert (
        "time"
        in one_error_line(cli.run("workspaces", "create", "Zoned", "--time-zone", "Mars/Base", check=False)).lower()
    )


async def test_serve_waits_for_the_database(cli: Cli, tmp_path: Path) -> None:
    """With its database unreachable, ``scrm serve`` keeps running: one log line naming the problem,
    ``/readyz`` 503 while it retries; on PostgreSQL, creating the database it names makes it ready."""
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    name = f"scrm_late_{secrets.token_hex(4)}"
    base = DatabaseURL.parse(PG_URL)
    # PostgreSQL runs, without the database; on a SQLite run, nothing listens on port 1
    url = (
        f"postgresql://{base.user}@{base.host}:{base.port}/{name}"
        if cli.backend == "postgres"
        else ("postgresql://postgres:hunter2@127.0.0.1:1/nowhere")
    )
    log = tmp_path / "serve.log"
    env = {**cli.env, "SCRM_DATABASE_URL": url, "SCRM_SECRET_KEY": SECRET}
    with log.open("wb") as out:
        server = await asyncio.create_subprocess_exec(
            *COMMAND, "serve", "--port", str(port), env=env, cwd=env["HOME"], stdout=out, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"

    async def status(path: str) -> int | None:
        try:
            async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
                return (await client.get(path)).status_code
        except httpx.TransportError:
            return None

    async def wait_for(path: str, expected: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert server.returncode is None, f"scrm serve exited with {server.returncode}:\n{log.read_text()}"
            if await status(path) == expected:
                return
            await asyncio.sleep(0.2)
        pytest.fail(f"{path} did not answer {expected} within {seconds}s:\n{log.read_text()}")

    try:
        await wait_for("/healthz", 200, 60)
        assert await status("/readyz") == 503
        problems = [line for line in log.read_text().splitlines() if "cannot be reached" in line]
        assert len(problems) == 1, log.read_text()
        assert ("does not exist" if cli.backend == "postgres" else "refused") in problems[0].lower()
        assert "Traceback" not in log.read_text()
        assert "hunter2" not in log.read_text()
        if cli.backend == "postgres":
            await pg_admin(f'CREATE DATABASE "{name}"')
            await wait_for("/readyz", 200, 30)  # the retries back off to 30 s at most
            assert "answers: ready" in log.read_text()
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=15)
        if cli.backend == "postgres":
            await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
