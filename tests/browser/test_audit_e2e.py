"""The audit plugin's console pages in a real browser, on the demo: an operator checks a draft against
the Chinese starter list (the findings marked in the text), records a data-subject request and carries
it out, dry-runs retention, finds their own writes in the audit trail, and reads the reports page with
its charts and downloads the HTML report; the requests queue is then read in Chinese. Screenshots."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from browser.server import Server
from browser.ui import BASE, Snap, member, open_page, sections, sign_in


async def test_compliance_pages(signed_in_page: Page, api: httpx.AsyncClient, server: Server, snap: Snap) -> None:
    enabled = await api.post("/api/v1/plugins", json={"name": "audit", "enabled": True})
    assert enabled.status_code in (200, 201), enabled.text
    page = signed_in_page
    await open_page(page, f"{BASE}/")
    await sections(page).get_by_role("link", name="Compliance").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Integrity")
    await page.get_by_role("button", name="Verify now").click()
    await expect(page.get_by_test_id("checks").locator("tbody tr").first).to_contain_text("sound")

    await page.get_by_role("link", name="Copy review").click()
    await page.get_by_role("button", name="Add the Chinese starter list").click()
    await page.locator('textarea[name="text"]').fill("全国第一的拿铁，还能治愈疲劳！")
    await page.get_by_role("button", name="Check").click()
    report = page.get_by_test_id("copy-report")
    await expect(report.locator("mark")).to_have_text(["第一", "治愈"])
    await snap(page, "audit-copy-check")

    someone = await member(api, "demo-000031")
    await page.get_by_role("link", name="Data-subject requests").click()
    await page.locator('input[name="member"]').fill(str(someone["id"]))
    await page.locator('select[name="kind"]').select_option("withdrawal")
    await page.locator('input[name="note"]').fill("asked at the counter")
    await page.get_by_role("button", name="Record", exact=True).click()
    row = page.locator(f'tr:has(a:text-is("{someone["id"]}"))').first
    await expect(row).to_contain_text("open")
    await snap(page, "audit-requests")
    await row.get_by_role("button", name="Carry out").click()
    await expect(page.locator(f'tr:has(a:text-is("{someone["id"]}"))').first).to_contain_text("done")

    await page.get_by_role("link", name="Retention").click()
    await page.locator('input[name="events_days"]').fill("365")
    await page.get_by_role("button", name="Save").click()
    await page.get_by_role("button", name="Dry run").click()
    await expect(page.get_by_test_id("dry-run")).to_contain_text("Applying the policy now deletes")

    await page.get_by_role("link", name="Audit trail").click()
    trail = page.get_by_test_id("trail")
    await expect(trail).to_contain_text("operator:")
    await expect(trail).to_contain_text("console")
    await snap(page, "audit-trail")

    await page.get_by_role("link", name="Reports").click()
    await expect(page.get_by_test_id("report").locator("svg, .stat").first).to_be_visible()
    await expect(page.locator("svg").first).to_be_visible()
    await snap(page, "audit-reports")
    async with page.expect_download() as download:
        await page.get_by_test_id("download").click()
    saved = await (await download.value).path()
    html = saved.read_text(encoding="utf-8")
    assert "<svg" in html
    assert "Compliance report" in html

    reader = await server.new_operator("analyst")
    browser = page.context.browser
    assert browser is not None
    chinese = await browser.new_context(base_url=server.url, locale="en-US", viewport={"width": 1280, "height": 800})
    try:
        zh = await chinese.new_page()
        await sign_in(zh, reader.username, reader.password)
        await open_page(zh, f"{BASE}/audit/requests")
        await zh.get_by_test_id("locale").select_option("zh_CN")
        await expect(zh.get_by_role("heading", level=1)).to_have_text("个人信息主体请求")
        await expect(zh.get_by_test_id("requests")).to_contain_text("已完成")
        await snap(zh, "audit-requests-zh")
    finally:
        await chinese.close()
