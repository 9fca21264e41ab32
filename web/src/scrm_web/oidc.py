"""Console sign-in through an OpenID Connect provider: the authorization code flow with PKCE.

Nothing about a sign-in in progress is kept in a process: its state, nonce and PKCE verifier travel
in a short-lived cookie signed with the secret key (:func:`seal`), so the redirect to the provider
and the way back may reach different API processes. The provider's discovery document and keys are
fetched once per process and kept (the keys are fetched again when a token names a key they lack:
the provider has rotated them).

Authlib builds the authorization request and the PKCE challenge; joserfc verifies the ID token
(authlib's own JOSE is deprecated, and its httpx client warns on import). Every way this can fail
raises :class:`SignInFailed` with a status and a message for the person signing in.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet, OctKey
from scrm import OidcSettings

from scrm_web import i18n

log = logging.getLogger("scrm.console.oidc")

SCOPE = "openid email profile"
#: how long the person has to sign in at the provider and come back
PENDING_SECONDS = 600
#: ID tokens signed otherwise are refused: the provider's key set holds public keys, and "none" or
#: a client-secret HMAC would let anyone who knows the secret (or no one) vouch for an identity.
#: (joserfc warns on EdDSA, which RFC 9864 replaces with Ed25519; providers still use it.)
SIGNATURE_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "Ed25519",
    "EdDSA",
)
#: clock difference tolerated between the provider and this machine, in seconds
LEEWAY = 60
TIMEOUT = httpx.Timeout(10.0)


class SignInFailed(Exception):
    """Signing in through the provider did not work: 400 for a stale or forged return to the
    console, 403 when the sign-in is refused, 502 when the provider cannot be used."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Pending:
    """A sign-in sent to the provider and not yet back: what the callback must check it against,
    and where in the console to go afterwards."""

    state: str
    nonce: str
    verifier: str
    next: str

    @classmethod
    def new(cls, next_: str) -> Pending:
        return cls(state=generate_token(32), nonce=generate_token(32), verifier=generate_token(64), next=next_)


def _cookie_key(secret_key: str) -> OctKey:
    """A key of its own for the pending-sign-in cookie, derived from the secret key."""
    return OctKey.import_key(hmac.new(secret_key.encode(), b"scrm console oidc pending", hashlib.sha256).digest())


def seal(pending: Pending, secret_key: str) -> str:
    """``pending`` as a signed token that expires after :data:`PENDING_SECONDS`."""
    claims = {
        "state": pending.state,
        "nonce": pending.nonce,
        "verifier": pending.verifier,
        "next": pending.next,
        "exp": int(time.time()) + PENDING_SECONDS,
    }
    return jwt.encode({"alg": "HS256"}, claims, _cookie_key(secret_key))


def unseal(value: str, secret_key: str) -> Pending:
    """The pending sign-in in a cookie made by :func:`seal`; a forged or expired one is a 400."""
    try:
        token = jwt.decode(value, _cookie_key(secret_key), algorithms=["HS256"])
        jwt.JWTClaimsRegistry(exp={"essential": True}).validate(token.claims)
        return Pending(
            state=str(token.claims["state"]),
            nonce=str(token.claims["nonce"]),
            verifier=str(token.claims["verifier"]),
            next=str(token.claims["next"]),
        )
    except (JoseError, ValueError, KeyError) as exc:
        raise stale() from exc


def stale() -> SignInFailed:
    return SignInFailed(
        400,
        i18n.gettext(
            "This sign-in took too long, or was started in another browser or tab. Start again from the sign-in page."
        ),
    )


@dataclass(frozen=True)
class Endpoints:
    """What the provider's discovery document says, as far as scrm needs it."""

    issuer: str
    authorization: str
    token: str
    jwks: str
    userinfo: str | None
    #: client_secret_basic (the standard's default) or, when the provider supports only that, client_secret_post
    basic_auth: bool
    algorithms: tuple[str, ...]


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in: the ID token's subject and claims."""

    subject: str
    claims: dict[str, Any]
    access_token: str | None = field(default=None, repr=False)


