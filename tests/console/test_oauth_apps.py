"""OAuth 2 apps end to end against the running app: registration (API and console), client
credentials, authorization code with PKCE through the console's consent screen, RFC 9068 access
tokens, refresh, revocation, expiry; scopes checked by the API keys' guard (wrong scope: 403), never
another workspace (404), and the app as the request's actor."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import scrm.oauth
from console_client import SignIn, text_of
from joserfc import jwt
from scrm import Actor
from scrm.kernel import Kernel
from scrm.testing import problem

CALLBACK = "http://127.0.0.1:8765/callback"


async def register(tenant: Any, *scopes: str, key: str | None = None) -> dict[str, Any]:
    body = {"name": "ERP", "scopes": list(scopes or ("members:read", "events:write")), "redirect_uris": [CALLBACK]}
    response = await tenant.post("/api/v1/apps", body, key=key)
    assert response.status_code == 201, response.text
    app: dict[str, Any] = response.json()
    return app


async def token(client: httpx.AsyncClient, app: dict[str, Any], **form: str) -> httpx.Response:
    auth = (app["client_id"], app["client_secret"])
    return await client.post("/oauth/token", data=form, auth=auth)


async def client_token(tenant: Any, app: dict[str, Any], scope: str | None = None) -> str:
    form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    response = await token(tenant.client, app, **form)
    assert response.status_code == 200, response.text
    access: str = response.json()["access_token"]
    return access


def bearer(access: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access}", **extra}


async def test_client_credentials_give_an_rfc9068_token_held_to_its_scopes(kernel: Kernel, tenant: Any) -> None:
    app = await register(tenant)
    assert app["client_secret"].startswith("scrm_secret_")
    listed = (await tenant.get("/api/v1/apps")).json()
    assert [a["client_id"] for a in listed] == [app["client_id"]]
    assert "client_secret" not in listed[0]

    response = await token(tenant.client, app, grant_type="client_credentials", scope="members:read")
    body = response.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "members:read")
    assert "refresh_token" not in body  # client credentials: no refresh token
    decoded = jwt.decode(body["access_token"], kernel.apps.key)
    assert decoded.header["typ"] == "at+jwt"
    claims = decoded.claims
    assert (claims["iss"], claims["aud"], claims["client_id"]) == ("urn:scrm:oauth", "urn:scrm:api", app["client_id"])
    assert {"exp", "iat", "jti", "sub"} <= claims.keys()

    access = body["access_token"]
    member = await tenant.member(display_name="Read by the app")
    assert (await tenant.client.get(f"/api/v1/members/{member['id']}", headers=bearer(access))).status_code == 200
    wrong = await tenant.client.post(
        "/api/v1/events", json={"member_id": member["id"], "type": "order.paid"}, headers=bearer(access)
    )
    problem(wrong, 403, "missing-scope")
    # asking for no scope grants what the app may hold
    everything = await client_token(tenant, app)
    posted = await tenant.client.post(
        "/api/v1/events", json={"member_id": member["id"], "type": "order.paid"}, headers=bearer(everything)
    )
    assert posted.status_code == 201, posted.text
    # the app is the request's actor (what the audit trail records)
    principal = await kernel.principal(everything)
    assert principal is not None
    assert principal.actor == Actor("oauth_app", str(app["id"]), "ERP")
    trail = (await tenant.get("/api/v1/audit", params={"action": "recordEvents"})).json()["items"]
    assert [record["actor"] for record in trail] == [{"kind": "oauth_app", "id": str(app["id"]), "label": "ERP"}]


async def test_an_app_token_never_reaches_another_workspace(tenant: Any, other: Any) -> None:
    app = await register(tenant)
    access = await client_token(tenant, app)
    theirs = await other.member(display_name="Not yours")
    problem(await tenant.client.get(f"/api/v1/members/{theirs['id']}", headers=bearer(access)), 404, "not-found")
    named = bearer(access, **{"X-Scrm-Workspace": other.slug})
    problem(await tenant.client.get("/api/v1/members", headers=named), 404, "not-found")
    # nor can the other workspace see or revoke the app
    problem(await other.get(f"/api/v1/apps/{app['id']}"), 404, "not-found")
    problem(await other.delete(f"/api/v1/apps/{app['id']}"), 404, "not-found")


async def test_bad_clients_and_requests_get_oauth_errors(tenant: Any) -> None:
    app = await register(tenant)
    wrong = await tenant.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(app["client_id"], "scrm_secret_nope")
    )
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    unknown = await token(tenant.client, app, grant_type="password", username="a", password="b")
    assert unknown.json()["error"] == "unsupported_grant_type"
    beyond = await token(tenant.client, app, grant_type="client_credentials", scope="keys:write")
    assert beyond.status_code == 400
    assert beyond.json()["error"] == "invalid_scope"
    # a form the app's shared guards refuse (a NUL character) is an OAuth error here too
    for path, form in (
        ("/oauth/token", {"grant_type": "client\x00credentials"}),
        ("/oauth/revoke", {"token": "a\x00"}),
    ):
        nul = await tenant.client.post(path, data=form, auth=(app["client_id"], app["client_secret"]))
        assert (nul.status_code, nul.json()["error"]) == (400, "invalid_request"), nul.text
        assert "NUL" in nul.json()["error_description"]


async def test_revoked_tokens_and_apps_stop_working(tenant: Any) -> None:
    app = await register(tenant)
    first, second = await client_token(tenant, app), await client_token(tenant, app)
    revoked = await tenant.client.post(
        "/oauth/revoke", data={"token": first}, auth=(app["client_id"], app["client_secret"])
    )
    assert revoked.status_code == 200, revoked.text
    problem(await tenant.client.get("/api/v1/members", headers=bearer(first)), 401, "unauthenticated")
    assert (await tenant.client.get("/api/v1/members", headers=bearer(second))).status_code == 200
    assert (await tenant.delete(f"/api/v1/apps/{app['id']}")).status_code == 204
    problem(await tenant.client.get("/api/v1/members", headers=bearer(second)), 401, "unauthenticated")
    gone = await token(tenant.client, app, grant_type="client_credentials")
    assert gone.json()["error"] == "invalid_client"


async def test_an_expired_token_is_refused(tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app = await register(tenant)
    monkeypatch.setattr(scrm.oauth, "ACCESS_TTL", timedelta(seconds=1))
    access = await client_token(tenant, app)
    assert (await tenant.client.get("/api/v1/members", headers=bearer(access))).status_code == 200
    import asyncio

    await asyncio.sleep(2.1)
    problem(await tenant.client.get("/api/v1/members", headers=bearer(access)), 401, "unauthenticated")


async def test_an_app_cannot_be_given_more_than_its_creator_holds(tenant: Any) -> None:
    narrow = await tenant.new_key("keys:write", "members:read")
    problem(await tenant.post("/api/v1/apps", {"name": "x", "scopes": ["events:write"]}, key=narrow), 403, "forbidden")
    bad = await tenant.post("/api/v1/apps", {"name": "x", "scopes": ["members:read"], "redirect_uris": ["ftp://x"]})
    problem(bad, 422, "validation-error")
    problem(await tenant.post("/api/v1/apps", {"name": "x", "scopes": ["nope:read"]}), 422, "validation-error")


# --- authorization code with PKCE, through the consent screen ---------------------------------------


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(app: dict[str, Any], challenge: str | None, scope: str = "members:read events:write") -> str:
    params = httpx.QueryParams(
        {
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": CALLBACK,
            "scope": scope,
            "state": "s-123",
            **({"code_challenge": challenge, "code_challenge_method": "S256"} if challenge else {}),
        }
    )
    return f"/console/oauth/authorize?{params}"


def query_of(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(CALLBACK)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def consent(
    me: Any, app: dict[str, Any], challenge: str, decision: str = "approve", **extra: Any
) -> httpx.Response:
    page = await me.get(authorize_url(app, challenge))
    assert page.status_code == 200, page.text
    params = dict(httpx.URL(authorize_url(app, challenge)).params)
    form = {**params, "decision": decision, "scopes": ["members:read", "events:write"], **extra}
    return await me.post("/console/oauth/authorize", form)


async def test_authorization_code_with_pkce_through_the_consent_screen(
    kernel: Kernel, sign_in: SignIn, tenant: Any
) -> None:
    app = await register(tenant)
    me = await sign_in(tenant, "operator")
    verifier, challenge = pkce()
    page = await me.get(authorize_url(app, challenge))
    assert "Authorize ERP?" in text_of(page)
    assert "members:read" in page.text
    back = query_of(await consent(me, app, challenge))
    assert back["state"] == "s-123"
    code = back["code"]

    bad = await token(
        tenant.client,
        app,
        grant_type="authorization_code",
        code=code,
        redirect_uri=CALLBACK,
        code_verifier="not-the-verifier-" + "x" * 40,
    )
    assert bad.json()["error"] == "invalid_grant"
    # the failed attempt did not burn the code? it did not reach the code's use: try the right verifier
    issued = await token(
        tenant.client, app, grant_type="authorization_code", code=code, redirect_uri=CALLBACK, code_verifier=verifier
    )
    assert issued.status_code == 200, issued.text
    pair = issued.json()
    assert set(pair["scope"].split()) == {"members:read", "events:write"}
    again = await token(
        tenant.client, app, grant_type="authorization_code", code=code, redirect_uri=CALLBACK, code_verifier=verifier
    )
    assert again.json()["error"] == "invalid_grant"  # a code works once

    principal = await kernel.principal(pair["access_token"])
    assert principal is not None
    assert principal.actor == Actor("oauth_app", str(app["id"]), f"ERP (approved by operator {me.operator_id})")
    assert (await tenant.client.get("/api/v1/members", headers=bearer(pair["access_token"]))).status_code == 200

    refreshed = await token(tenant.client, app, grant_type="refresh_token", refresh_token=pair["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    assert new["refresh_token"] != pair["refresh_token"]
    assert (await tenant.client.get("/api/v1/members", headers=bearer(new["access_token"]))).status_code == 200
    # the old pair is revoked with its refresh token
    reused = await token(tenant.client, app, grant_type="refresh_token", refresh_token=pair["refresh_token"])
    assert reused.json()["error"] == "invalid_grant"
    problem(await tenant.client.get("/api/v1/members", headers=bearer(pair["access_token"])), 401, "unauthenticated")
    # revoking the refresh token ends the pair
    await tenant.client.post(
        "/oauth/revoke",
        data={"token": new["refresh_token"], "token_type_hint": "refresh_token"},
        auth=(app["client_id"], app["client_secret"]),
    )
    problem(await tenant.client.get("/api/v1/members", headers=bearer(new["access_token"])), 401, "unauthenticated")


async def test_the_operator_can_deny_and_cannot_grant_beyond_their_role(sign_in: SignIn, tenant: Any) -> None:
    app = await register(tenant)
    me = await sign_in(tenant, "viewer")  # reads; cannot write events
    _, challenge = pkce()
    page = await me.get(authorize_url(app, challenge))
    assert "your role does not hold this" in text_of(page)
    back = query_of(await consent(me, app, challenge))
    verifier_less = await token(
        tenant.client,
        app,
        grant_type="authorization_code",
        code=back["code"],
        redirect_uri=CALLBACK,
        code_verifier="x" * 43,
    )
    assert verifier_less.json()["error"] == "invalid_grant"
    denied = query_of(await consent(me, app, challenge, decision="deny"))
    assert (denied["error"], denied["state"]) == ("access_denied", "s-123")


async def test_bad_authorization_requests(sign_in: SignIn, tenant: Any, other: Any) -> None:
    app = await register(tenant)
    me = await sign_in(tenant, "owner")
    no_pkce = query_of(await me.get(authorize_url(app, None)))
    assert no_pkce["error"] == "invalid_request"
    unknown = await me.get(authorize_url({"client_id": "scrm_app_nope"}, "c" * 43))
    assert unknown.status_code == 400
    # an operator without a role in the app's workspace cannot approve it
    outsider = await sign_in(other, "owner")
    assert (await outsider.get(authorize_url(app, "c" * 43))).status_code == 404


async def test_apps_are_registered_and_revoked_in_the_console(sign_in: SignIn, tenant: Any) -> None:
    me = await sign_in(tenant, "owner")
    page = await me.get(f"/console/w/{tenant.slug}/apps")
    assert page.status_code == 200
    created = await me.post(
        f"/console/w/{tenant.slug}/apps",
        {"name": "Mini program", "scopes": ["members:read"], "redirect_uris": CALLBACK},
    )
    assert created.status_code == 201, created.text
    assert "scrm_secret_" in created.text
    assert created.headers["cache-control"] == "no-store"
    [app] = (await tenant.get("/api/v1/apps")).json()
    assert (app["name"], app["scopes"], app["redirect_uris"]) == ("Mini program", ["members:read"], [CALLBACK])
    viewer = await sign_in(tenant, "viewer")
    assert (await viewer.get(f"/console/w/{tenant.slug}/apps")).status_code == 403  # credentials are not for viewers
    revoked = await me.post(f"/console/w/{tenant.slug}/apps/{app['id']}/revoke")
    assert revoked.status_code == 303
    assert (await tenant.get(f"/api/v1/apps/{app['id']}")).json()["revoked_at"]


async def test_deleting_a_workspace_deletes_its_apps_and_tokens(kernel: Kernel, tenant: Any) -> None:
    app = await register(tenant)
    access = await client_token(tenant, app)
    await kernel.workspaces.delete(tenant.slug)
    for table in ("scrm_oauth_app", "scrm_oauth_token"):
        rows = await kernel.db.fetch(f"SELECT COUNT(*) AS n FROM {table} WHERE workspace = {{}}", tenant.id)
        assert rows[0]["n"] == 0
    assert await kernel.principal(access) is None


async def test_signing_in_comes_back_to_the_consent_screen(app: Any, tenant: Any) -> None:
    from console_client import client_for

    registered = await register(tenant)
    url = authorize_url(registered, "c" * 43)
    async with client_for(app) as browser:
        response = await browser.get(url)
    assert response.status_code == 303
    login = httpx.URL(response.headers["location"])
    assert login.path == "/console/login"
    assert login.params["next"] == url  # the whole request, query included
