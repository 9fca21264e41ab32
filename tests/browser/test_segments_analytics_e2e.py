"""Segments and analytics in a real browser, on the demo (both switched on here, which rebuilds their
profiles and rollups from the demo's events in the background): an operator builds a segment — the
count follows the definition as it is typed (htmx, no reload), a wrong clause is named under it —
saves it, then reads the dashboard: headline measures, lifecycle funnel, trends, retention triangle
and heatmap. Screenshots of the builder and the dashboard."""

from __future__ import annotations

import asyncio
import json
import secrets

import httpx
from playwright.async_api import Page, expect

from browser.server import Server
from browser.ui import BASE, Snap, in_chinese, open_page, sections


async def switched_on(api: httpx.AsyncClient) -> None:
    for name in ("segments", "analytics"):
        response = await api.post("/api/v1/plugins", json={"name": name, "enabled": True})
        assert response.status_code in (200, 201), response.text
    for _ in range(300):  # the rebuild jobs read the demo's events
        summary = (await api.get("/api/v1/analytics/summary")).json()
        stages = (await api.get("/api/v1/segments/stages")).json()
        if summary["current"]["events"] and sum(s["members"] for s in stages):
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the rebuilds did not finish")


async def test_build_a_segment_and_read_the_dashboard(
    signed_in_page: Page, api: httpx.AsyncClient, snap: Snap, server: Server
) -> None:
    await switched_on(api)
    page = signed_in_page
    await open_page(page, f"{BASE}/")
    await sections(page).get_by_role("link", name="Segments").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Segments")
    await expect(page.get_by_test_id("funnel")).to_be_visible()
    await page.get_by_role("link", name="New segment").click()

    await page.evaluate("window.e2eSamePage = true")
    definition = page.get_by_test_id("definition")
    await definition.fill(json.dumps({"any": [{"stage": "new"}, {"events": {"type": "order.paid", "within_days": 0}}]}))
    await expect(page.get_by_test_id("count-error")).to_contain_text("definition.any[1].events.within_days")
    await definition.fill(
        json.dumps({"any": [{"stage": ["new", "active"]}, {"rfm": {"score": "f", "min": 1}}]}, indent=2)
    )
    await expect(page.get_by_test_id("count")).to_contain_text("members match now")
    expected = (
        await api.post("/api/v1/segments/preview", json={"definition": json.loads(await definition.input_value())})
    ).json()
    await expect(page.get_by_test_id("count").locator("strong")).to_have_text(f"{expected['count']:,}")
    assert await page.evaluate("window.e2eSamePage === true"), "the count reloaded the page"
    name = f"Engaged or buying {secrets.token_hex(3)}"
    await page.locator('input[name="name"]').fill(name)
    await snap(page, "segments-builder")
    await page.get_by_role("button", name="Save segment").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(name)
    await expect(page.get_by_test_id("export")).to_be_visible()

    await sections(page).get_by_role("link", name="Analytics").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Analytics")
    for chart in ("headlines", "funnel", "trends", "cohorts", "heatmap"):
        await expect(page.get_by_test_id(chart)).to_be_visible()
    await expect(page.locator('[data-measure="active_ratio"] td').nth(1)).to_contain_text("%")
    await snap(page, "analytics-dashboard")

    # the print-ready report, from the dashboard's link, then in Chinese for an operator of their own
    await page.get_by_test_id("report-html").click()
    await expect(page.get_by_role("heading", level=2).first).to_have_text("Headline measures")
    await expect(page.get_by_test_id("report-headlines").locator("tbody tr").first).to_be_visible()
    await snap(page, "analytics-report")
    await in_chinese(page, server, f"{BASE}/analytics")
    await page.get_by_test_id("report-html").click()
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await expect(page.get_by_role("heading", level=2).first).to_have_text("核心指标")
    # the plugin's own words, not another catalog's: "Joined" is a count here, a date on the referrals pages
    await expect(page.locator('[data-measure="joined"] td').first).to_have_text("新增会员")
    await snap(page, "analytics-report-zh")
