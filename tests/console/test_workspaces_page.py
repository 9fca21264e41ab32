"""The start page, and the agency admin's list of every workspace with a form that creates one."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from console_client import SignIn, text_of
from scrm.kernel import Kernel


async def test_the_start_page_opens_the_first_workspace(sign_in: SignIn, tenant: Any) -> None:
    owner = await sign_in(tenant, "viewer")
    start = await owner.get("/console/")
    assert start.status_code == 303
    assert start.headers["location"] == f"/console/w/{tenant.slug}/"
    loner = await sign_in(None)
    alone = await loner.get("/console/")
    assert alone.status_code == 200
    assert "No workspace yet" in alone.text


async def test_an_admin_sees_every_workspace(sign_in: SignIn, tenant: Any, other: Any) -> None:
    admin = await sign_in(None, admin=True)
    page = await admin.get("/console/workspaces")
    assert page.status_code == 200
    for ws in (tenant, other):
        assert f'<a href="/console/w/{ws.slug}/">{ws.slug.title()}</a>' in page.text
    assert 'name="time_zone" type="text" value="UTC"' in page.text
    assert '<option value="Asia/Shanghai">' in page.text  # suggested time zones
    assert 'href="/console/workspaces"' in (await admin.get(f"/console/w/{tenant.slug}/keys")).text  # in the switcher


async def test_an_admin_creates_a_workspace_and_opens_it(sign_in: SignIn, kernel: Kernel) -> None:
    admin = await sign_in(None, admin=True)
    name = f"Acme Coffee {secrets.token_hex(3)}"
    slug = name.lower().replace(" ", "-")
    created = await admin.post("/console/workspaces", {"name": name, "slug": "", "time_zone": "Asia/Shanghai"})
    assert created.status_code == 303
    assert created.headers["location"] == f"/console/workspaces?created={slug}"  # the slug made from the name
    page = await admin.get(created.headers["location"])
    assert f"The workspace {name} is created." in text_of(page)
    assert f'<a href="/console/w/{slug}/">Open it</a>' in page.text
    ws = await kernel.workspaces.get(slug)
    assert (ws.name, ws.time_zone) == (name, "Asia/Shanghai")
    opened = await admin.get(f"/console/w/{slug}/keys")
    assert opened.status_code == 200
    assert "No API keys yet." in opened.text


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"name": "Bad Slug", "slug": "Bad Slug!"}, "slug", "Expected `str` matching"),
        (
            {"name": "Mars Base", "slug": "mars-{}", "time_zone": "Mars/Olympus_Mons"},
            "time_zone",
            "not an IANA time zone",
        ),
        ({"name": "", "slug": "nameless-{}"}, "name", "required"),
        ({"name": "Taken", "slug": "{taken}"}, "slug", "already exists"),
    ],
)
async def test_bad_input_comes_back_with_the_error_next_to_the_field(
    sign_in: SignIn, tenant: Any, kernel: Kernel, form: dict[str, str], field: str, message: str
) -> None:
    admin = await sign_in(None, admin=True)
    form = {**form, "slug": form["slug"].format(secrets.token_hex(3), taken=tenant.slug)}
    before = len(await kernel.workspaces.list())
    response = await admin.post("/console/workspaces", form)
    assert response.status_code == 422
    assert f'id="{field}-error">{message}' in response.text
    for typed in form.values():
        assert f'value="{typed}"' in response.text
    assert len(await kernel.workspaces.list()) == before


async def test_only_agency_admins(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    owner = await sign_in(tenant, "owner")
    page = await owner.get("/console/workspaces")
    assert page.status_code == 403
    assert "Only agency admins may do this." in page.text
    assert 'href="/console/workspaces"' not in (await owner.get(f"/console/w/{tenant.slug}/keys")).text
    slug = f"sneaky-{secrets.token_hex(3)}"
    assert (await owner.post("/console/workspaces", {"name": "Sneaky", "slug": slug})).status_code == 403
    assert slug not in {w.slug for w in await kernel.workspaces.list()}


async def test_creating_without_the_csrf_token_is_refused(sign_in: SignIn, kernel: Kernel) -> None:
    admin = await sign_in(None, admin=True)
    slug = f"forged-{secrets.token_hex(3)}"
    refused = await admin.post("/console/workspaces", {"name": "Forged", "slug": slug}, csrf=False)
    assert refused.status_code == 403
    assert slug not in {w.slug for w in await kernel.workspaces.list()}
