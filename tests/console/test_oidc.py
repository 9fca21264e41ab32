"""Console sign-in through an OpenID Connect provider.

The provider is real and runs in-process: a small Litestar app serving discovery, a key set, a
token endpoint that checks the client's secret, the redirect URI and the PKCE verifier, and
userinfo. The console reaches it through an httpx transport; the browser's visit to the provider's
sign-in page is :meth:`IdentityProvider.authorize`. The console under test is a second app whose
kernel has OIDC settings and shares the test database.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from console_client import PASSWORD, client_for, text_of
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from litestar import Litestar, Request, Response, get, post
from scrm import create_app
from scrm.kernel import Kernel
from scrm.piccolo_app import APP_CONFIG
from scrm.settings import OidcSettings, Settings
from scrm_web.oidc import Pending, Provider, SignInFailed
from scrm_web.pages.oidc import PROVIDER_STATE

ISSUER = "https://idp.test"
CLIENT_ID = "scrm-console"
CLIENT_SECRET = "client-secret-" + "s" * 20
CALLBACK = "http://scrm.test/console/login/oidc/callback"


@dataclass
class Grant:
    """An authorization code the provider handed out, and what it was bound to."""

    redirect_uri: str
    nonce: str
    challenge: str
    claims: dict[str, Any]


@dataclass
class IdentityProvider:
    """The provider's state; the knobs let a test make it misbehave."""

    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "idp-1"}))
    grants: dict[str, Grant] = field(default_factory=dict)
    userinfo: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: signs ID tokens with this key instead of the published one
    sign_with: RSAKey | None = None
    #: claims put into (or, with None, left out of) the next ID tokens
    tamper: dict[str, Any] = field(default_factory=dict)
    #: the token endpoint answers this OAuth error instead of tokens
    token_error: str | None = None

    def authorize(self, location: str, **claims: Any) -> str:
        """The browser at the provider's sign-in page (``location``), signing in as ``claims``:
        the URL the provider sends it back to."""
        url = httpx.URL(location)
        assert (url.host, url.path) == ("idp.test", "/authorize")
        query = url.params
        assert query["response_type"] == "code"
        assert query["client_id"] == CLIENT_ID
        assert query["scope"] == "openid email profile"
        assert query["code_challenge_method"] == "S256"
        assert query["redirect_uri"] == CALLBACK
        assert len(query["state"]) >= 32
        assert len(query["nonce"]) >= 32
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(query["redirect_uri"], query["nonce"], query["code_challenge"], claims)
        return str(httpx.URL(query["redirect_uri"], params={"code": code, "state": query["state"]}))

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != expected:
            return 401, {"error": "invalid_client"}
        if self.token_error:
            return 400, {"error": self.token_error}
        grant = self.grants.pop(form.get("code", ""), None)
        if (
            grant is None
            or form.get("grant_type") != "authorization_code"
            or form.get("redirect_uri") != grant.redirect_uri
            or create_s256_code_challenge(form.get("code_verifier", "")) != grant.challenge
        ):
            return 400, {"error": "invalid_grant"}
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": grant.nonce, **grant.claims}
        claims = {k: v for k, v in (claims | self.tamper).items() if v is not None}
        key = self.sign_with or self.key
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        access_token = secrets.token_urlsafe(16)
        self.userinfo[access_token] = grant.claims
        return 200, {"access_token": access_token, "token_type": "Bearer", "expires_in": 300, "id_token": id_token}


def _idp(request: Request[Any, Any, Any]) -> IdentityProvider:
    idp: IdentityProvider = request.app.state.idp
    return idp


@get("/.well-known/openid-configuration", sync_to_thread=False)
def discovery() -> dict[str, Any]:
    return {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "jwks_uri": f"{ISSUER}/jwks",
        "userinfo_endpoint": f"{ISSUER}/userinfo",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }


