"""Signing in and out of the console: sessions, CSRF, the rate limit, redirects."""

from __future__ import annotations

import secrets

import pytest
from console_client import PASSWORD, SignIn, client_for, text_of
from litestar import Litestar
from scrm.kernel import Kernel


async def test_sign_in_with_password_opens_a_session(kernel: Kernel, app: Litestar, tenant: object) -> None:
    username = f"alice-{secrets.token_hex(3)}"
    operator = await kernel.operators.create(username, PASSWORD)
    await kernel.operators.grant(operator.id, await kernel.workspaces.ref(tenant.slug), "owner")  # type: ignore[attr-defined]
    async with client_for(app, "10.1.0.1") as http:
        page = await http.get("/console/login")
        assert page.status_code == 200
        assert 'name="_csrf_token"' in page.text
        form = {"username": username.upper(), "password": PASSWORD, "_csrf_token": http.cookies["csrftoken"]}
        signed = await http.post("/console/login", data=form)
        assert signed.status_code == 303
        assert signed.headers["location"] == "/console/"
        cookie = signed.headers["set-cookie"]
        assert "scrm_session=" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/console" in cookie
        start = await http.get("/console/")
        assert start.status_code == 303
        assert start.headers["location"] == f"/console/w/{tenant.slug}/"  # type: ignore[attr-defined]

        out = await http.post("/console/logout", data={"_csrf_token": http.cookies["csrftoken"]})
        assert out.status_code == 303
        again = await http.get("/console/")
        assert again.status_code == 303
        assert again.headers["location"].startswith("/console/login")


async def test_wrong_password_and_unknown_user_look_the_same(kernel: Kernel, app: Litestar) -> None:
    username = f"bob-{secrets.token_hex(3)}"
    await kernel.operators.create(username, PASSWORD)
    async with client_for(app, "10.1.0.2") as http:
        await http.get("/console/login")
        answers = []
        for name in (username, "nobody-" + username):
            response = await http.post(
                "/console/login",
                data={"username": name, "password": "wrong password", "_csrf_token": http.cookies["csrftoken"]},
            )
            assert response.status_code == 401
            answers.append(text_of(response).replace(name, "NAME"))
            assert "scrm_session" not in response.headers.get("set-cookie", "")
        assert answers[0] == answers[1]
        assert "Wrong username or password" in answers[0]
        assert (
            f'value="{username}"'
            in (
                await http.post(
                    "/console/login",
                    data={"username": username, "password": "x", "_csrf_token": http.cookies["csrftoken"]},
                )
            ).text
        )  # what was typed is kept


async def test_sign_in_is_rate_limited_per_username(kernel: Kernel, app: Litestar) -> None:
    username = f"carol-{secrets.token_hex(3)}"
    await kernel.operators.create(username, PASSWORD)
    async with client_for(app, "10.1.0.3") as http:
        await http.get("/console/login")
        token = http.cookies["csrftoken"]
        for _ in range(5):
            wrong = await http.post(
                "/console/login", data={"username": username, "password": "nope", "_csrf_token": token}
            )
            assert wrong.status_code == 401
        blocked = await http.post(
            "/console/login", data={"username": username, "password": PASSWORD, "_csrf_token": token}
        )
        assert blocked.status_code == 429
        assert "Too many failed sign-ins" in blocked.text
    async with client_for(app, "10.1.0.4") as http:  # another address: the username is still locked
        await http.get("/console/login")
        blocked = await http.post(
            "/console/login",
            data={"username": username, "password": PASSWORD, "_csrf_token": http.cookies["csrftoken"]},
        )
        assert blocked.status_code == 429


async def test_sign_in_without_csrf_token_is_refused(kernel: Kernel, app: Litestar) -> None:
    username = f"dave-{secrets.token_hex(3)}"
    await kernel.operators.create(username, PASSWORD)
    async with client_for(app, "10.1.0.5") as http:
        await http.get("/console/login")
        response = await http.post("/console/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 403
        assert "This form has expired" in response.text
        assert "Traceback" not in response.text
        forged = await http.post(
            "/console/login", data={"username": username, "password": PASSWORD, "_csrf_token": "forged" * 12}
        )
        assert forged.status_code == 403


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/api/v1/members"])
async def test_sign_in_never_redirects_off_the_console(kernel: Kernel, app: Litestar, target: str) -> None:
    username = f"erin-{secrets.token_hex(3)}"
    await kernel.operators.create(username, PASSWORD)
    async with client_for(app, "10.1.0.6") as http:
        await http.get("/console/login")
        form = {"username": username, "password": PASSWORD, "next": target, "_csrf_token": http.cookies["csrftoken"]}
        response = await http.post("/console/login", data=form)
        assert response.headers["location"] == "/console/"


async def test_signed_out_requests_go_to_sign_in(app: Litestar, sign_in: SignIn) -> None:
    async with client_for(app) as http:
        page = await http.get("/console/w/anything/members?q=x")
        assert page.status_code == 303
        assert page.headers["location"] == "/console/login?next=/console/w/anything/members%3Fq%3Dx"  # query kept
        fragment = await http.get("/console/w/anything/members", headers={"HX-Request": "true"})
        assert fragment.headers["HX-Redirect"].startswith("/console/login")


async def test_disabling_an_operator_ends_their_sessions(kernel: Kernel, sign_in: SignIn) -> None:
    me = await sign_in(None)
    assert (await me.get("/console/")).status_code == 200  # no workspace yet: a page that says so
    await kernel.operators.set_disabled(me.operator_id, True)
    assert (await me.get("/console/")).headers["location"].startswith("/console/login")


async def test_an_unknown_console_path_is_an_html_page_and_the_api_keeps_problem_documents(app: Litestar) -> None:
    async with client_for(app) as http:
        page = await http.get("/console/no/such/page")
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "There is no such page." in text_of(page)
        api = await http.get("/api/v1/no-such-route")
        assert api.status_code == 404
        assert api.headers["content-type"].startswith("application/problem+json")
