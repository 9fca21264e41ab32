"""The referrals plugin's console pages in a real browser, on the demo (where referrals is enabled
and seeded): an operator sets up a campaign — a form refused with the errors next to their fields
(swapped in place by htmx), then saved — a member gets a code and three friends join with it (one of
them inviting a fourth) through the API; the operator sees the invite tree two levels deep, the
leaderboard and the K chart of the demo's campaign, and the review queue; the tree is then read in
Chinese. Screenshots of each page."""

from __future__ import annotations

import secrets

import httpx
from playwright.async_api import Page, expect

from browser.server import Server
from browser.ui import BASE, Snap, open_page, sections, sign_in

API = "/api/v1/referrals"


async def _join(api: httpx.AsyncClient, code: str, name: str) -> dict[str, object]:
    body = {"code": code, "member": {"display_name": name, "external_id": f"{name}-{secrets.token_hex(3)}"}}
    response = await api.post(f"{API}/joins", json=body)
    assert response.status_code == 201, response.text
    referral: dict[str, object] = response.json()
    return referral


async def test_set_up_a_campaign_and_see_the_tree(
    signed_in_page: Page, api: httpx.AsyncClient, server: Server, snap: Snap
) -> None:
    page = signed_in_page
    name = f"Spring friends {secrets.token_hex(3)}"
    await open_page(page, f"{BASE}/")
    await sections(page).get_by_role("link", name="Referrals").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Referrals")
    await expect(page.get_by_test_id("campaigns")).to_contain_text("Bring a friend")  # the demo's

    await page.evaluate("window.e2eSamePage = true")
    form = page.get_by_test_id("campaign-form")
    await form.locator('input[name="name"]').fill(name)
    await form.locator('input[name="invitee_tag"]').fill("spring-friend")
    await form.locator('input[name="second_tag"]').fill("spring-grand")
    await form.locator('input[name="daily_cap"]').fill("9")
    await form.locator('input[name="total_cap"]').fill("3")
    await form.get_by_role("button", name="Create campaign").click()
    form = page.get_by_test_id("campaign-form")
    await expect(form).to_contain_text("must not exceed total_cap")
    await expect(form).to_contain_text("needs levels 2")
    assert await page.evaluate("window.e2eSamePage === true"), "a refused form reloaded the whole page"
    await expect(form.locator('input[name="name"]')).to_have_value(name)
    await snap(page, "referrals-setup-errors")
    await form.locator('select[name="levels"]').select_option("2")
    await form.locator('input[name="daily_cap"]').fill("")
    await form.get_by_role("button", name="Create campaign").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    await expect(page.get_by_test_id("k-chart")).to_be_visible()

    campaign = next(c for c in (await api.get(f"{API}/campaigns")).json()["items"] if c["name"] == name)
    assert (campaign["levels"], campaign["total_cap"], campaign["second_reward"]["tag"]) == (2, 3, "spring-grand")
    ann = (
        await api.post("/api/v1/members", json={"display_name": "Ann", "external_id": f"ann-{secrets.token_hex(3)}"})
    ).json()
    code = (await api.post(f"{API}/campaigns/{campaign['id']}/codes", json={"member_id": ann["id"]})).json()["code"]
    friends = [await _join(api, code, who) for who in ("Bo", "Cy", "Di")]
    bo_code = (
        await api.post(f"{API}/campaigns/{campaign['id']}/codes", json={"member_id": friends[0]["invitee_id"]})
    ).json()["code"]
    await _join(api, bo_code, "Ed")

    await open_page(page, f"{BASE}/referrals/tree?member_id={ann['id']}")
    tree = page.get_by_test_id("tree")
    await expect(tree).to_contain_text("Depth 2 · 4 members invited below")
    for who in ("Ann", "Bo", "Cy", "Di", "Ed"):
        await expect(tree.get_by_role("link", name=who, exact=True)).to_be_visible()
    await snap(page, "referrals-tree")
    await tree.get_by_role("link", name="Bo", exact=True).click()
    await expect(page.get_by_test_id("tree")).to_contain_text("Depth 1 · 1 members invited below")

    await open_page(page, f"{BASE}/referrals/{campaign['id']}")
    await expect(page.get_by_test_id("leaderboard")).to_contain_text("Ann")
    await expect(page.get_by_test_id("k-value")).not_to_have_text("0.0")  # the joins convert in the background
    await snap(page, "referrals-campaign")

    demo = next(
        c for c in (await api.get(f"{API}/campaigns")).json()["items"] if c["name"].startswith("Bring a friend")
    )
    await open_page(page, f"{BASE}/referrals/{demo['id']}")
    await expect(page.get_by_test_id("k-chart").locator("rect.chart-bar")).to_have_count(
        30
    )  # a bar per day of the last 30
    await snap(page, "referrals-k-chart")
    await open_page(page, f"{BASE}/referrals/queue")
    held = page.get_by_test_id("held")
    await expect(held.locator("tbody tr").first).to_contain_text("shared-source")
    await snap(page, "referrals-queue")

    reader = await server.new_operator("viewer")
    browser = page.context.browser
    assert browser is not None
    chinese = await browser.new_context(base_url=server.url, locale="en-US", viewport={"width": 1280, "height": 800})
    try:
        zh = await chinese.new_page()
        await sign_in(zh, reader.username, reader.password)
        await open_page(zh, f"{BASE}/referrals/tree?member_id={ann['id']}")
        await zh.get_by_test_id("locale").select_option("zh_CN")
        await expect(zh.locator("html")).to_have_attribute("lang", "zh-CN")
        await open_page(zh, f"{BASE}/referrals/tree?member_id={ann['id']}")  # the switch returns to the path alone
        await expect(zh.get_by_role("heading", level=1)).to_have_text("邀请树")
        await expect(zh.get_by_test_id("tree")).to_contain_text("深度 2 · 下级共 4 位会员")
        await snap(zh, "referrals-tree-zh")
    finally:
        await chinese.close()
