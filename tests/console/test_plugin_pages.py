"""Plugins' console pages: mounted under the workspace, shown where the plugin is enabled, with the
plugin's own templates and translations, behind the same sign-in and roles as the console's pages."""

from __future__ import annotations

from typing import Any

import pytest
import scrm
from console_client import SignIn, text_of
from litestar import get
from scrm.kernel import Kernel
from scrm.plugins import PluginError
from scrm_web.plugin import plugin_pages


async def enable(kernel: Kernel, slug: str, name: str = "testplugin", on: bool = True) -> None:
    await kernel.workspaces.set_plugin(await kernel.workspaces.ref(slug), name, on, None)


async def test_a_plugin_page_answers_only_where_the_plugin_is_enabled(
    kernel: Kernel, sign_in: SignIn, tenant: Any
) -> None:
    me = await sign_in(tenant, "viewer")
    url = f"/console/w/{tenant.slug}/testplugin/welcomes"
    off = await me.get(url)
    assert off.status_code == 404
    assert "not enabled" in text_of(off)

    await enable(kernel, tenant.slug)
    await tenant.member(display_name="Mei")  # the plugin welcomes her
    page = await me.get(url)
    assert page.status_code == 200, page.text
    assert "Welcome, Mei!" in text_of(page)
    assert '<p data-testid="role">viewer</p>' in page.text
    assert f'<a href="{url}" aria-current="page">Welcomes</a>' in page.text  # its navigation entry, current

    await enable(kernel, tenant.slug, on=False)
    assert (await me.get(url)).status_code == 404


async def test_a_plugin_page_is_translated_with_its_own_catalog(kernel: Kernel, sign_in: SignIn, tenant: Any) -> None:
    await enable(kernel, tenant.slug)
    me = await sign_in(tenant, "operator")
    await kernel.operators.set_locale(me.operator_id, "zh_CN")
    page = await me.get(f"/console/w/{tenant.slug}/testplugin/welcomes")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert "<h1>欢迎语</h1>" in page.text


async def test_a_plugin_page_never_opens_another_workspace(
    kernel: Kernel, sign_in: SignIn, tenant: Any, other: Any
) -> None:
    await enable(kernel, tenant.slug)
    await enable(kernel, other.slug)
    await other.member(display_name="Secret Sam")
    me = await sign_in(tenant, "owner")
    response = await me.get(f"/console/w/{other.slug}/testplugin/welcomes")
    assert response.status_code == 404
    assert "Secret Sam" not in response.text


async def test_a_plugin_console_page_must_declare_a_scope(kernel: Kernel, plugin: Any) -> None:
    @get("/open", sync_to_thread=False)
    def open_page() -> str:
        return "anyone"

    plugin(scrm_console_pages=lambda: scrm.ConsolePages(routes=[open_page]))
    with pytest.raises(PluginError, match="declares no scope"):
        plugin_pages(kernel)


async def test_a_plugin_member_panel_renders_its_own_template(kernel: Kernel, sign_in: SignIn, tenant: Any) -> None:
    await enable(kernel, tenant.slug)
    member = await tenant.member(display_name="Mei")  # the plugin welcomes her
    me = await sign_in(tenant, "viewer")
    page = await me.get(f"/console/w/{tenant.slug}/members/{member['id']}")
    assert page.status_code == 200
    panel = page.text.split('class="card member-panel"', 1)[1].split("</section>", 1)[0]
    assert "Welcome note" in panel
    assert '<ul class="welcome-notes"><li>Welcome, Mei!</li></ul>' in panel
    assert "could not be shown" not in text_of(page)
