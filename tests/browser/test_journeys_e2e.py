"""Channels and journeys in a real browser, on the demo: an operator adds an SMTP provider (the
test's own SMTP server on loopback) and a welcome template, previews it against a real member, builds
a welcome journey — its trigger, then a send step added over htmx — and publishes it; a member who
then subscribes gets the email at the test's SMTP server, and the journey's page counts the run.
Screenshots of the channels page, the template preview and the journey editor."""

from __future__ import annotations

import asyncio
import secrets
import time

import httpx
from channels_helpers import Mailbox, mailbox
from playwright.async_api import Page, expect

from browser.ui import BASE, Snap, member, open_page, sections

__all__ = ["mailbox"]


async def enable(api: httpx.AsyncClient, *names: str) -> None:
    for name in names:
        response = await api.post("/api/v1/plugins", json={"name": name, "enabled": True})
        assert response.status_code in (200, 201), response.text


async def test_build_a_welcome_journey_and_see_the_email_arrive(
    signed_in_page: Page, api: httpx.AsyncClient, mailbox: Mailbox, snap: Snap
) -> None:
    page = signed_in_page
    await enable(api, "channels", "journeys")
    tag = secrets.token_hex(3)
    template_name = f"welcome-{tag}"

    # a provider: the test's SMTP server
    await open_page(page, f"{BASE}/")
    await sections(page).get_by_role("link", name="Channels").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Channels")
    provider = page.get_by_test_id("new-provider")
    await provider.locator('input[name="name"]').fill(f"mail-{tag}")
    await provider.locator('select[name="kind"]').select_option("smtp")
    await provider.locator('input[name="host"]').fill("127.0.0.1")
    await provider.locator('input[name="port"]').fill(str(mailbox.port))
    await provider.locator('input[name="sender"]').fill("hello@brand.test")
    await provider.locator('input[name="security"]').fill("none")
    await provider.locator('input[name="secret"]').fill("not-shown-again")
    await provider.get_by_role("button", name="Add provider").click()
    await expect(page.get_by_test_id("providers")).to_contain_text(f"mail-{tag}")
    assert "not-shown-again" not in await page.content()

    # the welcome template, previewed against a real member
    new = page.get_by_test_id("new-template")
    await new.locator('input[name="name"]').fill(template_name)
    await new.locator('input[name="subject"]').fill("Welcome, {{ member.display_name }}!")
    await new.locator('textarea[name="body"]').fill("Glad you are here.\nUnsubscribe: {{ unsubscribe_url }}")
    await new.get_by_role("button", name="Add template").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(template_name)
    seeded = await member(api, "demo-000042")
    await page.get_by_test_id("preview-form").locator('input[name="member_id"]').fill(str(seeded["id"]))
    await page.get_by_role("button", name="Preview for this member").click()
    await expect(page.get_by_test_id("preview")).to_contain_text(f"Welcome, {seeded['display_name']}!")
    await snap(page, "channels-template-preview")

    # the journey: on a marketing e-mail consent, send the welcome template
    await sections(page).get_by_role("link", name="Journeys").click()
    form = page.get_by_test_id("new-journey")
    await form.locator('input[name="name"]').fill(f"Welcome {tag}")
    await form.locator('select[name="trigger"]').select_option("event")
    await form.locator('input[name="event_type"]').fill("consent.granted")
    await form.get_by_role("button", name="Create journey").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(f"Welcome {tag}")
    await page.evaluate("window.e2eSamePage = true")
    adding = page.get_by_test_id("add-step")
    await adding.locator('select[name="type"]').select_option("action")
    await adding.locator('select[name="action"]').select_option("send")
    await adding.locator('input[name="template"]').fill(template_name)
    await adding.locator('input[name="purpose"]').fill("marketing.email")
    await adding.get_by_role("button", name="Add step").click()
    await expect(page.locator('[data-step="0"]')).to_contain_text(template_name)
    assert await page.evaluate("window.e2eSamePage === true"), "adding a step reloaded the whole page"
    await page.get_by_test_id("publish").click()
    await expect(page.get_by_test_id("journey-state")).to_have_text("live")

    # a newcomer subscribes: the email arrives at the test's SMTP server
    address = f"new-{tag}@example.test"
    created = await api.post(
        "/api/v1/members", json={"display_name": f"Newcomer {tag}", "identities": {"email": address}}
    )
    assert created.status_code == 201, created.text
    newcomer = created.json()
    granted = await api.post(
        "/api/v1/consents", json=[{"member_id": newcomer["id"], "purpose": "marketing.email", "status": "granted"}]
    )
    assert granted.status_code in (200, 201), granted.text
    deadline = time.monotonic() + 30
    while not mailbox.to(address):
        assert time.monotonic() < deadline, "the welcome email never arrived"
        await asyncio.sleep(0.2)
    [mail] = mailbox.to(address)
    assert mail["Subject"] == f"Welcome, Newcomer {tag}!"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    await page.reload()
    await expect(page.get_by_test_id("counts-0")).to_contain_text("passed 1")
    await snap(page, "journeys-editor")
    await sections(page).get_by_role("link", name="Channels").click()
    await expect(page.get_by_test_id("sends")).to_contain_text(template_name)
    await snap(page, "channels")
