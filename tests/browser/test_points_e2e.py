"""The points plugin's console pages in a real browser, on the demo (where points is enabled and
seeded): an operator adjusts a member's points from the member page and creates a rule, each swapped
in place by htmx."""

from __future__ import annotations

import secrets

import httpx
from babel.numbers import format_decimal
from playwright.async_api import Page, expect

from browser.ui import BASE, Snap, member, open_page, sections


async def test_adjust_points_on_the_member_page(signed_in_page: Page, api: httpx.AsyncClient, snap: Snap) -> None:
    page = signed_in_page
    seeded = await member(api, "demo-000011")
    account = f"/api/v1/points/members/{seeded['id']}"
    before = (await api.get(account)).json()["balance"]
    await open_page(page, f"{BASE}/members/{seeded['id']}")
    await expect(page.get_by_test_id("points-balance")).to_have_text(format_decimal(before, locale="en"))
    await page.evaluate("window.e2eSamePage = true")
    await page.get_by_text("Adjust points").click()
    form = page.get_by_test_id("points-adjust")
    await form.locator('input[name="amount"]').fill("25")
    await form.locator('input[name="reason"]').fill("Thanks for the feedback")
    await form.get_by_role("button", name="Adjust").click()
    await expect(page.get_by_test_id("points-balance")).to_have_text(format_decimal(before + 25, locale="en"))
    await expect(page.get_by_test_id("points-history")).to_contain_text("Thanks for the feedback")
    assert await page.evaluate("window.e2eSamePage === true"), "adjusting reloaded the whole page"
    assert (await api.get(account)).json()["balance"] == before + 25
    await snap(page, "points-member-panel")

    await page.get_by_text("Adjust points").click()
    await form.locator('input[name="amount"]').fill(str(-(before + 10_000)))
    await form.locator('input[name="reason"]').fill("Too much")
    await form.get_by_role("button", name="Adjust").click()
    await expect(page.locator("#amount-error")).to_be_visible()
    assert (await api.get(account)).json()["balance"] == before + 25


async def test_create_a_rule(signed_in_page: Page, api: httpx.AsyncClient, snap: Snap) -> None:
    page = signed_in_page
    name = f"Reviews {secrets.token_hex(3)}"
    await open_page(page, f"{BASE}/")
    await sections(page).get_by_role("link", name="Points rules").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Points rules")
    await page.get_by_text("New rule").click()
    form = page.get_by_test_id("create-rule")
    await form.locator('input[name="name"]').fill(name)
    await form.locator('input[name="event_type"]').fill("review.posted")
    await form.locator('input[name="points"]').fill("15")
    await form.locator('input[name="conditions"]').fill("stars>=4")
    await form.get_by_role("button", name="Create rule").click()
    row = page.get_by_test_id("rules").get_by_role("row").filter(has_text=name)
    await expect(row).to_contain_text("stars>=4")
    await snap(page, "points-rules")
    rules = (await api.get("/api/v1/points/rules", params={"limit": 500})).json()["items"]
    created = next(r for r in rules if r["name"] == name)
    assert (created["event_type"], created["points"], created["conditions"]) == (
        "review.posted",
        15,
        {"stars": {"min": 4.0}},
    )