@get("/jwks", sync_to_thread=False)
def jwks(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return dict(KeySet([_idp(request).key]).as_dict(private=False))


@post("/token", status_code=200)
async def token(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    form = {k: str(v) for k, v in (await request.form()).items()}
    status, body = _idp(request).token(form, request.headers.get("authorization", ""))
    return Response(body, status_code=status)


@get("/userinfo", sync_to_thread=False)
def userinfo(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
    claims = _idp(request).userinfo.get(bearer)
    return Response(claims or {"error": "invalid_token"}, status_code=200 if claims else 401)


@pytest.fixture(scope="module")
def idp() -> IdentityProvider:
    return IdentityProvider()


@pytest.fixture(autouse=True)
def honest(idp: IdentityProvider) -> None:
    """Each test starts with a provider that behaves."""
    idp.sign_with, idp.tamper, idp.token_error = None, {}, None


@pytest.fixture(scope="module")
async def oidc_kernel(settings: Settings, kernel: Kernel) -> AsyncIterator[Kernel]:
    """A second kernel on the test database (``kernel`` has migrated it), with OIDC settings.

    Building a kernel binds piccolo's tables to its engine; the session kernel's binding is restored
    afterwards, or plugins' piccolo writes would go through this stopped engine — on SQLite, a second
    connection that waits for the write lock the session kernel's transaction holds."""
    config = OidcSettings(ISSUER, CLIENT_ID, CLIENT_SECRET, name="Acme ID")
    second = Kernel(replace(settings, oidc=config))
    await second.start()
    try:
        yield second
    finally:
        await second.stop()
        kernel.db.bind([APP_CONFIG, *kernel.plugins.app_configs()])


@pytest.fixture(scope="module")
def oidc_app(oidc_kernel: Kernel, idp: IdentityProvider) -> Litestar:
    app = create_app(kernel=oidc_kernel, configure_logs=False)
    provider_app = Litestar([discovery, jwks, token, userinfo], openapi_config=None)
    provider_app.state.idp = idp
    assert oidc_kernel.settings.oidc is not None
    app.state[PROVIDER_STATE] = Provider(oidc_kernel.settings.oidc, transport=httpx.ASGITransport(app=provider_app))
    return app


@pytest.fixture
async def browser(oidc_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(oidc_app, "10.2.0.1") as http:
        yield http


def email() -> str:
    return f"ann-{secrets.token_hex(3)}@example.com"


async def via_provider(
    http: httpx.AsyncClient, idp: IdentityProvider, path: str = "/console/login/oidc", **claims: Any
) -> httpx.Response:
    """Start signing in, sign in at the provider as ``claims``, and follow it back to the console."""
    start = await http.get(path)
    assert start.status_code == 303, start.text
    return await http.get(idp.authorize(start.headers["location"], **claims))


def refused(response: httpx.Response, status: int, text: str) -> None:
    assert response.status_code == status, response.text
    assert text in text_of(response)
    assert "Single sign-on failed" in response.text
    assert "Traceback" not in response.text
    assert "scrm_session=" not in response.headers.get("set-cookie", "")


# --- the sign-in page ---------------------------------------------------------------------------


async def test_the_button_shows_only_when_oidc_is_configured(app: Litestar, oidc_app: Litestar) -> None:
    async with client_for(app) as http:
        page = await http.get("/console/login")
        assert "Sign in with" not in page.text
        assert (await http.get("/console/login/oidc")).status_code == 404
        assert (await http.get("/console/login/oidc/callback?code=x&state=y")).status_code == 404
    async with client_for(oidc_app) as http:
        page = await http.get("/console/login?next=/console/account")
        assert "Sign in with Acme ID" in text_of(page)
        assert 'action="/console/login/oidc"' in page.text
        assert 'name="next" value="/console/account"' in page.text


# --- signing in ---------------------------------------------------------------------------------


async def test_first_sign_in_links_the_operator_named_by_the_email(
    kernel: Kernel, idp: IdentityProvider, browser: httpx.AsyncClient
) -> None:
    address = email()
    operator = await kernel.operators.create(address, PASSWORD)
    start = await browser.get("/console/login/oidc")
    cookie = start.headers["set-cookie"]
    assert cookie.startswith("scrm_oidc=")
    for attribute in ("HttpOnly", "SameSite=lax", "Path=/console/login/oidc", "Max-Age=600"):
        assert attribute in cookie
    back = await browser.get(idp.authorize(start.headers["location"], sub="sub-ann", email=address.upper()))
    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/console/"
    assert "scrm_session=" in back.headers["set-cookie"]
    assert "scrm_oidc" not in browser.cookies  # the pending sign-in is spent
    assert (await browser.get("/console/account")).status_code == 200  # a working session
    assert (await kernel.operators.get(operator.id)).oidc_linked
    linked = await kernel.operators.by_oidc_subject("sub-ann")
    assert linked is not None
    assert linked.id == operator.id
    assert linked.last_login_at is not None


async def test_later_sign_ins_go_by_subject_even_when_the_email_changed(
    kernel: Kernel, oidc_app: Litestar, idp: IdentityProvider
) -> None:
    operator = await kernel.operators.create(email())
    async with client_for(oidc_app) as http:
        first = await via_provider(http, idp, sub="sub-bea", email=operator.username)
        assert first.status_code == 303
    async with client_for(oidc_app) as http:
        again = await via_provider(http, idp, sub="sub-bea", email="renamed@example.com")
        assert again.status_code == 303, again.text
        assert "scrm_session=" in again.headers["set-cookie"]


@pytest.mark.parametrize(
    ("asked", "went"),
    [
        ("/console/account", "/console/account"),
        ("//evil.example/", "/console/"),
        ("https://evil.example/", "/console/"),
    ],
)
async def test_it_returns_to_the_console_page_asked_for_only(
    kernel: Kernel, idp: IdentityProvider, browser: httpx.AsyncClient, asked: str, went: str
) -> None:
    operator = await kernel.operators.create(email())
    path = str(httpx.URL("/console/login/oidc", params={"next": asked}))
    back = await via_provider(browser, idp, path, sub=secrets.token_hex(4), email=operator.username)
    assert back.headers["location"] == went


async def test_claims_missing_from_the_id_token_are_read_from_userinfo(
    kernel: Kernel, idp: IdentityProvider, browser: httpx.AsyncClient
) -> None:
    operator = await kernel.operators.create(email())
    idp.tamper = {"email": None}  # in the userinfo only
    back = await via_provider(browser, idp, sub=secrets.token_hex(4), email=operator.username)
    assert back.status_code == 303, back.text
    assert (await kernel.operators.get(operator.id)).oidc_linked


# --- refusals -----------------------------------------------------------------------------------


async def test_no_operator_for_the_email_is_refused(idp: IdentityProvider, browser: httpx.AsyncClient) -> None:
    address = email()
    back = await via_provider(browser, idp, sub=secrets.token_hex(4), email=address)
    refused(back, 403, f"No scrm operator for {address}; ask an owner to create one.")


async def test_a_disabled_operator_is_refused_and_not_linked(
    kernel: Kernel, idp: IdentityProvider, browser: httpx.AsyncClient
) -> None:
    operator = await kernel.operators.create(email())
    await kernel.operators.set_disabled(operator.id, True)
    back = await via_provider(browser, idp, sub="sub-disabled", email=operator.username)
    refused(back, 403, "is disabled")
    assert await kernel.operators.by_oidc_subject("sub-disabled") is None


async def test_a_disabled_linked_operator_is_refused(
    kernel: Kernel, idp: IdentityProvider, browser: httpx.AsyncClient
) -> None:
    operator = await kernel.operators.create(email())
    await kernel.operators.link_oidc(operator.id, "sub-was-fine")
    await kernel.operators.set_disabled(operator.id, True)
    refused(await via_provider(browser, idp, sub="sub-was-fine", email=operator.username), 403, "is disabled")


async def test_an_operator_linked_to_another_identity_is_not_taken_over(
    kernel: Kernel, idp: IdentityProvider, browser: httpx.AsyncClient
) -> None:
    operator = await kernel.operators.create(email())
    await kernel.operators.link_oidc(operator.id, "sub-owner")
    back = await via_provider(browser, idp, sub="sub-intruder", email=operator.username)
    refused(back, 403, "signs in with another account at the identity provider")


async def test_an_unverified_email_is_refused(
    kernel: Kernel, idp: IdentityProvider, browser: httpx.AsyncClient
) -> None:
    operator = await kernel.operators.create(email())
    back = await via_provider(browser, idp, sub=secrets.token_hex(4), email=operator.username, email_verified=False)
    refused(back, 403, "has not verified the email address")
    assert not (await kernel.operators.get(operator.id)).oidc_linked


async def test_a_missing_username_claim_is_refused(idp: IdentityProvider, browser: httpx.AsyncClient) -> None:
    refused(await via_provider(browser, idp, sub=secrets.token_hex(4)), 403, "no email claim")


async def test_a_wrong_state_is_a_bad_request(
    kernel: Kernel, idp: IdentityProvider, browser: httpx.AsyncClient
) -> None:
    operator = await kernel.operators.create(email())
    start = await browser.get("/console/login/oidc")
    url = httpx.URL(idp.authorize(start.headers["location"], sub=secrets.token_hex(4), email=operator.username))
    forged = url.copy_merge_params({"state": "forged"})
    refused(await browser.get(forged), 400, "Start again from the sign-in page")
    assert not (await kernel.operators.get(operator.id)).oidc_linked


async def test_a_callback_without_its_cookie_or_used_twice_is_a_bad_request(
    kernel: Kernel, oidc_app: Litestar, idp: IdentityProvider, browser: httpx.AsyncClient
) -> None:
    operator = await kernel.operators.create(email())
    start = await browser.get("/console/login/oidc")
    back = idp.authorize(start.headers["location"], sub=secrets.token_hex(4), email=operator.username)
    async with client_for(oidc_app) as elsewhere:  # another browser: no pending sign-in
        refused(await elsewhere.get(back), 400, "Start again")
    assert (await browser.get(back)).status_code == 303
    refused(await browser.get(back), 400, "Start again")  # replayed


async def test_a_forged_pending_cookie_is_a_bad_request(browser: httpx.AsyncClient) -> None:
    browser.cookies.set("scrm_oidc", "e30.e30.forged", domain="scrm.test", path="/console/login/oidc")
    refused(await browser.get("/console/login/oidc/callback?code=x&state=y"), 400, "Start again")


async def test_the_providers_refusal_is_shown(idp: IdentityProvider, browser: httpx.AsyncClient) -> None:
    start = await browser.get("/console/login/oidc")
    state = httpx.URL(start.headers["location"]).params["state"]
    back = await browser.get(
        "/console/login/oidc/callback",
        params={"error": "access_denied", "error_description": "The user cancelled", "state": state},
    )
    refused(back, 403, "The identity provider did not sign you in: The user cancelled")


@pytest.mark.parametrize(
    "tamper",
    [
        {"nonce": "another-nonce"},
        {"nonce": None},
        {"aud": "another-client"},
        {"iss": "https://evil.test"},
        {"exp": int(time.time()) - 3600},
        {"azp": "another-client"},
    ],
    ids=["wrong-nonce", "no-nonce", "wrong-audience", "wrong-issuer", "expired", "wrong-azp"],
)
async def test_id_tokens_that_do_not_verify_are_refused(
    kernel: Kernel, idp: IdentityProvider, browser: httpx.AsyncClient, tamper: dict[str, Any]
) -> None:
    operator = await kernel.operators.create(email())
    idp.tamper = tamper
    back = await via_provider(browser, idp, sub="sub-" + secrets.token_hex(4), email=operator.username)
    refused(back, 403, "could not be verified")
    assert not (await kernel.operators.get(operator.id)).oidc_linked


@pytest.mark.parametrize("kid", ["idp-1", "unknown-kid"])
async def test_id_tokens_signed_with_another_key_are_refused(
    kernel: Kernel, idp: IdentityProvider, browser: httpx.AsyncClient, kid: str
) -> None:
    operator = await kernel.operators.create(email())
    idp.sign_with = RSAKey.generate_key(2048, parameters={"kid": kid})
    back = await via_provider(browser, idp, sub=secrets.token_hex(4), email=operator.username)
    refused(back, 403, "could not be verified")


async def test_a_token_endpoint_error_is_a_bad_gateway(idp: IdentityProvider, browser: httpx.AsyncClient) -> None:
    idp.token_error = "invalid_grant"
    refused(await via_provider(browser, idp, sub="x", email=email()), 502, "answered with an error (invalid_grant)")


async def test_an_unreachable_provider_is_a_bad_gateway(oidc_app: Litestar, oidc_kernel: Kernel) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    assert oidc_kernel.settings.oidc is not None
    working = oidc_app.state[PROVIDER_STATE]
    oidc_app.state[PROVIDER_STATE] = Provider(oidc_kernel.settings.oidc, transport=httpx.MockTransport(unreachable))
    try:
        async with client_for(oidc_app) as http:
            refused(await http.get("/console/login/oidc"), 502, "could not be reached")
    finally:
        oidc_app.state[PROVIDER_STATE] = working


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"issuer": "https://other.test"}, "names the issuer"),
        ({"token_endpoint": "http://idp.test/token"}, "no https token_endpoint"),
        ({"id_token_signing_alg_values_supported": ["HS256", "none"]}, "signs ID tokens with HS256, none"),
    ],
)
async def test_an_unusable_discovery_document_is_refused(change: dict[str, Any], reason: str) -> None:
    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=discovery.fn() | change)

    provider = Provider(OidcSettings(ISSUER, CLIENT_ID, CLIENT_SECRET), transport=httpx.MockTransport(serve))
    with pytest.raises(SignInFailed) as info:
        await provider.endpoints()
    assert info.value.status == 502
    assert reason in info.value.detail


async def test_a_provider_that_takes_the_secret_only_in_the_form_gets_it_there() -> None:
    """client_secret_basic is the default; client_secret_post when the provider offers only that."""
    seen: list[httpx.Request] = []

    def serve(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/openid-configuration"):
            return httpx.Response(
                200, json=discovery.fn() | {"token_endpoint_auth_methods_supported": ["client_secret_post"]}
            )
        seen.append(request)
        return httpx.Response(400, json={"error": "invalid_grant"})

    provider = Provider(OidcSettings(ISSUER, CLIENT_ID, CLIENT_SECRET), transport=httpx.MockTransport(serve))
    with pytest.raises(SignInFailed):
        await provider.identity("the-code", CALLBACK, Pending.new("/console/"))
    form = httpx.QueryParams(seen[0].content.decode())
    assert (form["client_id"], form["client_secret"], form["code"]) == (CLIENT_ID, CLIENT_SECRET, "the-code")
    assert "authorization" not in seen[0].headers
