"""The plugins page: installed plugins, the permissions they ask for, enabling (after confirmation)
and disabling them, and what that changes at once: their API routes and their console pages."""

from __future__ import annotations

from typing import Any

import pytest
from console_client import SignIn, text_of
from scrm.kernel import Kernel


async def test_owner_sees_plugins_and_the_permissions_they_ask_for(sign_in: SignIn, tenant: Any) -> None:
    owner = await sign_in(tenant, "owner")
    page = await owner.get(f"/console/w/{tenant.slug}/plugins")
    assert page.status_code == 200
    assert 'aria-current="page">Plugins<' in page.text
    text = text_of(page)
    assert "testplugin 0.1.0" in text
    assert "Welcomes new members (used by scrm&#39;s own tests)" in text
    assert "testplugin:read" in text
    assert "disabled" in text
    enable = f"/console/w/{tenant.slug}/plugins/testplugin/enable"
    assert f'href="{enable}" hx-post="{enable}"' in page.text
    assert "It asks for these permissions: testplugin:read" in page.text  # in the hx-confirm dialog


async def test_enabling_asks_first_then_the_plugin_works_here(sign_in: SignIn, tenant: Any) -> None:
    owner = await sign_in(tenant, "owner")
    assert (await tenant.get("/api/v1/testplugin/welcomes")).status_code == 404
    assert (
        f'href="/console/w/{tenant.slug}/testplugin/welcomes"'
        not in (await owner.get(f"/console/w/{tenant.slug}/plugins")).text
    )

    confirm = await owner.get(f"/console/w/{tenant.slug}/plugins/testplugin/enable")  # without JavaScript
    assert confirm.status_code == 200
    assert "It asks for these permissions:" in text_of(confirm)
    assert "<code>testplugin:read</code>" in confirm.text
    assert f'action="/console/w/{tenant.slug}/plugins/testplugin/enable"' in confirm.text

    enabled = await owner.post(f"/console/w/{tenant.slug}/plugins/testplugin/enable")
    assert enabled.status_code == 303
    assert enabled.headers["location"] == f"/console/w/{tenant.slug}/plugins"
    assert (await tenant.get("/api/v1/testplugin/welcomes")).status_code == 200
    page = await owner.get(f"/console/w/{tenant.slug}/plugins")
    assert "enabled" in text_of(page)
    assert f'href="/console/w/{tenant.slug}/testplugin/welcomes"' in page.text  # its console page, in the nav
    assert f"/console/w/{tenant.slug}/plugins/testplugin/disable" in page.text

    disabled = await owner.post(f"/console/w/{tenant.slug}/plugins/testplugin/disable", htmx=True)
    assert disabled.status_code == 200
    assert disabled.headers["HX-Redirect"] == f"/console/w/{tenant.slug}/plugins"  # a full load: the nav changed
    assert (await tenant.get("/api/v1/testplugin/welcomes")).status_code == 404
    assert (
        f'href="/console/w/{tenant.slug}/testplugin/welcomes"'
        not in (await owner.get(f"/console/w/{tenant.slug}/plugins")).text
    )


async def test_enabling_through_htmx(sign_in: SignIn, tenant: Any) -> None:
    owner = await sign_in(tenant, "owner")
    enabled = await owner.post(f"/console/w/{tenant.slug}/plugins/testplugin/enable", htmx=True)
    assert enabled.status_code == 200
    assert enabled.headers["HX-Redirect"] == f"/console/w/{tenant.slug}/plugins"
    assert (await tenant.get("/api/v1/testplugin/welcomes")).status_code == 200


async def test_an_unknown_plugin_is_not_found(sign_in: SignIn, tenant: Any) -> None:
    owner = await sign_in(tenant, "owner")
    assert (await owner.get(f"/console/w/{tenant.slug}/plugins/nosuch/enable")).status_code == 404
    assert (await owner.post(f"/console/w/{tenant.slug}/plugins/nosuch/enable")).status_code == 404


@pytest.mark.parametrize("role", ["operator", "analyst", "viewer"])
async def test_only_owners_switch_plugins(sign_in: SignIn, tenant: Any, role: str) -> None:
    someone = await sign_in(tenant, role)
    page = await someone.get(f"/console/w/{tenant.slug}/plugins")
    assert page.status_code == 200
    assert "testplugin:read" in page.text
    assert "/plugins/testplugin/enable" not in page.text
    assert (await someone.get(f"/console/w/{tenant.slug}/plugins/testplugin/enable")).status_code == 403
    assert (await someone.post(f"/console/w/{tenant.slug}/plugins/testplugin/enable")).status_code == 403
    assert (await tenant.get("/api/v1/testplugin/welcomes")).status_code == 404


async def test_switching_without_the_csrf_token_is_refused(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    owner = await sign_in(tenant, "owner")
    refused = await owner.post(f"/console/w/{tenant.slug}/plugins/testplugin/enable", csrf=False)
    assert refused.status_code == 403
    assert (await tenant.get("/api/v1/testplugin/welcomes")).status_code == 404
    await kernel.workspaces.set_plugin(await kernel.workspaces.ref(tenant.slug), "testplugin", True, None)
    refused = await owner.post(f"/console/w/{tenant.slug}/plugins/testplugin/disable", csrf=False)
    assert refused.status_code == 403
    assert (await tenant.get("/api/v1/testplugin/welcomes")).status_code == 200


async def test_no_way_into_another_workspace_s_plugins(sign_in: SignIn, tenant: Any, other: Any) -> None:
    owner = await sign_in(tenant, "owner")
    assert (await owner.get(f"/console/w/{other.slug}/plugins")).status_code == 404
    assert (await owner.post(f"/console/w/{other.slug}/plugins/testplugin/enable")).status_code == 404
    assert (await other.get("/api/v1/testplugin/welcomes")).status_code == 404
