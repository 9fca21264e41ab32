"""The agency's integration pages in a real browser, on the demo: an operator subscribes an endpoint
(a real receiver on loopback) on the Webhooks page, sees an event's signed delivery in the log and
replays it; approves an OAuth app's request on the consent screen and lands back on the app with a
code that buys an access token; reads the plugin catalogue's permissions. Screenshots of each."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from playwright.async_api import Page, expect
from standardwebhooks.webhooks import Webhook

from browser.server import Server
from browser.ui import BASE, Snap, member, open_page, sections


@contextmanager
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """An HTTP server on loopback that records POSTs and answers GETs (an app's callback page)."""
    got: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append((dict(self.headers.items()), self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(204)
            self.end_headers()

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><body><h1>The app's callback</h1></body></html>")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", got
    finally:
        server.shutdown()
        server.server_close()


async def test_subscribe_see_a_signed_delivery_and_replay_it(
    signed_in_page: Page, api: httpx.AsyncClient, snap: Snap
) -> None:
    page = signed_in_page
    assert (await api.post("/api/v1/plugins", json={"name": "webhooks", "enabled": True})).status_code == 200
    with receiver() as (url, got):
        await open_page(page, f"{BASE}/")
        await sections(page).get_by_role("link", name="Webhooks").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
        hook = f"{url}/hooks/{secrets.token_hex(3)}"
        await page.get_by_label("Endpoint URL").fill(hook)
        await page.get_by_label("Event types").fill("order.*")
        await page.get_by_role("button", name="Subscribe").click()
        secret = (await page.get_by_test_id("secret").locator("code").inner_text()).strip()
        assert secret.startswith("whsec_")
        await snap(page, "webhooks-subscribed")

        buyer = await member(api, "demo-000007")
        posted = await api.post("/api/v1/events", json={"member_id": buyer["id"], "type": "order.paid"})
        assert posted.status_code == 201, posted.text
        for _ in range(100):
            if got:
                break
            await page.wait_for_timeout(100)
        headers, body = got[0]
        assert Webhook(secret).verify(body, headers)["type"] == "order.paid"

        await open_page(page, f"{BASE}/webhooks/")
        await page.get_by_role("link", name=hook).click()
        row = page.get_by_test_id("deliveries").locator("tbody tr").first
        await expect(row).to_contain_text("order.paid")
        await expect(row).to_contain_text("succeeded")
        await snap(page, "webhooks-log")
        await row.get_by_role("button", name="Replay").click()
        for _ in range(100):
            if len(got) == 2:
                break
            await page.wait_for_timeout(100)
    assert got[1][0]["webhook-id"] == got[0][0]["webhook-id"]  # a replay is the same message
    Webhook(secret).verify(got[1][1], got[1][0])


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def test_an_operator_approves_an_app_on_the_consent_screen(
    signed_in_page: Page, api: httpx.AsyncClient, server: Server, snap: Snap
) -> None:
    page = signed_in_page
    with receiver() as (url, _):
        callback = f"{url}/callback"
        created = await api.post(
            "/api/v1/apps", json={"name": "Mini program", "scopes": ["members:read"], "redirect_uris": [callback]}
        )
        assert created.status_code == 201, created.text
        app = created.json()
        verifier, challenge = pkce()
        query = httpx.QueryParams(
            {
                "response_type": "code",
                "client_id": app["client_id"],
                "redirect_uri": callback,
                "scope": "members:read",
                "state": "st",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        await open_page(page, f"/console/oauth/authorize?{query}")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Authorize Mini program?")
        await expect(page.get_by_label("members:read")).to_be_checked()
        await snap(page, "oauth-consent")
        await page.get_by_role("button", name="Approve").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("The app's callback")
        back = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert back["state"] == "st"
    async with httpx.AsyncClient(base_url=server.url) as client:
        issued = await client.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": back["code"],
                "redirect_uri": callback,
                "code_verifier": verifier,
            },
            auth=(app["client_id"], app["client_secret"]),
        )
        assert issued.status_code == 200, issued.text
        access = issued.json()["access_token"]
        listed = await client.get("/api/v1/members", headers={"Authorization": f"Bearer {access}"})
        assert listed.status_code == 200, listed.text


async def test_the_apps_page_registers_an_app(signed_in_page: Page, snap: Snap) -> None:
    page = signed_in_page
    await open_page(page, f"{BASE}/")
    await sections(page).get_by_role("link", name="Apps").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Apps")
    await page.get_by_label("Name").fill(f"ERP {secrets.token_hex(2)}")
    await page.get_by_label("members:read").check()
    await page.get_by_role("button", name="Register app").click()
    await expect(page.get_by_test_id("new-app")).to_contain_text("scrm_secret_")
    await snap(page, "apps-registered")