class Provider:
    """The configured provider, reached over ``transport`` (httpx's own when None; tests pass one
    that reaches an identity provider running in-process)."""

    def __init__(self, config: OidcSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.transport = transport
        self._endpoints: Endpoints | None = None
        self._keys: KeySet | None = None

    async def authorization_url(self, redirect_uri: str, pending: Pending) -> str:
        """Where to send the browser to sign in."""
        endpoints = await self.endpoints()
        url: str = prepare_grant_uri(
            endpoints.authorization,
            self.config.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=SCOPE,
            state=pending.state,
            nonce=pending.nonce,
            code_challenge=create_s256_code_challenge(pending.verifier),
            code_challenge_method="S256",
        )
        return url

    async def identity(self, code: str, redirect_uri: str, pending: Pending) -> Identity:
        """Redeem the authorization ``code`` at the token endpoint and verify the ID token it brings."""
        endpoints = await self.endpoints()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": pending.verifier,
        }
        auth = None
        if endpoints.basic_auth:
            auth = httpx.BasicAuth(self.config.client_id, self.config.client_secret)
        else:
            form |= {"client_id": self.config.client_id, "client_secret": self.config.client_secret}
        tokens = await self._json("POST", endpoints.token, data=form, auth=auth)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise unusable("its token endpoint answered without an ID token")
        claims = await self._verify(id_token, pending.nonce, endpoints)
        access_token = tokens.get("access_token")
        return Identity(
            subject=claims["sub"],
            claims=claims,
            access_token=access_token if isinstance(access_token, str) else None,
        )

    async def username(self, identity: Identity) -> str | None:
        """The username the configured claim names (lowercased), or None when the provider does not
        say. Providers that keep profile claims out of the ID token are asked at their userinfo
        endpoint. An email address the provider says it has not verified is refused."""
        claim = self.config.username_claim
        claims = identity.claims
        endpoints = await self.endpoints()
        if claim not in claims and endpoints.userinfo and identity.access_token:
            info = await self._json(
                "GET", endpoints.userinfo, headers={"Authorization": f"Bearer {identity.access_token}"}
            )
            if info.get("sub") != identity.subject:
                raise unusable("its userinfo endpoint described another subject than the ID token")
            claims = {**info, **claims}
        value = claims.get(claim)
        if not isinstance(value, str) or not value.strip():
            return None
        if claim == "email" and claims.get("email_verified") is False:
            raise SignInFailed(
                403,
                i18n.gettext("The identity provider has not verified the email address %(email)s.") % {"email": value},
            )
        return value.strip().lower()

    # --- the provider's documents ---------------------------------------------------------------

    async def endpoints(self) -> Endpoints:
        """The discovery document's endpoints, fetched on first use and kept for the process."""
        if self._endpoints is None:
            self._endpoints = _endpoints(
                await self._json("GET", self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"),
                self.config.issuer,
            )
        return self._endpoints

    async def _key_set(self, endpoints: Endpoints, *, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            document = await self._json("GET", endpoints.jwks)
            listed = document.get("keys")
            keys = listed if isinstance(listed, list) else []
            signing = [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"]
            try:
                self._keys = KeySet.import_key_set({"keys": signing})
            except (JoseError, ValueError) as exc:
                raise unusable(f"its key set ({endpoints.jwks}) holds no usable signing key: {exc}") from exc
        return self._keys

    async def _verify(self, id_token: str, nonce: str, endpoints: Endpoints) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, times and nonce are checked."""
        try:
            try:
                token = jwt.decode(id_token, await self._key_set(endpoints), algorithms=endpoints.algorithms)
            except InvalidKeyIdError:
                token = jwt.decode(
                    id_token, await self._key_set(endpoints, refresh=True), algorithms=endpoints.algorithms
                )
            jwt.JWTClaimsRegistry(
                leeway=LEEWAY,
                iss={"essential": True, "value": endpoints.issuer},
                aud={"essential": True, "value": self.config.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(token.claims)
            azp = token.claims.get("azp")
            if azp is not None and azp != self.config.client_id:
                raise ValueError(f"the token was issued to {azp!r}")
        except (JoseError, ValueError, KeyError) as exc:
            log.warning("OIDC sign-in refused: the ID token did not verify (%s: %s)", type(exc).__name__, exc)
            raise SignInFailed(
                403, i18n.gettext("The identity provider's answer could not be verified, so the sign-in is refused.")
            ) from exc
        return token.claims

    async def _json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        """A JSON object from the provider; any other answer is a 502 (and logged)."""
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=TIMEOUT) as http:
                response = await http.request(
                    method, url, headers={"Accept": "application/json"} | kwargs.pop("headers", {}), **kwargs
                )
        except httpx.HTTPError as exc:
            log.warning("OIDC: %s %s failed: %s", method, url, exc)
            raise SignInFailed(
                502, i18n.gettext("The identity provider could not be reached. Try again in a moment.")
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict):
            return body
        log.warning("OIDC: %s %s answered %s: %.300s", method, url, response.status_code, response.text)
        error = body.get("error") if isinstance(body, dict) else None
        raise SignInFailed(
            502,
            i18n.gettext("The identity provider answered with an error (%(error)s).")
            % {"error": error if isinstance(error, str) else f"HTTP {response.status_code}"},
        )


def unusable(reason: str) -> SignInFailed:
    """The provider answers in a way scrm cannot use: its setup (or scrm's) needs fixing."""
    log.error("OIDC: the identity provider is not usable: %s", reason)
    return SignInFailed(
        502, i18n.gettext("The identity provider is not set up as scrm needs: %(reason)s.") % {"reason": reason}
    )


def _endpoints(document: dict[str, Any], issuer: str) -> Endpoints:
    """The endpoints of a discovery document, which must name the configured issuer and https URLs."""
    named = document.get("issuer")
    if not isinstance(named, str) or named.rstrip("/") != issuer.rstrip("/"):
        raise unusable(f"its discovery document names the issuer {named!r}, not {issuer!r}")
    urls: dict[str, str] = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        url = document.get(name)
        if not isinstance(url, str) or not OidcSettings.secure_url(url):
            raise unusable(f"its discovery document has no https {name}")
        urls[name] = url
    userinfo = document.get("userinfo_endpoint")
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = tuple(a for a in offered if a in SIGNATURE_ALGORITHMS)
    if not algorithms:
        raise unusable(
            f"it signs ID tokens with {', '.join(map(str, offered))}; scrm accepts {', '.join(SIGNATURE_ALGORITHMS)}"
        )
    return Endpoints(
        issuer=named,
        authorization=urls["authorization_endpoint"],
        token=urls["token_endpoint"],
        jwks=urls["jwks_uri"],
        userinfo=userinfo if isinstance(userinfo, str) and OidcSettings.secure_url(userinfo) else None,
        basic_auth="client_secret_basic" in methods or "client_secret_post" not in methods,
        algorithms=algorithms,
    )
