"""Fixtures of the browser tests (see this package's docstring): a real scrm server seeded with the
demo, one headless Chromium, and a fresh browser context per test."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Generator, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from scrm.plugins import ENTRY_POINT_GROUP
from scrm.settings import DatabaseURL

from browser.server import SECRET, Server, demo_server
from browser.ui import Snap, sign_in

#: Debian's chromium; Playwright is never asked to download a browser
CHROMIUM = Path(os.environ.get("SCRM_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: how long an action or an expectation waits (a loaded CI machine is slower than Playwright's 5 s)
TIMEOUT_MS = 10_000
HERE = Path(__file__).parent
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
expect.set_options(timeout=TIMEOUT_MS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is a ``browser`` test (``-m "not browser"`` leaves them out)."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so that ``page`` knows at teardown whether the test failed."""
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


# --- the server -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def artifacts(request: pytest.FixtureRequest) -> Path:
    """Where screenshots and the server's log go (``SCRM_TEST_ARTIFACTS``, else ./test-artifacts)."""
    return Path(os.environ.get("SCRM_TEST_ARTIFACTS") or request.config.rootpath / "test-artifacts")


@pytest.fixture(scope="session")
async def server_database(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A database of the server's own, on the backend of this run (``database_url`` is the other
    tests'; the server must not share it: the demo seeds a fixed workspace, and SQLite has one writer)."""
    parsed = DatabaseURL.parse(database_url)
    if parsed.dialect == "sqlite":
        yield f"sqlite://{tmp_path_factory.mktemp('browser-db') / 'scrm.sqlite3'}"
        return
    name = f"{parsed.database}_browser"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql://{parsed.user}@{parsed.host}:{parsed.port}/{name}"
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def server(server_database: str, tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[Server]:
    """The demo, served for the whole session; its output is ``test-artifacts/logs/server-<backend>.log``."""
    data = tmp_path_factory.mktemp("browser-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCRM_", "PICCOLO_"))}
    env |= {"SCRM_DATA_DIR": str(data), "SCRM_DATABASE_URL": server_database, "SCRM_SECRET_KEY": SECRET}
    env["SCRM_OUTBOUND_ALLOW"] = "127.0.0.1"  # the tests' webhook receivers listen on loopback
    # every installed plugin, the test suite's own too (``scrm demo`` alone leaves that one out)
    env["SCRM_PLUGINS"] = ",".join(sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)))
    backend = DatabaseURL.parse(server_database).dialect
    with demo_server(env, data, artifacts / "logs" / f"server-{backend}.log") as running:
        yield running


@pytest.fixture(scope="session")
async def api(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    """The server's API with the demo workspace's all-scopes key: look-ups and set-up without the console."""
    headers = {"Authorization": f"Bearer {server.api_key}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as client:
        yield client


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (or set SCRM_TEST_CHROMIUM)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    """One headless Chromium for the whole session (each test gets its own context)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture(scope="session")
def screenshots(artifacts: Path, server: Server) -> Path:
    """``test-artifacts/screenshots/<backend>``; the failures of an earlier run are cleared."""
    folder = artifacts / "screenshots" / server.backend
    shutil.rmtree(folder / "failed", ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def snap(screenshots: Path) -> Snap:
    """``await snap(page, "members")``: a full-page screenshot, ``screenshots/<backend>/members.png``."""

    async def take(page: Page, name: str) -> Path:
        path = screenshots / f"{name}.png"
        await page.screenshot(path=path, full_page=True)
        return path

    return take


@pytest.fixture
async def page(
    browser: Browser, server: Server, screenshots: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    """A page in a new context (no cookies), English, on the server. A failed test leaves a
    screenshot in ``failed/``; an uncaught script error or a CSP violation on the page fails the test."""
    context = await browser.new_context(base_url=server.url, locale="en-US", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(f"{page.url}: {error}"))
    # a Content-Security-Policy violation (an inline script or style the console's policy forbids)
    # is reported on the browser's console: it fails the test like a script error
    page.on(
        "console",
        lambda message: (
            script_errors.append(f"{page.url}: {message.text}") if "Content Security Policy" in message.text else None
        ),
    )
    try:
        yield page
        call = request.node.stash.get(REPORTS, {}).get("call")
        if call is not None and call.failed and not page.is_closed():
            (screenshots / "failed").mkdir(exist_ok=True)
            await page.screenshot(path=screenshots / "failed" / f"{request.node.name}.png", full_page=True)
    finally:
        await context.close()
    assert not script_errors, f"script errors on the page: {script_errors}"


@pytest.fixture(scope="session")
async def demo_cookies(browser: Browser, server: Server) -> list[Any]:
    """The cookies of one sign-in through the form as the demo workspace's owner, made once and
    given to each ``signed_in_page`` (a test that signs out signs in for itself, with ``sign_in``)."""
    context = await browser.new_context(base_url=server.url)
    try:
        await sign_in(await context.new_page(), server.username, server.password)
        cookies: list[Any] = await context.cookies()
        return cookies
    finally:
        await context.close()


@pytest.fixture
async def signed_in_page(page: Page, demo_cookies: list[Any]) -> Page:
    """``page`` signed in as the demo workspace's owner (still blank: go to a page)."""
    await page.context.add_cookies(demo_cookies)
    return page
