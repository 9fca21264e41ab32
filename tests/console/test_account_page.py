"""The operator's own account: display name, language, password, and ending the other sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from console_client import PASSWORD, ConsoleClient, SignIn, client_for, text_of
from litestar import Litestar
from scrm.kernel import Kernel

NEW_PASSWORD = "a much longer new passphrase"
Elsewhere = Callable[[ConsoleClient], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def elsewhere(kernel: Kernel, app: Litestar) -> AsyncIterator[Elsewhere]:
    """``await elsewhere(me)``: a client signed in as the same operator through another session."""
    clients: list[httpx.AsyncClient] = []

    async def open_(me: ConsoleClient) -> httpx.AsyncClient:
        http = client_for(app)
        clients.append(http)
        http.cookies.set(
            "scrm_session", await kernel.operators.open_session(me.operator_id), domain="scrm.test", path="/console"
        )
        return http

    yield open_
    for http in clients:
        await http.aclose()


async def signs_in(app: Litestar, address: str, username: str, password: str) -> bool:
    async with client_for(app, address) as http:
        await http.get("/console/login")
        form = {"username": username, "password": password, "_csrf_token": http.cookies["csrftoken"]}
        return (await http.post("/console/login", data=form)).status_code == 303


async def test_the_account_page(sign_in: SignIn, tenant: Any) -> None:
    me = await sign_in(tenant, "viewer")
    workspace_page = await me.get(f"/console/w/{tenant.slug}/plugins")
    assert 'href="/console/account"' in workspace_page.text  # linked from the header
    assert 'href="/console/account"' not in workspace_page.text.split('<nav class="sidebar"', 1)[1]
    page = await me.get("/console/account")
    assert page.status_code == 200
    text = text_of(page)
    assert f"Signed in as {me.username}" in text
    assert 'name="display_name"' in page.text
    assert '<option value="zh_CN"' in page.text
    assert 'name="current_password"' in page.text
    assert "Sign out everywhere else" in text
    assert '<nav class="sidebar"' not in page.text  # outside any workspace


async def test_the_account_page_needs_no_workspace(sign_in: SignIn) -> None:
    loner = await sign_in(None)
    assert (await loner.get("/console/account")).status_code == 200


async def test_changing_the_display_name(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    me = await sign_in(tenant, "analyst")
    saved = await me.post("/console/account/profile", {"display_name": "Ada Lovelace"})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/console/account?done=profile"
    page = await me.get(saved.headers["location"])
    assert "Your profile is saved." in page.text
    assert 'value="Ada Lovelace"' in page.text
    assert (await kernel.operators.get(me.operator_id)).display_name == "Ada Lovelace"

    too_long = await me.post("/console/account/profile", {"display_name": "y" * 201})
    assert too_long.status_code == 422
    assert 'id="display_name-error">must be at most 200 characters long' in too_long.text
    assert 'value="' + "y" * 201 + '"' in too_long.text


async def test_switching_language(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    me = await sign_in(tenant, "owner")
    keys = f"/console/w/{tenant.slug}/keys"
    assert '<html lang="en">' in (await me.get(keys)).text
    switched = await me.post("/console/account/locale", {"locale": "zh_CN", "next": keys})
    assert switched.status_code == 303
    assert switched.headers["location"] == keys
    assert '<html lang="zh-CN">' in (await me.get(keys)).text
    assert (await kernel.operators.get(me.operator_id)).locale == "zh_CN"
    back = await me.post("/console/account/locale", {"locale": "en", "next": "https://evil.example/"})
    assert back.headers["location"] == "/console/"  # never off the console
    assert '<html lang="en">' in (await me.get("/console/account")).text


async def test_an_unknown_language_is_refused(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    me = await sign_in(tenant, "owner")
    refused = await me.post("/console/account/locale", {"locale": "xx_XX", "next": "/console/account"})
    assert refused.status_code == 422
    assert 'id="locale-error">not one of the console' in refused.text
    assert (await kernel.operators.get(me.operator_id)).locale == "en"


async def test_changing_the_password_ends_the_other_sessions(
    sign_in: SignIn, tenant: Any, app: Litestar, elsewhere: Elsewhere
) -> None:
    me = await sign_in(tenant, "owner")
    other_session = await elsewhere(me)
    assert (await other_session.get("/console/account")).status_code == 200
    form = {"current_password": PASSWORD, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    changed = await me.post("/console/account/password", form)
    assert changed.status_code == 303
    assert changed.headers["location"] == "/console/account?done=password"
    assert "Your password is changed" in (await me.get(changed.headers["location"])).text  # this session goes on
    gone = await other_session.get("/console/account")
    assert gone.status_code == 303
    assert gone.headers["location"].startswith("/console/login")
    assert not await signs_in(app, "10.5.0.1", me.username, PASSWORD)
    assert await signs_in(app, "10.5.0.1", me.username, NEW_PASSWORD)


@pytest.mark.parametrize(
    ("current", "new", "again", "field", "message"),
    [
        ("not my password", NEW_PASSWORD, NEW_PASSWORD, "current_password", "this is not your current password"),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!", "password_again", "the two new passwords differ"),
        (PASSWORD, "short", "short", "password", "must be at least 10 characters long"),
    ],
)
async def test_a_password_change_with_errors(
    sign_in: SignIn,
    tenant: Any,
    app: Litestar,
    elsewhere: Elsewhere,
    current: str,
    new: str,
    again: str,
    field: str,
    message: str,
) -> None:
    me = await sign_in(tenant, "viewer")
    other_session = await elsewhere(me)
    form = {"current_password": current, "password": new, "password_again": again}
    refused = await me.post("/console/account/password", form)
    assert refused.status_code == 422
    assert f'id="{field}-error">{message}' in refused.text
    for typed in (current, new, again):
        assert f'value="{typed}"' not in refused.text  # passwords are never sent back
    assert (await other_session.get("/console/account")).status_code == 200
    assert await signs_in(app, "10.5.0.2", me.username, PASSWORD)


async def test_signing_out_everywhere_else(sign_in: SignIn, tenant: Any, elsewhere: Elsewhere) -> None:
    me = await sign_in(tenant, "analyst")
    other_session = await elsewhere(me)
    done = await me.post("/console/account/sessions")
    assert done.status_code == 303
    assert "Your other sessions are signed out." in (await me.get(done.headers["location"])).text
    assert (await other_session.get("/console/account")).status_code == 303


async def test_forms_without_the_csrf_token_are_refused(
    sign_in: SignIn, tenant: Any, kernel: Kernel, elsewhere: Elsewhere
) -> None:
    me = await sign_in(tenant, "owner")
    other_session = await elsewhere(me)
    forms = {
        "/console/account/profile": {"display_name": "Mallory"},
        "/console/account/locale": {"locale": "zh_CN", "next": "/console/account"},
        "/console/account/password": {
            "current_password": PASSWORD,
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD,
        },
        "/console/account/sessions": {},
    }
    for path, form in forms.items():
        refused = await me.post(path, form, csrf=False)
        assert refused.status_code == 403, path
    after = await kernel.operators.get(me.operator_id)
    assert (after.display_name, after.locale) == ("", "en")
    assert (await other_session.get("/console/account")).status_code == 200
    assert await kernel.operators.verify_password(me.operator_id, PASSWORD)
