"""The console in a real browser: the flows issue 4 names — sign in, find a member, tag them inline
and see it in their timeline, enable a plugin, switch the language — and signing out, with
screenshots of the main pages in ``test-artifacts/screenshots/<backend>/``."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Dialog, Page, expect

from browser.server import Credentials, Server
from browser.ui import BASE, CJK, SEEDED_MEMBER, Snap, insist_on, member, open_page, sections, sign_in

# --- signing in and out -----------------------------------------------------------------------


async def test_sign_in_page(page: Page, snap: Snap) -> None:
    await open_page(page, "/console/login")
    await expect(page.get_by_role("heading", name="Sign in to scrm")).to_be_visible()
    await expect(page.get_by_label("Username")).to_be_focused()
    await snap(page, "login")


async def test_a_wrong_password_is_refused_and_the_username_kept(page: Page, server: Server, snap: Snap) -> None:
    await page.goto("/console/login")
    await page.get_by_label("Username").fill(server.username)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    await expect(page.get_by_label("Username")).to_have_value(server.username)
    await expect(page.get_by_label("Password")).to_have_value("")
    await snap(page, "login-refused")


async def test_signing_in_opens_the_dashboard(page: Page, server: Server, snap: Snap) -> None:
    await sign_in(page, server.username, server.password)
    assert urlsplit(page.url).path == f"{BASE}/"
    response = await page.reload()
    assert response is not None
    await insist_on(page, response, f"{BASE}/")
    await expect(sections(page).get_by_role("link", name="Members")).to_be_visible()
    await expect(page.get_by_role("main")).to_contain_text("200")  # the demo's members
    await snap(page, "dashboard")


async def test_signing_out_ends_the_session(page: Page, server: Server) -> None:
    await sign_in(page, server.username, server.password)  # a session of its own, not demo_cookies'
    await open_page(page, f"{BASE}/plugins")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/console/login$"))
    # the session is gone: the console asks to sign in again, and comes back afterwards
    await page.goto(f"{BASE}/plugins")
    await expect(page).to_have_url(re.compile(r"/console/login\?next="))
    await sign_in(page, server.username, server.password, path=page.url)
    assert urlsplit(page.url).path == f"{BASE}/plugins"


# --- every page -------------------------------------------------------------------------------


async def test_every_section_in_the_navigation_opens(signed_in_page: Page, snap: Snap) -> None:
    """Each entry of the navigation (and the operator's account page) answers 200 without script
    errors; a screenshot of each. All the broken ones are named at once."""
    page = signed_in_page
    await open_page(page, f"{BASE}/")
    links = sections(page).get_by_role("link")
    hrefs = [href for href in await links.evaluate_all("links => links.map(a => a.getAttribute('href'))") if href]
    assert len(hrefs) >= 5, f"the navigation has only {hrefs}"
    broken = []
    for href in [*hrefs, "/console/account"]:
        response = await page.goto(href)
        if response is None or response.status != 200 or urlsplit(page.url).path != href:
            broken.append(f"{href}: {response.status if response else 'no response'} at {page.url}")
            continue
        name = href.removeprefix(BASE).removeprefix("/console").strip("/").replace("/", "-")
        await snap(page, name or "dashboard")
    assert not broken, "pages that do not open: " + "; ".join(broken)


# --- members ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", [SEEDED_MEMBER, "member42@example.com"], ids=["by external id", "by channel identity"]
)
async def test_find_a_member(signed_in_page: Page, api: httpx.AsyncClient, snap: Snap, query: str) -> None:
    page = signed_in_page
    seeded = await member(api, SEEDED_MEMBER)
    await open_page(page, f"{BASE}/members")
    await snap(page, "members")
    search = page.get_by_role("searchbox")
    await search.fill(query)
    await search.press("Enter")
    await expect(page, "the search is in the address (bookmarkable, back button)").to_have_url(
        re.compile(re.escape(query.replace("@", "%40")) + "|" + re.escape(query))
    )
    found = page.get_by_role("main").get_by_role("link", name=seeded["display_name"], exact=True)
    await expect(found).to_have_count(1)
    await snap(page, "members-found")
    await found.click()
    await expect(page).to_have_url(re.compile(rf"{BASE}/members/{seeded['id']}$"))
    await expect(page.get_by_role("heading", level=1)).to_contain_text(seeded["display_name"])
    await snap(page, "member")


async def test_add_a_tag_inline_and_see_it_in_the_timeline(
    signed_in_page: Page, api: httpx.AsyncClient, snap: Snap
) -> None:
    page = signed_in_page
    seeded = await member(api, "demo-000007")
    tag = f"e2e-{secrets.token_hex(3)}"
    await open_page(page, f"{BASE}/members/{seeded['id']}")
    await page.evaluate("window.e2eSamePage = true")
    await page.get_by_label("Add a tag").fill(tag)
    await page.get_by_test_id("add-tag").get_by_role("button", name="Add").click()
    await expect(page.get_by_test_id("member-tags")).to_contain_text(tag)
    await expect(page.get_by_test_id("timeline"), "the timeline follows the tags").to_contain_text(tag)
    assert await page.evaluate("window.e2eSamePage === true"), "adding a tag reloaded the whole page"
    stored = await api.get(f"/api/v1/members/{seeded['id']}/tags")
    assert tag in stored.text, stored.text

    await page.reload()
    await expect(page.get_by_test_id("member-tags")).to_contain_text(tag)
    newest = page.get_by_test_id("timeline").get_by_role("row").nth(1)  # under the header row
    await expect(newest).to_contain_text(tag)
    await snap(page, "member-tagged")


# --- plugins ----------------------------------------------------------------------------------


async def test_enable_a_plugin_and_use_its_page(signed_in_page: Page, api: httpx.AsyncClient, snap: Snap) -> None:
    """``testplugin`` (installed in the dev environment) asks for ``testplugin:read`` and adds a
    "Welcomes" page: enabling it asks for confirmation naming that scope and shows its page."""
    page = signed_in_page
    off = await api.post("/api/v1/plugins", json={"name": "testplugin", "enabled": False})
    assert off.status_code == 200, off.text
    asked: list[str] = []

    async def confirm(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.on("dialog", confirm)
    await open_page(page, f"{BASE}/plugins")
    row = page.get_by_role("row").filter(has_text="testplugin")
    await expect(row).to_contain_text("testplugin:read")
    await expect(sections(page).get_by_role("link", name="Welcomes")).to_have_count(0)
    await snap(page, "plugins")

    await row.get_by_role("link", name="Enable").click()
    await expect(row.get_by_role("button", name="Disable")).to_be_visible()
    assert len(asked) == 1, asked
    assert "testplugin:read" in asked[0]
    assert (await api.get("/api/v1/plugins/testplugin")).json()["enabled"] is True
    await snap(page, "plugins-enabled")
    await sections(page).get_by_role("link", name="Welcomes").click()
    await expect(page).to_have_url(re.compile(rf"{BASE}/testplugin/welcomes$"))
    await snap(page, "plugin-page")

    await open_page(page, f"{BASE}/plugins")
    await row.get_by_role("button", name="Disable").click()
    await expect(row.get_by_role("link", name="Enable")).to_be_visible()
    await expect(sections(page).get_by_role("link", name="Welcomes")).to_have_count(0)
    assert (await api.get("/api/v1/plugins/testplugin")).json()["enabled"] is False


# --- languages --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def reader(server: Server) -> Credentials:
    """An operator of their own for the language tests: the language is an operator's to keep."""
    return await server.new_operator("viewer")


async def in_chinese(page: Page, reader: Credentials) -> None:
    """Sign in as ``reader`` and switch to Chinese with the header's select, on the plugins page."""
    await sign_in(page, reader.username, reader.password)
    await open_page(page, f"{BASE}/plugins")
    await page.get_by_test_id("locale").select_option("zh_CN")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


async def test_switch_language(page: Page, reader: Credentials, snap: Snap) -> None:
    await in_chinese(page, reader)
    await expect(page, "the switch comes back to the same page").to_have_url(re.compile(rf"{BASE}/plugins$"))
    await snap(page, "plugins-zh")
    await page.reload()
    await expect(page.locator("html"), "the choice is kept").to_have_attribute("lang", "zh-CN")
    await page.get_by_test_id("locale").select_option("en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_label("Language")).to_have_value("en")


async def test_the_plugins_page_in_chinese_keeps_badges_and_buttons_on_one_line(
    signed_in_page: Page, snap: Snap
) -> None:
    """In Chinese the status column broke its badges and buttons one character per line."""
    page = signed_in_page
    await open_page(page, f"{BASE}/plugins")
    await page.get_by_test_id("locale").select_option("zh_CN")
    try:
        await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        await snap(page, "plugins-owner-zh")
        controls = page.locator("tr[data-plugin] td.nowrap").locator(".badge, button, a")
        assert await controls.count() >= 2
        for box in await controls.evaluate_all(
            "els => els.map(e => [e.textContent.trim(), e.getBoundingClientRect().height,"
            " parseFloat(getComputedStyle(e).lineHeight) || parseFloat(getComputedStyle(e).fontSize) * 1.5])"
        ):
            text, height, line = box
            assert height < 2 * line, f"{text!r} wraps: {height}px high for a {line}px line"
        for name in ("points", "lottery"):
            description = page.locator(f'tr[data-plugin="{name}"] td:nth-child(2)')
            await expect(description, f"{name}'s description is translated").to_have_text(CJK)
    finally:
        await page.get_by_test_id("locale").select_option("en")  # the demo owner's choice is kept: undo it
        await expect(page.locator("html")).to_have_attribute("lang", "en")


async def test_the_navigation_in_chinese(page: Page, reader: Credentials) -> None:
    await in_chinese(page, reader)
    entry = page.get_by_role("navigation").locator(f'a[href="{BASE}/plugins"]')
    await expect(entry, "the Chinese catalog translates the navigation").to_have_text(CJK)
