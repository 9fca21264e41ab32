"""An operator's day with members, in a real browser on the demo: create a member, edit an
attribute, record consent and see it in the ledger, import a small file with one bad row and read the
report, and read a drawn lottery's honest contactability when some winners consented and some did
not. Screenshots of each new page, in English and in Chinese."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from browser.server import Credentials, Server
from browser.ui import BASE, CJK, Snap, open_page, sign_in


@pytest.fixture(scope="module")
async def zh_operator(server: Server) -> Credentials:
    """An operator of their own who reads the console in Chinese (the language is theirs to keep)."""
    return await server.new_operator("operator")


@pytest.fixture
async def in_chinese(page: Page, zh_operator: Credentials) -> Page:
    await sign_in(page, zh_operator.username, zh_operator.password)
    await open_page(page, f"{BASE}/members")
    await page.get_by_test_id("locale").select_option("zh_CN")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    return page


async def create(page: Page, name: str, external_id: str) -> None:
    """Create a member through the form (ends on their page)."""
    await open_page(page, f"{BASE}/members")
    await page.get_by_test_id("new-member").click()
    form = page.get_by_test_id("member-form")
    await form.locator('input[name="display_name"]').fill(name)
    await form.locator('input[name="external_id"]').fill(external_id)
    await form.locator('textarea[name="identities"]').fill(f"email: {external_id}@example.com")
    await form.locator('textarea[name="attributes"]').fill("city = Hangzhou\nvisits = 3")
    await form.get_by_role("button").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(name)


async def test_create_a_member_and_edit_an_attribute(signed_in_page: Page, api: httpx.AsyncClient, snap: Snap) -> None:
    page = signed_in_page
    external_id = f"e2e-{secrets.token_hex(3)}"
    await open_page(page, f"{BASE}/members")
    await expect(page.get_by_test_id("member-total")).to_contain_text("members match")
    await snap(page, "members-list")
    await page.get_by_test_id("new-member").click()
    await snap(page, "member-new")
    await create(page, "Zhou Xun", external_id)
    await expect(page.locator("#member-identities")).to_contain_text("Hangzhou")
    await snap(page, "member-created")

    await page.get_by_role("link", name="Edit profile, identities and attributes").click()
    attributes = page.locator('textarea[name="attributes"]')
    await expect(attributes).to_have_value("city = Hangzhou\nvisits = 3")
    await snap(page, "member-edit")
    await attributes.fill("city = Suzhou\nvisits = 4")
    await page.get_by_test_id("member-form").get_by_role("button", name="Save").click()
    await expect(page.locator("#member-identities")).to_contain_text("Suzhou")
    stored = (await api.get(f"/api/v1/members/by-external-id/{external_id}")).json()
    assert stored["attributes"] == {"city": "Suzhou", "visits": 4}

    # a bad line comes back next to its field, with what was typed
    await page.get_by_role("link", name="Edit profile, identities and attributes").click()
    await page.locator('textarea[name="identities"]').fill("no colon here")
    await page.get_by_test_id("member-form").get_by_role("button", name="Save").click()
    await expect(page.locator("#identities-error")).to_contain_text("line 1")
    await expect(page.locator('textarea[name="identities"]')).to_have_value("no colon here")
    await snap(page, "member-edit-error")


async def test_record_consent_and_see_it_in_the_ledger(
    signed_in_page: Page, api: httpx.AsyncClient, snap: Snap
) -> None:
    page = signed_in_page
    external_id = f"e2e-{secrets.token_hex(3)}"
    await create(page, "Qian Li", external_id)
    await page.get_by_text("Record a grant or a withdrawal").click()
    form = page.get_by_test_id("consent-form")
    await form.locator('select[name="purpose"]').select_option("marketing.wecom")
    await form.locator('select[name="status"]').select_option("granted")
    await form.locator('textarea[name="evidence"]').fill("Agreed at the Hangzhou store, receipt 4471")
    await snap(page, "member-consent-form")
    await form.get_by_role("button", name="Record").click()
    ledger = page.locator("#member-consent-history")
    await expect(ledger).to_have_attribute("open", "")
    newest = ledger.locator("tbody tr").first
    await expect(newest).to_contain_text("marketing.wecom")
    await expect(newest).to_contain_text("operator")
    await expect(newest).to_contain_text("receipt 4471")
    await expect(page.locator('tr[data-purpose="marketing.wecom"]')).to_contain_text("granted")
    await snap(page, "member-consent-recorded")
    member = (await api.get(f"/api/v1/members/by-external-id/{external_id}")).json()
    consent = (await api.get(f"/api/v1/members/{member['id']}/consents")).json()
    assert [(r["purpose"], r["status"], r["source"]) for r in consent["history"]] == [
        ("marketing.wecom", "granted", "operator")
    ]


async def test_import_a_file_with_one_bad_row(signed_in_page: Page, tmp_path: Path, snap: Snap) -> None:
    page = signed_in_page
    token = secrets.token_hex(3)
    file = tmp_path / "members.csv"
    file.write_text(f"external_id,display_name,status\nimp-{token}-1,Fay,active\nimp-{token}-2,Gus,asleep\n")
    await open_page(page, f"{BASE}/members/import")
    await snap(page, "member-import")
    await page.locator('input[type="file"]').set_input_files(file)
    await page.get_by_test_id("import-form").get_by_role("button", name="Import").click()
    report = page.get_by_test_id("import-report")
    await expect(report).to_contain_text("Bad rows")
    await expect(page.get_by_test_id("import-failed")).to_have_text("1")
    errors = page.get_by_test_id("import-errors")
    await expect(errors.locator("tbody tr")).to_have_count(1)
    await expect(errors.locator("tbody tr")).to_contain_text("3")
    await expect(errors.locator("tbody tr")).to_contain_text("status")
    await expect(page.get_by_test_id("import-not-written")).to_be_visible()
    await expect(page.locator("#import-progress")).to_have_attribute("value", "100")
    await snap(page, "member-import-report")

    file.write_text(f"external_id,display_name,status\nimp-{token}-1,Fay,active\nimp-{token}-2,Gus,active\n")
    await page.locator('input[type="file"]').set_input_files(file)
    await page.get_by_test_id("import-form").get_by_role("button", name="Import").click()
    await expect(page.get_by_test_id("import-created")).to_have_text("2")
    await expect(report).to_contain_text("Every row was written.")


async def test_a_draw_with_mixed_consent_says_who_can_be_contacted_now(
    signed_in_page: Page, api: httpx.AsyncClient, snap: Snap
) -> None:
    """Two of four winners consented to be told through WeCom: the page says 2 of 4, each winner's
    answer, and offers to notify the two only."""
    page = signed_in_page
    token = secrets.token_hex(3)
    ids = []
    for i in range(4):
        created = await api.post("/api/v1/members", json={"display_name": f"Mixed {token} {i}"})
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    at = datetime.now(UTC)
    campaign = await api.post(
        "/api/v1/lottery/campaigns",
        json={
            "name": f"Mixed consent {token}",
            "opens_at": (at - timedelta(minutes=1)).isoformat(),
            "closes_at": (at + timedelta(days=1)).isoformat(),
            "prizes": [{"name": "Mug", "quantity": 4}],
        },
    )
    assert campaign.status_code == 201, campaign.text
    here = f"/api/v1/lottery/campaigns/{campaign.json()['id']}"
    assert (await api.post(f"{here}/open")).status_code == 200
    for member_id in ids:
        assert (await api.post(f"{here}/entries", json={"member_id": member_id})).status_code == 201
    assert (await api.post(f"{here}/close")).status_code == 200
    assert (await api.post(f"{here}/draw")).status_code == 200
    # consent arrives after the draw: the stored answers say nobody, the door says two
    grants = [{"member_id": m, "purpose": "marketing.wecom", "status": "granted", "source": "form"} for m in ids[:2]]
    assert (await api.post("/api/v1/consents", json=grants)).status_code == 201

    await open_page(page, f"{BASE}/lottery/campaigns/{campaign.json()['id']}/results")
    await expect(page.get_by_test_id("reachable-summary")).to_have_text(
        "2 of 4 winners can be contacted now for marketing.wecom."
    )
    for i, member_id in enumerate(ids):
        cell = page.locator(f'[data-testid="winners"] tr[data-member="{member_id}"] [data-testid="contactable-now"]')
        await expect(cell).to_have_text("yes" if i < 2 else "no: no consent recorded")
    await expect(page.get_by_role("button", name="Notify the reachable winners not yet notified (2)")).to_be_visible()
    await expect(page.get_by_test_id("unreachable").locator("tbody tr")).to_have_count(2)
    await snap(page, "lottery-results-mixed")

    # the drawn lottery's form: what decided the winners is read-only, with the reason
    await open_page(page, f"{BASE}/lottery/campaigns/{campaign.json()['id']}/edit")
    prizes = page.locator('textarea[name="prizes"]')
    await expect(prizes).to_have_attribute("readonly", "")
    await expect(page.locator("#prizes-locked")).to_have_text("Locked: the lottery is drawn.")
    await expect(page.locator('input[name="name"]')).not_to_have_attribute("readonly", "")
    await snap(page, "lottery-edit-drawn")


async def test_the_new_pages_in_chinese(in_chinese: Page, api: httpx.AsyncClient, snap: Snap) -> None:
    page = in_chinese
    member = (await api.get("/api/v1/members", params={"limit": 1})).json()["items"][0]
    campaigns = (await api.get("/api/v1/lottery/campaigns")).json()["items"]
    drawn = next(c for c in campaigns if c["state"] == "drawn")
    wheel = next(c for c in campaigns if c["mode"] == "instant")
    pages = {
        "members-list-zh": f"{BASE}/members",
        "member-new-zh": f"{BASE}/members/new",
        "member-zh": f"{BASE}/members/{member['id']}",
        "member-edit-zh": f"{BASE}/members/{member['id']}/edit",
        "member-erase-zh": f"{BASE}/members/{member['id']}/erase",
        "member-import-zh": f"{BASE}/members/import",
        "lottery-results-zh": f"{BASE}/lottery/campaigns/{drawn['id']}/results",
        "lottery-edit-drawn-zh": f"{BASE}/lottery/campaigns/{drawn['id']}/edit",
        "lottery-campaign-zh": f"{BASE}/lottery/campaigns/{drawn['id']}",
        "lottery-wheel-zh": f"{BASE}/lottery/campaigns/{wheel['id']}",
        "events-zh": f"{BASE}/events",
        "points-rewards-zh": f"{BASE}/points/rewards",
        "points-leaderboard-zh": f"{BASE}/points/leaderboard?by=lifetime",
        "dashboard-zh": f"{BASE}/",
    }
    for name, path in pages.items():
        await open_page(page, path)
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        await expect(page.get_by_role("main")).to_contain_text(CJK)
        await snap(page, name)
    await open_page(page, f"{BASE}/members/{member['id']}")
    await page.locator("details.consent-form > summary").click()
    await expect(page.get_by_test_id("consent-form")).to_contain_text(CJK)
    await snap(page, "member-consent-form-zh")
