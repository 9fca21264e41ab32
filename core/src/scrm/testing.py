"""Test helpers for scrm and its plugins: a pytest plugin booting a real, migrated app.

Enable it in your tests' top-level ``conftest.py`` with ``pytest_plugins = ["scrm.testing"]`` (it
needs ``pytest``, ``pytest-asyncio`` in auto mode with session-scoped loops, and ``httpx``: the
``scrm[testing]`` extra). Every installed plugin is loaded, as in production; a test enables the
ones it needs in its own workspace (``await tenant.enable("points")``).

``SCRM_TEST_DATABASE=postgres`` runs against the PostgreSQL server on 127.0.0.1:5432
(``SCRM_TEST_PG_URL`` to change it); the default is a SQLite file. Each run creates its own
database and drops it at the end. Workspaces are made per test with unique slugs, so tests share
one database without seeing each other's rows.

Fixtures: ``kernel`` (session), ``app``, ``client`` (an ``httpx.AsyncClient`` on the app),
``tenant`` and ``other`` (two fresh workspaces with an all-scopes key: try to cross from one to the
other), ``operator_key``, ``plugin`` (registers a throwaway plugin made of hook functions), and
``redis_server`` (a private :class:`RedisServer` on a free loopback port, which a test may restart),
and :func:`start_worker` (a real ``scrm worker`` process on it).
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import types
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

import scrm
from scrm import create_app
from scrm.kernel import Kernel
from scrm.schemas import WorkspaceCreate
from scrm.settings import DatabaseURL, Settings

PG_URL = os.environ.get("SCRM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKEND = os.environ.get("SCRM_TEST_DATABASE", "sqlite")
_counter = itertools.count(1)
_plugins = itertools.count(1)


def pytest_report_header() -> str:
    return f"scrm test database: {BACKEND}"


async def pg_admin(sql: str) -> None:
    """Run one statement on the test server's maintenance connection (``CREATE DATABASE``, say)."""
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A fresh, empty database for this test run."""
    if BACKEND == "sqlite":
        yield f"sqlite://{tmp_path_factory.mktemp('db') / 'scrm.sqlite3'}"
        return
    if BACKEND != "postgres":
        raise pytest.UsageError(f"SCRM_TEST_DATABASE must be sqlite or postgres, not {BACKEND!r}")
    name = f"scrm_test_{secrets.token_hex(4)}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    base = DatabaseURL.parse(PG_URL)
    yield f"postgresql://{base.user}@{base.host}:{base.port}/{name}"
    await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings.from_env(
        {
            "SCRM_DATA_DIR": str(tmp_path_factory.mktemp("data")),
            "SCRM_DATABASE_URL": database_url,
            "SCRM_SECRET_KEY": "test-secret-key-" + "x" * 32,
            # the tests' receivers listen on loopback, which the outbound guard refuses by default
            "SCRM_OUTBOUND_ALLOW": "127.0.0.1",
        }
    )


@pytest.fixture(scope="session")
async def kernel(settings: Settings) -> AsyncIterator[Kernel]:
    kernel = Kernel(settings)
    await kernel.migrate()
    await kernel.start()
    yield kernel
    await kernel.stop()


@pytest.fixture(scope="session")
def app(kernel: Kernel) -> Litestar:
    return create_app(kernel=kernel, configure_logs=False)


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling the app in-process, on the test's event loop (the kernel fixture has
    started the database pool there, so the app's own lifespan is not run)."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # httpx types a narrower ASGI app
    async with httpx.AsyncClient(transport=transport, base_url="http://scrm.test") as client:
        yield client


@dataclass
class Tenant:
    """A workspace made for one test, with an all-scopes key and a client bound to it."""

    slug: str
    id: int
    key: str
    client: httpx.AsyncClient

    def headers(self, key: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}", **extra}

    async def get(self, path: str, key: str | None = None, **kw: Any) -> Any:
        return await self.client.get(path, headers=self.headers(key), **kw)

    async def post(self, path: str, json: Any = None, key: str | None = None, **kw: Any) -> Any:
        return await self.client.post(path, json=json, headers=self.headers(key), **kw)

    async def patch(self, path: str, json: Any = None, key: str | None = None, **kw: Any) -> Any:
        return await self.client.patch(path, json=json, headers=self.headers(key), **kw)

    async def delete(self, path: str, key: str | None = None, **kw: Any) -> Any:
        return await self.client.delete(path, headers=self.headers(key), **kw)

    async def new_key(self, *scopes: str) -> str:
        response = await self.post("/api/v1/keys", {"scopes": list(scopes)})
        assert response.status_code == 201, response.text
        key: str = response.json()["key"]
        return key

    async def enable(self, plugin: str, settings: dict[str, Any] | None = None) -> None:
        """Switch a plugin on in this workspace (with these settings, when given)."""
        body: dict[str, Any] = {"name": plugin, "enabled": True}
        if settings is not None:
            body["settings"] = settings
        response = await self.post("/api/v1/plugins", body)
        assert response.status_code in (200, 201), response.text

    async def member(self, **fields: Any) -> dict[str, Any]:
        response = await self.post("/api/v1/members", fields)
        assert response.status_code == 201, response.text
        member: dict[str, Any] = response.json()
        return member


async def make_tenant(kernel: Kernel, client: httpx.AsyncClient, prefix: str = "ws") -> Tenant:
    """A new workspace with an all-scopes key, handed over once no in-process job is running: a sync
    test (one calling a server in a thread) stops the event loop, and a job frozen mid-transaction
    would hold SQLite's write lock against that server until its busy timeout."""
    slug = f"{prefix}-{next(_counter)}-{secrets.token_hex(3)}"
    ws = await kernel.workspaces.create(WorkspaceCreate(slug=slug, name=slug.title()))
    key = await kernel.keys.create(await kernel.workspaces.ref(slug), ["*"], "test")
    await kernel.jobs.idle()
    return Tenant(slug=slug, id=ws.id, key=key.key, client=client)


