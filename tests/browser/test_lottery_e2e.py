"""The lottery plugin's console pages in a real browser, on the demo (where the lottery is enabled):
an operator creates a draw, opens it, watches the entry count grow as members enter through the API
(htmx polling), closes it, draws with the confirmation dialog and reads the results."""

from __future__ import annotations

import secrets

import httpx
from playwright.async_api import Dialog, Page, expect

from browser.ui import BASE, Snap, member, open_page, sections

API = "/api/v1/lottery/campaigns"


def accept_dialogs(page: Page) -> list[str]:
    """Accept every confirmation the page asks for (htmx's ``hx-confirm``); returns what they said."""
    asked: list[str] = []

    async def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    return asked


async def test_create_open_count_and_draw(signed_in_page: Page, api: httpx.AsyncClient, snap: Snap) -> None:
    page = signed_in_page
    asked = accept_dialogs(page)
    name = f"Live draw {secrets.token_hex(3)}"
    await open_page(page, f"{BASE}/")
    await sections(page).get_by_role("link", name="Lotteries").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Lotteries")
    await page.get_by_role("link", name="New lottery").click()
    form = page.get_by_test_id("campaign-form")
    await form.locator('input[name="name"]').fill(name)
    await form.locator('textarea[name="prizes"]').fill("Phone | 1 | 399900\nMug | 2 | 2900")
    await form.get_by_role("button", name="Create lottery").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    await expect(page.get_by_test_id("state")).to_have_text("draft")
    campaign = next(c for c in (await api.get(API, params={"limit": 500})).json()["items"] if c["name"] == name)

    await page.get_by_role("button", name="Open").click()
    await expect(page.get_by_test_id("state")).to_have_text("open")
    opened = (await api.get(f"{API}/{campaign['id']}")).json()
    await expect(page.get_by_test_id("commitment")).to_have_text(opened["commitment"])
    await expect(page.get_by_test_id("entry-count")).to_have_text("0")

    await page.evaluate("window.e2eSamePage = true")
    for external_id in ("demo-000011", "demo-000012", "demo-000013"):
        entrant = await member(api, external_id)
        entered = await api.post(f"{API}/{campaign['id']}/entries", json={"member_id": entrant["id"]})
        assert entered.status_code == 201, entered.text
    await expect(page.get_by_test_id("entry-count")).to_have_text("3")  # polled every 5 s
    assert await page.evaluate("window.e2eSamePage === true"), "the count reloaded the whole page"
    await snap(page, "lottery-campaign")

    await page.get_by_role("button", name="Close entries").click()
    await expect(page.get_by_test_id("state")).to_have_text("closed")
    await page.get_by_test_id("draw").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Results of {name}")
    assert any("cannot be undone" in message for message in asked), asked

    result = (await api.get(f"{API}/{campaign['id']}/result")).json()
    await expect(page.get_by_test_id("seed")).to_have_text(result["seed"])
    await expect(page.get_by_test_id("entries-hash")).to_have_text(result["entries_hash"])
    winners = page.get_by_test_id("winners").locator("tbody tr")
    await expect(winners).to_have_count(3)
    shown = [await row.get_attribute("data-member") for row in await winners.all()]
    assert shown == [str(w["member_id"]) for w in result["winners"]]
    await snap(page, "lottery-results")
