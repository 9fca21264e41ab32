"""The console page and the member panel, in English and Chinese (when the console, scrm-web, is
installed: ``pip install scrm-web``)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from litestar import Litestar
from scrm import Kernel
from scrm.testing import Tenant

pytest.importorskip("scrm_web")


@asynccontextmanager
async def signed_in(
    kernel: Kernel, app: Litestar, tenant: Tenant, role: str
) -> AsyncIterator[tuple[int, httpx.AsyncClient]]:
    """A console operator with ``role`` in the tenant's workspace, signed in (its id and a client)."""
    operator = await kernel.operators.create(f"op-{secrets.token_hex(4)}", secrets.token_urlsafe(16))
    await kernel.operators.grant(operator.id, await kernel.workspaces.ref(tenant.slug), role)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://scrm.test") as browser:
        browser.cookies.set(
            "scrm_session", await kernel.operators.open_session(operator.id), domain="scrm.test", path="/console"
        )
        yield operator.id, browser


async def test_the_page_and_the_panel(kernel: Kernel, app: Litestar, tenant: Tenant) -> None:
    await tenant.enable("birthday")
    member = await tenant.member(display_name="Mei")
    async with signed_in(kernel, app, tenant, "viewer") as (operator_id, browser):
        page = await browser.get(f"/console/w/{tenant.slug}/birthday/greetings")
        assert page.status_code == 200, page.text
        assert 'data-testid="birthday-greetings"' in page.text
        member_page = await browser.get(f"/console/w/{tenant.slug}/members/{member['id']}")
        assert 'data-testid="birthday-panel"' in member_page.text
        await kernel.operators.set_locale(operator_id, "zh_CN")
        chinese = await browser.get(f"/console/w/{tenant.slug}/birthday/greetings")
        assert "<th>会员</th>" in chinese.text


async def test_the_page_answers_only_where_enabled(kernel: Kernel, app: Litestar, tenant: Tenant) -> None:
    async with signed_in(kernel, app, tenant, "viewer") as (_, browser):
        assert (await browser.get(f"/console/w/{tenant.slug}/birthday/greetings")).status_code == 404