@pytest.fixture
async def tenant(kernel: Kernel, client: httpx.AsyncClient) -> Tenant:
    return await make_tenant(kernel, client, "a")


@pytest.fixture
async def other(kernel: Kernel, client: httpx.AsyncClient) -> Tenant:
    """A second workspace, to try to cross into."""
    return await make_tenant(kernel, client, "b")


@pytest.fixture
async def operator_key(kernel: Kernel) -> str:
    created = await kernel.keys.create(None, ["*"], "operator")
    await kernel.jobs.idle()
    return created.key


@pytest.fixture
async def plugin(kernel: Kernel) -> AsyncIterator[Callable[..., str]]:
    """Registers throwaway plugins with the given hooks on the session kernel for one test:
    ``name = plugin(scrm_can_contact=veto)``; enable it in a workspace to have it called."""
    names: list[str] = []

    def register(**hooks: Callable[..., Any]) -> str:
        name = f"probe_{next(_plugins)}"
        module = types.ModuleType(name)
        manifest = scrm.Manifest(name=name, version="1.0.0", core=">=0.1")
        module.scrm_manifest = scrm.hookimpl(lambda: manifest)  # type: ignore[attr-defined]
        for hook_name, impl in hooks.items():
            setattr(module, hook_name, scrm.hookimpl(impl))
        kernel.plugins.register(module)
        names.append(name)
        return name

    yield register
    for name in names:
        kernel.plugins.unregister(name)
    kernel.forget_cached()


async def mixed_crowd(tenant: Tenant, other: Tenant) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Request bodies naming members every way a group commit's member read must tell apart, for a
    test that sends them at once: ten members fit to act (external ids ``fit-0`` … ``fit-9``) named
    by id, then ``fit-0`` again by external id, an unknown external id, a member of ``other``'s
    workspace and a blocked member. Returns the fit members and the bodies, in that order (append a
    plugin's own cases to the bodies)."""
    fit = [await tenant.member(display_name=f"Fit {i}", external_id=f"fit-{i}") for i in range(10)]
    blocked = await tenant.member(display_name="Blocked", status="blocked")
    stranger = await other.member(display_name="Stranger")
    bodies = [
        *({"member_id": m["id"]} for m in fit),
        {"external_id": "fit-0"},
        {"external_id": "nobody"},
        {"member_id": stranger["id"]},
        {"member_id": blocked["id"]},
    ]
    return fit, bodies


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    """Assert a response is a problem document of this status and kind; return it."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:scrm:problem:{kind}", body
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


class RedisServer:
    """A private redis-server that a test can restart (losing everything queued, as Redis without
    persistence does)."""

    def __init__(self, tmp: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.tmp = tmp
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(  # noqa: S603  # our own arguments, no shell
            [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.tmp,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def start_worker(settings: Settings, redis_url: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """A real ``scrm worker`` process on ``settings``' database and ``redis_url``, its output appended
    to ``log``; ``env`` adds settings of its own (``SCRM_OUTBOX_LEASE_SECONDS="3"``, say). The caller
    kills or terminates it."""
    environment = {
        **os.environ,
        "SCRM_DATABASE_URL": str(settings.database),
        "SCRM_DATA_DIR": str(settings.data_dir),
        "SCRM_SECRET_KEY": settings.secret_key,
        "SCRM_REDIS_URL": redis_url,
        "SCRM_OUTBOUND_ALLOW": ",".join(settings.outbound_allow),
        **env,
    }
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "scrm.cli", "worker"], env=environment, stdout=out, stderr=subprocess.STDOUT
        )


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
