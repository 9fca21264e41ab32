"""Signing in and out. Sign-in is rate limited by the core (per username and per client address);
every failure looks the same, so the form does not reveal which usernames exist."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from scrm import KernelDep, RateLimited, Unauthenticated

from scrm_web import i18n
from scrm_web.auth import SESSION_COOKIE, kernel_of, session_cookie
from scrm_web.forms import values


def safe_next(target: str | None) -> str:
    """Where a form may send the browser next (after signing in, after switching language): only a
    path inside the console, never another site."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/"


def sso_name(request: Request[Any, Any, Any]) -> str:
    """The OIDC provider's name for the sign-in button; empty when no provider is configured."""
    oidc = kernel_of(request).settings.oidc
    return oidc.name if oidc else ""


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


@get("/login", sync_to_thread=False)
def login_form(
    request: Request[Any, Any, Any], next_: Annotated[str | None, QueryParameter(name="next")] = None
) -> Template:
    i18n.use(i18n.best_match(request.headers.get("accept-language", "")))
    context = {"values": {}, "error": "", "next": safe_next(next_), "sso": sso_name(request)}
    return Template("console/login.html", context=context)


@post("/login")
async def login(request: Request[Any, Any, Any], kernel: KernelDep) -> Template | Redirect:
    i18n.use(i18n.best_match(request.headers.get("accept-language", "")))
    form = await request.form()
    typed = values(form)
    try:
        operator = await kernel.operators.login(
            typed.get("username", ""), str(form.get("password", "")), client_address(request)
        )
    except (Unauthenticated, RateLimited) as exc:
        error = (
            i18n.gettext("Wrong username or password.")
            if isinstance(exc, Unauthenticated)
            else i18n.gettext("Too many failed sign-ins. Wait 15 minutes and try again.")
        )
        context = {
            "values": {"username": typed.get("username", "")},
            "error": error,
            "next": safe_next(typed.get("next")),
            "sso": sso_name(request),
        }
        return Template("console/login.html", context=context, status_code=exc.status)
    token = await kernel.operators.open_session(
        operator.id, client_address(request), request.headers.get("user-agent", "")
    )
    response = Redirect(safe_next(typed.get("next")), status_code=HTTP_303_SEE_OTHER)
    response.set_cookie(session_cookie(request, token))
    return response


@post("/logout")
async def logout(request: Request[Any, Any, Any], kernel: KernelDep) -> Redirect:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await kernel.operators.close_session(token)
    response = Redirect("/console/login", status_code=HTTP_303_SEE_OTHER)
    response.set_cookie(session_cookie(request, None))
    return response


routes = [login_form, login, logout]
