"""What the browser tests do on the console, in the words of its pages: sign in, open a page and
insist that it is there. Selectors are roles, labels and visible text (what an operator sees), with
``data-testid`` only for regions that have no accessible name."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Locator, Page, Response, expect

from browser.server import WORKSPACE, Server

#: the prefix of the demo workspace's console pages
BASE = f"/console/w/{WORKSPACE}"
#: a seeded member (``scrm.demo.demo_rows``), found by its external id
SEEDED_MEMBER = "demo-000042"
CJK = re.compile(r"[\u4e00-\u9fff]")

#: the ``snap`` fixture: ``await snap(page, "members")`` saves ``screenshots/<backend>/members.png``
Snap = Callable[[Page, str], Awaitable[Path]]


async def sign_in(page: Page, username: str, password: str, path: str = "/console/login") -> None:
    """Sign in through the form at ``path``; fails with the page's own message when refused."""
    await page.goto(path)
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    async with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/console/login")) as sent:
        await page.get_by_role("button", name="Sign in", exact=True).click()
    answer = await sent.value
    if answer.status != 303:
        await page.wait_for_load_state()
        alert = page.get_by_role("alert")
        said = await alert.inner_text() if await alert.count() else await page.title()
        pytest.fail(f"signing in as {username!r} answered {answer.status}: {said}")
    await page.wait_for_url(lambda url: urlsplit(url).path != "/console/login")
    await page.wait_for_load_state()


async def open_page(page: Page, path: str) -> Response:
    """Go to ``path`` and insist on a 200 at that very address: a page that does not exist yet (or a
    redirect to the sign-in form) fails here, saying so, rather than somewhere later."""
    response = await page.goto(path)
    assert response is not None, f"no response for {path}"
    await insist_on(page, response, path)
    return response


async def insist_on(page: Page, response: Response, path: str) -> None:
    """The response is a 200 for ``path`` (its path part); otherwise fail with what the page says."""
    landed = urlsplit(page.url).path
    if response.status != 200:
        heading = page.locator("h1, h2").first
        said = (await heading.inner_text()).strip() if await heading.count() else await page.title()
        pytest.fail(f"{path} answered {response.status} ({said}): this console page is missing or broken")
    if landed != urlsplit(path).path:
        pytest.fail(f"{path} led to {landed}: not the page asked for")


async def in_chinese(page: Page, server: Server, path: str) -> None:
    """Sign a new owner in on ``page`` (the language is each operator's own to keep, so the demo
    owner's stays English), open ``path`` and switch it to Chinese."""
    chinese = await server.new_operator("owner")
    await page.context.clear_cookies()
    await sign_in(page, chinese.username, chinese.password)
    await open_page(page, path)
    await page.get_by_test_id("locale").select_option("zh_CN")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


async def member(api: httpx.AsyncClient, external_id: str) -> dict[str, Any]:
    """A demo member, through the API."""
    response = await api.get(f"/api/v1/members/by-external-id/{external_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def sections(page: Page) -> Locator:
    """The workspace's navigation (in English: its name is translated)."""
    return page.get_by_role("navigation", name="Sections")
