"""The polls plugin's console pages in a real browser, on the demo (where polls is enabled and
seeded): an operator builds a poll — a name and a first question, then a second question added and
moved up, an option added, each step swapped in place by htmx — opens it, and sees a ballot cast
through the API appear in the live results without reloading the page; the results are then read in
Chinese. Screenshots of the builder and the results, in both languages."""

from __future__ import annotations

import secrets

import httpx
from playwright.async_api import Dialog, Page, expect

from browser.server import Server
from browser.ui import BASE, Snap, member, open_page, sections, sign_in

API = "/api/v1/polls"


def accept_dialogs(page: Page) -> list[str]:
    asked: list[str] = []

    async def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    return asked


async def test_build_a_poll_and_watch_a_vote_arrive(
    signed_in_page: Page, api: httpx.AsyncClient, server: Server, snap: Snap
) -> None:
    page = signed_in_page
    asked = accept_dialogs(page)
    name = f"Tea or coffee {secrets.token_hex(3)}"
    await open_page(page, f"{BASE}/")
    await sections(page).get_by_role("link", name="Polls").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Polls")
    await page.get_by_role("link", name="New poll").click()
    form = page.get_by_test_id("new-poll")
    await form.locator('input[name="name"]').fill(name)
    await form.locator('input[name="title"]').fill("Tea or coffee?")
    await form.locator('textarea[name="options"]').fill("Tea\nCoffee")
    await form.get_by_role("button", name="Create poll").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    await expect(page.get_by_test_id("state")).to_have_text("draft")

    await page.evaluate("window.e2eSamePage = true")
    builder = page.get_by_test_id("builder")
    await builder.get_by_text("Add a question").click()
    adding = page.get_by_test_id("add-question")
    await adding.locator('select[name="kind"]').select_option("nps")
    await adding.locator('input[name="title"]').fill("Would you recommend us?")
    await adding.get_by_role("button", name="Add question").click()
    await expect(page.get_by_test_id("question")).to_have_count(2)
    await page.get_by_role("button", name="Move question 2 up").click()
    await expect(page.get_by_test_id("question-title").first).to_have_text("Would you recommend us?")
    option = page.get_by_test_id("add-option")
    await option.get_by_placeholder("New option").fill("Juice")
    await option.get_by_role("button", name="Add option").click()
    await expect(page.get_by_test_id("option")).to_have_text(["Tea", "Coffee", "Juice"])
    assert await page.evaluate("window.e2eSamePage === true"), "a builder step reloaded the whole page"
    await snap(page, "polls-builder")

    await page.get_by_role("button", name="Open", exact=True).click()
    await expect(page.get_by_test_id("state")).to_have_text("open")
    assert any("locked" in message for message in asked), asked
    await expect(page.get_by_test_id("ballot-count")).to_have_text("0")
    poll = next(p for p in (await api.get(API, params={"limit": 500})).json()["items"] if p["name"] == name)
    nps, choice = poll["questions"]
    assert [o["label"] for o in choice["options"]] == ["Tea", "Coffee", "Juice"]

    await page.evaluate("window.e2eSamePage = true")
    voter = await member(api, "demo-000021")
    answers = [
        {"question_id": nps["id"], "score": 10},
        {"question_id": choice["id"], "option_ids": [choice["options"][1]["id"]]},
    ]
    cast = await api.post(f"{API}/{poll['id']}/ballots", json={"member_id": voter["id"], "answers": answers})
    assert cast.status_code == 201, cast.text
    await expect(page.get_by_test_id("ballot-count")).to_have_text("1")  # refreshed every 3 s
    assert await page.evaluate("window.e2eSamePage === true"), "the results reloaded the whole page"
    counts = page.get_by_test_id("question-result").nth(1).get_by_test_id("count")
    await expect(counts).to_have_text(["0", "1", "0"])
    await expect(page.get_by_test_id("nps-score")).to_have_text("+100")
    await snap(page, "polls-results")

    await open_page(page, f"{BASE}/polls/")
    await page.get_by_role("link", name="Customer survey", exact=False).click()  # the demo's survey
    await expect(page.get_by_test_id("state")).to_have_text("closed")
    await expect(page.get_by_test_id("ballot-count")).to_have_text("150")
    await snap(page, "polls-survey")
    await page.get_by_test_id("breakdown").get_by_role("button", name="Show").click()  # the demo's first tag group
    await expect(page.get_by_test_id("segments").locator("tbody tr").first).to_contain_text("NPS")
    await snap(page, "polls-breakdown")

    reader = await server.new_operator("viewer")
    browser = page.context.browser
    assert browser is not None
    chinese = await browser.new_context(base_url=server.url, locale="en-US", viewport={"width": 1280, "height": 800})
    try:
        zh = await chinese.new_page()
        await sign_in(zh, reader.username, reader.password)
        await open_page(zh, f"{BASE}/polls/{poll['id']}")
        await zh.get_by_test_id("locale").select_option("zh_CN")
        await expect(zh.locator("html")).to_have_attribute("lang", "zh-CN")
        await expect(zh.get_by_test_id("state")).to_have_text("进行中")
        await expect(zh.get_by_test_id("ballot-count")).to_have_text("1")
        await expect(zh.get_by_test_id("results")).to_contain_text("推荐者")
        await snap(zh, "polls-results-zh")
        await open_page(zh, f"{BASE}/polls/")
        await expect(zh.get_by_role("heading", level=1)).to_have_text("投票")
        await snap(zh, "polls-list-zh")
    finally:
        await chinese.close()
