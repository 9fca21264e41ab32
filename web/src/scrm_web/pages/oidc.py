"""Signing in through the OpenID Connect provider the settings name (``SCRM_OIDC_*``).

``/console/login/oidc`` sends the browser to the provider; the provider sends it back to
``/console/login/oidc/callback``, where the ID token's subject finds the operator it was linked to.
The first time, the operator is found by username (the claim ``SCRM_OIDC_USERNAME_CLAIM`` names) and
linked. Accounts are never created here: an owner creates them. Without OIDC settings both routes
are 404.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.datastructures import Cookie
from litestar.params import QueryParameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER
from scrm import Conflict, Kernel, KernelDep, NotFound, OperatorOut

from scrm_web import i18n
from scrm_web.auth import is_https, kernel_of, session_cookie
from scrm_web.errors import error_page
from scrm_web.i18n import N_
from scrm_web.oidc import PENDING_SECONDS, Identity, Pending, Provider, SignInFailed, seal, stale, unseal
from scrm_web.pages.login import client_address, safe_next

log = logging.getLogger("scrm.console.oidc")

PENDING_COOKIE = "scrm_oidc"
#: the pending sign-in's cookie goes only to these two routes
PENDING_PATH = "/console/login/oidc"
CALLBACK_PATH = PENDING_PATH + "/callback"
#: where the app keeps its :class:`Provider` (tests put one there that reaches their own provider)
PROVIDER_STATE = "oidc_provider"


def provider_of(request: Request[Any, Any, Any]) -> Provider:
    """This app's provider, made on first use, so its discovery document and keys are fetched once."""
    config = kernel_of(request).settings.oidc
    if config is None:
        raise NotFound(N_("Single sign-on is not configured"))
    provider: Provider | None = request.app.state.get(PROVIDER_STATE)
    if provider is None:
        provider = request.app.state[PROVIDER_STATE] = Provider(config)
    return provider


def callback_url(request: Request[Any, Any, Any]) -> str:
    """The redirect URI to register at the provider: this console's address plus the callback path."""
    return f"{'https' if is_https(request) else 'http'}://{request.url.netloc}{CALLBACK_PATH}"


def pending_cookie(request: Request[Any, Any, Any], sealed: str | None) -> Cookie:
    """The cookie carrying a sealed pending sign-in (clearing it when None). Same-site lax, so the
    browser still sends it on the provider's redirect back, which is a top-level GET."""
    return Cookie(
        key=PENDING_COOKIE,
        value=sealed or "",
        path=PENDING_PATH,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        max_age=PENDING_SECONDS if sealed else 0,
    )


def _use_browser_language(request: Request[Any, Any, Any]) -> None:
    i18n.use(i18n.best_match(request.headers.get("accept-language", "")))


def _failed(request: Request[Any, Any, Any], exc: SignInFailed) -> Response[Any]:
    return error_page(request, exc.status, i18n.gettext("Single sign-on failed"), exc.detail)


@get("/login/oidc")
async def oidc_start(
    request: Request[Any, Any, Any],
    kernel: KernelDep,
    next_: Annotated[str | None, QueryParameter(name="next")] = None,
) -> Response[Any]:
    """To the provider, with a new pending sign-in in a cookie."""
    _use_browser_language(request)
    provider = provider_of(request)
    pending = Pending.new(safe_next(next_))
    try:
        url = await provider.authorization_url(callback_url(request), pending)
    except SignInFailed as exc:
        return _failed(request, exc)
    response = Redirect(url, status_code=HTTP_303_SEE_OTHER)
    response.set_cookie(pending_cookie(request, seal(pending, kernel.settings.secret_key)))
    return response


@get("/login/oidc/callback")
async def oidc_callback(request: Request[Any, Any, Any], kernel: KernelDep) -> Response[Any]:
    """Back from the provider: a session for the operator it vouches for, or a page saying why not.
    The pending sign-in is forgotten either way, so a callback URL works once."""
    _use_browser_language(request)
    provider = provider_of(request)
    response: Response[Any]
    try:
        pending = _pending(request, kernel)
        operator = await _operator(
            kernel, provider, await provider.identity(_code(request), callback_url(request), pending)
        )
    except SignInFailed as exc:
        log.warning("OIDC sign-in failed (%s): %s", exc.status, exc.detail)
        response = _failed(request, exc)
    else:
        token = await kernel.operators.open_session(
            operator.id, client_address(request), request.headers.get("user-agent", "")
        )
        log.info("operator %s signed in through OIDC", operator.username)
        response = Redirect(pending.next, status_code=HTTP_303_SEE_OTHER)
        response.set_cookie(session_cookie(request, token))
    response.set_cookie(pending_cookie(request, None))
    return response


def _pending(request: Request[Any, Any, Any], kernel: Kernel) -> Pending:
    """The pending sign-in this callback completes: its cookie must hold the state the provider echoed."""
    sealed = request.cookies.get(PENDING_COOKIE)
    pending = unseal(sealed, kernel.settings.secret_key) if sealed else None
    if pending is None or not hmac.compare_digest(pending.state, request.query_params.get("state", "")):
        raise stale()
    return pending


def _code(request: Request[Any, Any, Any]) -> str:
    """The authorization code; the provider's refusal (checked after the state, so a forged link
    cannot put words on this page) is a 403 that says why."""
    query = request.query_params
    error = query.get("error")
    if error:
        raise SignInFailed(
            403,
            i18n.gettext("The identity provider did not sign you in: %(reason)s")
            % {"reason": query.get("error_description") or error},
        )
    code: str | None = query.get("code")
    if not code:
        raise stale()
    return code


async def _operator(kernel: Kernel, provider: Provider, identity: Identity) -> OperatorOut:
    """The operator linked to the identity's subject, else the one its username claim names (which is
    then linked, so renaming at the provider later changes nothing). Disabled accounts are refused."""
    operator = await kernel.operators.by_oidc_subject(identity.subject)
    if operator is None:
        operator = await _link(kernel, provider, identity)
    if operator.disabled:
        raise SignInFailed(
            403, i18n.gettext("The scrm operator %(name)s is disabled; ask an owner.") % {"name": operator.username}
        )
    return operator


async def _link(kernel: Kernel, provider: Provider, identity: Identity) -> OperatorOut:
    username = await provider.username(identity)
    if username is None:
        raise SignInFailed(
            403,
            i18n.gettext("The identity provider did not say who you are (no %(claim)s claim).")
            % {"claim": provider.config.username_claim},
        )
    try:
        operator = await kernel.operators.by_username(username)
    except NotFound:
        raise SignInFailed(
            403, i18n.gettext("No scrm operator for %(name)s; ask an owner to create one.") % {"name": username}
        ) from None
    if operator.disabled:
        return operator  # refused by the caller, and not linked
    if operator.oidc_linked:
        raise _linked_elsewhere(username)
    try:
        await kernel.operators.link_oidc(operator.id, identity.subject)
    except Conflict:
        raise _linked_elsewhere(username) from None
    log.info("operator %s linked to the OIDC subject %s", username, identity.subject)
    return operator


def _linked_elsewhere(username: str) -> SignInFailed:
    return SignInFailed(
        403,
        i18n.gettext("The scrm operator %(name)s signs in with another account at the identity provider; ask an owner.")
        % {"name": username},
    )


routes = [oidc_start, oidc_callback]
