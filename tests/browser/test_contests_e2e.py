"""The contests plugin in a real browser, on the demo (where contests is enabled), from submission to
results: an operator sets a contest up through the form and opens submissions; members send entries
with images through the API (one held by the word list); the operator approves it in the moderation
queue; the public votes; the gallery shows the thumbnails; a vote is voided from the fraud signals;
the operator judges on the judging screen, publishes the results and awards the winners. Screenshots
of each page, in English and in Chinese."""

from __future__ import annotations

import base64
import io
import secrets
from typing import Any

import httpx
from PIL import Image
from playwright.async_api import Page, expect

from browser.server import Server
from browser.ui import BASE, CJK, Snap, in_chinese, member, open_page, sections

API = "/api/v1/contests/contests"


def photo(colour: str) -> str:
    image = Image.new("RGB", (640, 480), colour)
    for x in range(0, 640, 80):
        image.paste("#ffffff", (x, 200, x + 40, 280))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return base64.b64encode(out.getvalue()).decode()


async def move(api: httpx.AsyncClient, contest_id: int, phase: str) -> None:
    moved = await api.post(f"{API}/{contest_id}/phase", json={"phase": phase})
    assert moved.status_code == 200, moved.text


async def test_from_submission_to_results(
    signed_in_page: Page, api: httpx.AsyncClient, server: Server, snap: Snap
) -> None:
    page = signed_in_page
    name = f"Latte art {secrets.token_hex(3)}"
    await open_page(page, f"{BASE}/")
    await sections(page).get_by_role("link", name="Contests", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Contests")
    await page.get_by_role("link", name="New contest").click()
    form = page.get_by_test_id("contest-form")
    await form.locator('input[name="name"]').fill(name)
    await form.locator('textarea[name="rubric"]').fill("Creativity | 2 | 10\nTechnique | 1 | 10")
    await form.locator('input[name="award_points"]').fill("500, 200")
    await form.locator('input[name="award_tag"]').fill("latte-champion")
    await form.get_by_role("button", name="Create contest").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    contest = next(c for c in (await api.get(API, params={"limit": 500})).json()["items"] if c["name"] == name)
    cid = contest["id"]
    await page.get_by_role("button", name="Move to submission").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("submission")

    titles = {"demo-000101": "Swan", "demo-000102": "Rosetta", "demo-000103": "全城最好的拉花"}
    colours = ["#8e5b3a", "#c49a6c", "#5b3a29"]
    subs: dict[str, dict[str, Any]] = {}
    for (external_id, title), colour in zip(titles.items(), colours, strict=True):
        entrant = await member(api, external_id)
        body = {
            "member_id": entrant["id"],
            "title": title,
            "media": [{"filename": f"{external_id}.jpg", "data": photo(colour)}],
        }
        sent = await api.post(f"{API}/{cid}/submissions", json=body)
        assert sent.status_code == 201, sent.text
        subs[title] = sent.json()
    assert subs["全城最好的拉花"]["status"] == "pending"  # the demo word list holds 最好

    await page.get_by_role("link", name="Moderation queue").click()
    queue = page.get_by_test_id("queue")
    await expect(queue).to_contain_text("最好")
    await snap(page, "contests-moderation")
    await page.get_by_test_id(f"moderate-{subs['全城最好的拉花']['id']}").get_by_role("button", name="Approve").click()
    await expect(page.get_by_text("Nothing waits for moderation.")).to_be_visible()

    await move(api, cid, "voting")
    voters = [await member(api, f"demo-{n:06d}") for n in range(110, 118)]
    for i, voter in enumerate(voters):
        target = subs["Swan"] if i < 5 else subs["Rosetta"]
        voted = await api.post(
            f"{API}/{cid}/submissions/{target['id']}/votes", json={"member_id": voter["id"], "device": "phone-1"}
        )
        assert voted.status_code == 201, voted.text
    await page.get_by_role("link", name="Gallery").click()
    gallery = page.get_by_test_id("gallery")
    thumbs = gallery.locator("img")
    await expect(thumbs).to_have_count(3)
    for thumb in await thumbs.all():
        await expect(thumb).to_have_js_property("complete", True)
        assert await thumb.evaluate("img => img.naturalWidth") > 0, "a thumbnail did not load"
    await snap(page, "contests-gallery")

    await page.get_by_role("link", name="Fraud signals").click()
    await expect(page.get_by_test_id("signals")).to_contain_text("shared-device")
    await snap(page, "contests-signals")
    await page.get_by_test_id("signals").locator('input[name="vote_id"]').first.check()
    await page.get_by_role("button", name="Void the chosen votes").click()
    await expect(page.get_by_test_id("signals").get_by_text("voided").first).to_be_visible()

    await move(api, cid, "judging")
    await open_page(page, f"{BASE}/contests/judging")
    await page.get_by_role("link", name=name).click()
    for title, (creativity, technique) in {"Swan": (9, 8), "Rosetta": (6, 9), "全城最好的拉花": (7, 7)}.items():
        scoring = page.get_by_test_id(f"score-{subs[title]['id']}")
        await scoring.get_by_label("Creativity (0–10, ×2)").fill(str(creativity))
        await scoring.get_by_label("Technique (0–10, ×1)").fill(str(technique))
        await scoring.get_by_role("button", name="Save marks").click()
        await expect(page.get_by_test_id(f"own-score-{subs[title]['id']}")).to_be_visible()
    await snap(page, "contests-judging")

    await move(api, cid, "results")
    await open_page(page, f"{BASE}/contests/contests/{cid}/results")
    ranking = page.get_by_test_id("ranking").locator("tbody tr")
    await expect(ranking).to_have_count(3)
    published = (await api.get(f"{API}/{cid}/results")).json()["ranking"]
    shown = [await row.get_attribute("data-rank") for row in await ranking.all()]
    assert shown == [str(r["rank"]) for r in published]
    await expect(ranking.first).to_contain_text(published[0]["title"])
    await page.get_by_test_id("award").click()
    await expect(page.get_by_test_id("awards").locator("tbody tr")).to_have_count(2)
    await snap(page, "contests-results")
    winner = await api.get(f"/api/v1/members/{published[0]['member_id']}")
    assert "latte-champion" in winner.json()["tags"]

    # the same pages in Chinese, for an operator of their own (the language is theirs to keep)
    await in_chinese(page, server, f"{BASE}/contests/contests/{cid}/results")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("结果")
    await expect(page.get_by_role("link", name="作品墙")).to_be_visible()
    await snap(page, "contests-results-zh")
    await open_page(page, f"{BASE}/contests/contests/{cid}/gallery")
    await expect(page.get_by_test_id("gallery")).to_contain_text(CJK)
    await snap(page, "contests-gallery-zh")
    await open_page(page, f"{BASE}/contests/contests/{cid}")
    await snap(page, "contests-overview-zh")
    await open_page(page, f"{BASE}/moderation")
    await expect(page.get_by_role("heading", level=1)).to_have_text("敏感词")
    await snap(page, "wordlist-zh")
