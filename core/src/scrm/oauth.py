"""The OAuth 2 authorization server of apps, on authlib: ``POST /oauth/token`` (client credentials,
authorization code with PKCE, refresh token), ``POST /oauth/revoke`` (RFC 7009), and the two steps of
the console's consent screen (:func:`consent_request`, :func:`approve`).

authlib's server API is synchronous and scrm's database is asynchronous, so each request runs
authlib in a worker thread whose callbacks (find the client, save the token…) run their queries on the
request's event loop and wait for them (:meth:`Server.wait`). Access tokens are RFC 9068 JWTs made by
authlib's ``JWTBearerTokenGenerator``; :mod:`scrm.services.apps` verifies them for the API's guard.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import urlencode

import msgspec
from authlib.oauth2 import OAuth2Error  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    AuthorizationServer,
    ClientMixin,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Request,
)
from authlib.oauth2.rfc6749 import grants as rfc6749_grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload  # type: ignore[import-untyped]
from authlib.oauth2.rfc7009 import RevocationEndpoint  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import CodeChallenge  # type: ignore[import-untyped]
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator  # type: ignore[import-untyped]
from litestar import Request, Response, Router, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body

from scrm.problems import ValidationFailed
from scrm.services.apps import ACCESS_TTL, AUDIENCE, ISSUER, allowed_scopes
from scrm.services.keys import digest

if TYPE_CHECKING:
    from scrm.kernel import Kernel

T = TypeVar("T")
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
GRANT_TYPES = ("client_credentials", "authorization_code", "refresh_token")
ACCESS_HINT = "access_token"


class Client(ClientMixin):  # type: ignore[misc]
    """An app as authlib sees it (a confidential client)."""

    def __init__(self, row: Any) -> None:
        self.row = row

    def get_client_id(self) -> str:
        return str(self.row["client_id"])

    def get_default_redirect_uri(self) -> str | None:
        uris = self.row["redirect_uris"].split()
        return uris[0] if uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        return allowed_scopes(self.row["scopes"], scope)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row["redirect_uris"].split()

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(digest(client_secret), self.row["secret_hash"])

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


@dataclass(frozen=True)
class Operator:
    """The operator who approved an app (authlib's "user")."""

    id: int

    def get_user_id(self) -> int:
        return self.id


@dataclass
class Code:
    row: Any

    def get_redirect_uri(self) -> str:
        return str(self.row["redirect_uri"])

    def get_scope(self) -> str:
        return str(self.row["scopes"])

    @property
    def code_challenge(self) -> str:  # what authlib's PKCE extension reads
        return str(self.row["code_challenge"])

    @property
    def code_challenge_method(self) -> str:
        return str(self.row["code_challenge_method"])


@dataclass
class Token:
    row: Any

    def check_client(self, client: Client) -> bool:
        return bool(self.row["app"] == client.row["id"])

    def get_scope(self) -> str:
        return str(self.row["scopes"])

    def get_expires_in(self) -> int:
        return int(ACCESS_TTL.total_seconds())

    def is_expired(self) -> bool:
        return False  # a row found by refresh() has a live refresh token

    def is_revoked(self) -> bool:
        return False


class TokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    """RFC 9068 access tokens for this deployment's API, with a refresh token for the code grant."""

    def __init__(self, kernel: Kernel) -> None:
        super().__init__(
            issuer=ISSUER,
            alg="HS256",
            refresh_token_generator=lambda client, grant_type, user, scope: secrets.token_urlsafe(48),
            expires_generator=lambda client, grant_type: int(ACCESS_TTL.total_seconds()),
        )
        self.k = kernel

    def get_jwks(self) -> Any:
        return self.k.apps.key

    def get_audiences(self, client: Any, user: Any, scope: Any) -> str:
        return AUDIENCE


class ClientCredentials(rfc6749_grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_token_request(self) -> None:
        """As authlib's, and a request for scopes of which the app may hold none is ``invalid_scope``
        (rather than a token that can do nothing)."""
        super().validate_token_request()
        asked = self.request.payload.scope
        if asked and not self.request.client.get_allowed_scope(asked):
            raise InvalidScopeError()


class AuthorizationCode(rfc6749_grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_authorization_request(self) -> str:
        """As authlib's, and PKCE with ``S256`` is required of every app (authlib requires it only of
        public clients): a code intercepted on its way back is useless without the verifier."""
        redirect_uri: str = super().validate_authorization_request()
        data = self.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError(
                "PKCE is required: send code_challenge with code_challenge_method=S256",
                state=self.request.payload.state,
                redirect_uri=redirect_uri,
            )
        return redirect_uri

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.server.wait(
            self.server.k.apps.save_code(
                request.client.row,
                request.user.id,
                code,
                request.payload.redirect_uri or "",
                request.scope or "",
                data.get("code_challenge", ""),
                data.get("code_challenge_method") or "plain",
            )
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        row = self.server.wait(self.server.k.apps.code(code, client.row["id"]))
        return Code(row) if row else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        if not self.server.wait(self.server.k.apps.use_code(authorization_code.row["id"])):
            raise rfc6749_grants.InvalidGrantError("The code was used already")

    def authenticate_user(self, authorization_code: Code) -> Operator:
        return Operator(authorization_code.row["operator"])


class RefreshToken(rfc6749_grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        row = self.server.wait(self.server.k.apps.refresh(refresh_token))
        return Token(row) if row else None

    def authenticate_user(self, refresh_token: Token) -> Operator | None:
        operator = refresh_token.row["operator"]
        return Operator(operator) if operator is not None else None

    def revoke_old_credential(self, refresh_token: Token) -> None:
        self.server.wait(self.server.k.apps.revoke_token(refresh_token.row["id"]))


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        apps = self.server.k.apps
        row = self.server.wait(apps.refresh(token_string)) if token_type_hint != ACCESS_HINT else None
        if row is None:
            row = self.server.wait(apps.token_by_access(token_string))
        return Token(row) if row else None

    def revoke_token(self, token: Token, request: OAuth2Request) -> None:
        self.server.wait(self.server.k.apps.revoke_token(token.row["id"]))


class Server(AuthorizationServer):  # type: ignore[misc]
    """authlib's authorization server over scrm's apps, for one request (see the module's docstring)."""

    def __init__(self, kernel: Kernel, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.k = kernel
        self.loop = loop
        self.register_token_generator("default", TokenGenerator(kernel))
        self.register_grant(ClientCredentials)
        self.register_grant(AuthorizationCode, [CodeChallenge(required=True)])
        self.register_grant(RefreshToken)
        self.register_endpoint(Revocation)

    def wait(self, awaitable: Awaitable[T]) -> T:
        """Run a query on the request's event loop and wait for it (from authlib's thread)."""
        return asyncio.run_coroutine_threadsafe(_coroutine(awaitable), self.loop).result()

    def query_client(self, client_id: str) -> Client | None:
        row = self.wait(self.k.apps.client(client_id))
        return Client(row) if row else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        user = request.user
        self.wait(
            self.k.apps.save_token(
                request.client.row,
                user.id if user else None,
                token["access_token"],
                token.get("refresh_token"),
                token.get("scope", ""),
            )
        )

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


async def _coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


class _FormRequest(OAuth2Request):  # type: ignore[misc]  # authlib is untyped
    """authlib's request whose ``form`` is the fields given, even none (authlib's own raises
    NotImplementedError for an empty form: a 500 for a POST without a body, found by the fuzzer)."""

    @property
    def form(self) -> dict[str, str]:
        fields: dict[str, str] = self.payload.data
        return fields


def oauth_request(method: str, url: str, headers: Mapping[str, str], data: dict[str, str]) -> OAuth2Request:
    """authlib's view of a request: its method, URL, headers and form (or query) fields. The URL is
    given as https: TLS ends at the deployment's proxy, which authlib cannot see (its check of the
    scheme would refuse every request behind one)."""
    if url.startswith("http://"):
        url = "https://" + url.removeprefix("http://")
    request = _FormRequest(method, url, headers=headers)
    request.payload = BasicOAuth2Payload(data)  # what authlib reads as request.form, too
    return request


async def run_server(kernel: Kernel, call: Callable[[Server], T]) -> T:
    """Run ``call`` with a server for this request in a worker thread (authlib is synchronous)."""
    server = Server(kernel, asyncio.get_running_loop())
    return await asyncio.to_thread(call, server)


def _response(result: tuple[int, Any, list[tuple[str, str]]]) -> Response[Any]:
    status, body, headers = result
    return Response(content=body, status_code=status, headers=dict(headers), media_type="application/json")


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The form as sent (litestar has parsed it once for the declared body; this is its cached copy),
    every field included: authlib, not the declared struct, decides what a request may carry."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


# --- what the OpenAPI document says of the two endpoints -------------------------------------

GrantType = Annotated[
    str,
    msgspec.Meta(
        description="client_credentials, authorization_code (with code, redirect_uri and code_verifier) "
        "or refresh_token (with refresh_token)",
        examples=["client_credentials"],
    ),
]


class TokenRequest(msgspec.Struct, kw_only=True):
    """The token endpoint's form (``application/x-www-form-urlencoded``). The client authenticates with
    HTTP Basic (client id and secret) or with ``client_id`` and ``client_secret`` in the form."""

    grant_type: GrantType | None = None
    scope: Annotated[str, msgspec.Meta(description="Space-separated scopes; default: all the app may hold")] | None = (
        None
    )
    code: str | None = None
    redirect_uri: str | None = None
    code_verifier: (
        Annotated[str, msgspec.Meta(description="PKCE (S256): the verifier of the code challenge")] | None
    ) = None
    refresh_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None


class TokenResponse(msgspec.Struct, kw_only=True):
    """Tokens issued (RFC 6749 §5.1): the access token is an RFC 9068 JWT for ``Authorization: Bearer``."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str | msgspec.UnsetType = msgspec.UNSET
    refresh_token: str | msgspec.UnsetType = msgspec.UNSET


class RevocationRequest(msgspec.Struct, kw_only=True):
    """The revocation endpoint's form (RFC 7009 §2.1), authenticated as the token endpoint is."""

    token: str | None = None
    token_type_hint: Annotated[str, msgspec.Meta(description="access_token or refresh_token")] | None = None
    client_id: str | None = None
    client_secret: str | None = None


class Revoked(msgspec.Struct):
    """Nothing more: the token is revoked, or was unknown or not the app's (RFC 7009 §2.2)."""


class OAuthError(msgspec.Struct, kw_only=True):
    """An OAuth error (RFC 6749 §5.2): ``invalid_request``, ``invalid_client``, ``invalid_grant``,
    ``unauthorized_client``, ``unsupported_grant_type``, ``invalid_scope``."""

    error: str
    error_description: str | msgspec.UnsetType = msgspec.UNSET


def _oauth_error(request: Request[Any, Any, Any], exc: HTTPException | ValidationFailed) -> Response[Any]:
    """A request refused before authlib sees it — a form litestar cannot read, or one the app's
    shared guards refuse (a NUL character) — answers as OAuth clients expect: an OAuth error, not a
    problem document."""
    code = exc.status_code if isinstance(exc, HTTPException) else exc.status
    status = code if 400 <= code < 500 else 400
    return Response(
        {"error": "invalid_request", "error_description": str(exc.detail)},
        status_code=status if status in (400, 401) else 400,
        media_type="application/json",
    )


def _errors(described: str) -> dict[int, ResponseSpec]:
    return {
        400: ResponseSpec(OAuthError, description=f"{described} (an OAuth error)", generate_examples=False),
        401: ResponseSpec(
            OAuthError, description="invalid_client: unknown client or wrong secret", generate_examples=False
        ),
    }


FORM = Body(media_type=RequestEncodingType.URL_ENCODED)


@post(
    "/token",
    status_code=200,
    operation_id="createOAuthToken",
    summary="Issue OAuth tokens",
    responses={
        200: ResponseSpec(TokenResponse, description="The tokens", generate_examples=False),
        **_errors("A bad grant, code or scope"),
    },
)
async def token_endpoint(request: Request[Any, Any, Any], data: Annotated[TokenRequest, FORM]) -> Response[Any]:
    """The token endpoint (RFC 6749 §3.2): client credentials, authorization code with PKCE, refresh.
    An app's own credentials authenticate it; an API key does not."""
    kernel: Kernel = request.app.state.kernel
    oauth = oauth_request("POST", str(request.url), request.headers, await _form(request))
    return _response(await run_server(kernel, lambda server: server.create_token_response(oauth)))


@post(
    "/revoke",
    status_code=200,
    operation_id="revokeOAuthToken",
    summary="Revoke an OAuth token",
    responses={
        200: ResponseSpec(Revoked, description="Revoked (or unknown)", generate_examples=False),
        **_errors("No token given"),
    },
)
async def revoke_endpoint(request: Request[Any, Any, Any], data: Annotated[RevocationRequest, FORM]) -> Response[Any]:
    """Token revocation (RFC 7009): an app revokes one of its access or refresh tokens; it stops
    working at once everywhere (with Redis; see the operator guide)."""
    kernel: Kernel = request.app.state.kernel
    oauth = oauth_request("POST", str(request.url), request.headers, await _form(request))
    result = await run_server(
        kernel, lambda server: server.create_endpoint_response(RevocationEndpoint.ENDPOINT_NAME, oauth)
    )
    return _response(result)


# --- the console's consent screen ------------------------------------------------------------


@dataclass(frozen=True)
class ConsentRequest:
    """A valid authorization request, to show on the consent screen: the app, its workspace and the
    scopes it asks for (those it may hold)."""

    app: Any
    workspace_id: int
    scopes: list[str]
    redirect_uri: str


class ConsentError(ValueError):
    """The authorization request is invalid; ``redirect`` is where to send the error, when it is safe
    to (a redirect URI the app registered), else None (the screen shows it)."""

    def __init__(self, message: str, redirect: str | None) -> None:
        super().__init__(message)
        self.redirect = redirect


def _denied(error: OAuth2Error, redirect_uri: str | None) -> ConsentError:
    if redirect_uri is None:
        return ConsentError(error.description or error.error, None)
    params = {"error": error.error, "error_description": error.description or ""}
    if error.state:
        params["state"] = error.state
    return ConsentError(error.description or error.error, f"{redirect_uri}?{urlencode(params)}")


async def consent_request(kernel: Kernel, url: str, params: dict[str, str]) -> ConsentRequest:
    """Check an authorization request (``GET /console/oauth/authorize?…``) with authlib: known client,
    registered redirect URI, ``response_type=code``, a PKCE challenge, scopes."""
    oauth = oauth_request("GET", url, {}, params)

    def check(server: Server) -> ConsentRequest:
        try:
            grant = server.get_consent_grant(oauth)
        except OAuth2Error as exc:
            client = server.query_client(params.get("client_id", "")) if params.get("client_id") else None
            uri = params.get("redirect_uri")
            safe = uri if client is not None and uri and client.check_redirect_uri(uri) else None
            raise _denied(exc, safe) from None
        return ConsentRequest(
            app=grant.client.row,
            workspace_id=grant.client.row["workspace"],
            scopes=(grant.request.scope or "").split(),
            redirect_uri=grant.redirect_uri,
        )

    return await run_server(kernel, check)


async def approve(kernel: Kernel, url: str, params: dict[str, str], operator_id: int, scopes: list[str]) -> str:
    """The redirect after an operator approved ``scopes`` (those of the request they kept, and may
    grant themselves): the app's redirect URI with the code and state."""
    oauth = oauth_request("GET", url, {}, {**params, "scope": " ".join(scopes)})

    def grant(server: Server) -> str:
        user = Operator(operator_id)
        try:
            consented = server.get_consent_grant(oauth, end_user=user)
        except OAuth2Error as exc:
            raise _denied(exc, None) from None
        _status, _body, headers = server.create_authorization_response(oauth, grant_user=user, grant=consented)
        location: str = dict(headers)["Location"]
        return location

    return await run_server(kernel, grant)


def deny_redirect(request: ConsentRequest, state: str | None) -> str:
    params = {"error": "access_denied", "error_description": "The operator declined"}
    if state:
        params["state"] = state
    return f"{request.redirect_uri}?{urlencode(params)}"


#: both endpoints authenticate the app themselves (RFC 6749 §2.3), not with an API key, and answer as
#: OAuth says — OAuth errors, not problem documents
ROUTES = [
    Router(
        "/oauth",
        route_handlers=[token_endpoint, revoke_endpoint],
        tags=["oauth"],
        security=[{}],
        exception_handlers={HTTPException: _oauth_error, ValidationFailed: _oauth_error},
    )
]
