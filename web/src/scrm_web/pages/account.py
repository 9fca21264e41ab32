"""The signed-in operator's own account: display name, language, password, and signing out the
other sessions. Outside any workspace, reached from the header; the header's language switcher
posts here from every page.

Changing the password asks for the current one (a session left open is not enough to take the
account over) and ends every other session, so whoever knew the old password is out.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY
from scrm import KernelDep, ValidationFailed

from scrm_web import i18n
from scrm_web.auth import SESSION_COOKIE, console_of
from scrm_web.forms import field_errors, invalid, values
from scrm_web.i18n import N_
from scrm_web.pages.login import safe_next

ACCOUNT = "/console/account"


@get("/account")
async def account_page(request: Request[Any, Any, Any], done: FromQuery[str | None] = None) -> Template:
    """``done`` names the change just saved (``profile``, ``password``, ``sessions``) for the message."""
    return _account(request, done=done)


@post("/account/profile")
async def save_profile(request: Request[Any, Any, Any], kernel: KernelDep) -> Template | Redirect:
    typed = values(await request.form())
    try:
        await kernel.operators.set_display_name(console_of(request).operator.id, typed.get("display_name", ""))
    except ValidationFailed as exc:
        return _account(request, form="profile", values=typed, errors=field_errors(exc), status=exc.status)
    return Redirect(f"{ACCOUNT}?done=profile", status_code=HTTP_303_SEE_OTHER)


@post("/account/locale")
async def switch_locale(request: Request[Any, Any, Any], kernel: KernelDep) -> Template | Redirect:
    typed = values(await request.form())
    locale = typed.get("locale", "")
    if locale not in i18n.LOCALES:
        errors = {"locale": i18n.gettext("not one of the console's languages")}
        return _account(request, form="locale", values=typed, errors=errors, status=HTTP_422_UNPROCESSABLE_ENTITY)
    await kernel.operators.set_locale(console_of(request).operator.id, locale)
    return Redirect(safe_next(typed.get("next")), status_code=HTTP_303_SEE_OTHER)


@post("/account/password")
async def change_password(request: Request[Any, Any, Any], kernel: KernelDep) -> Template | Redirect:
    form = await request.form()
    # passwords as typed: spaces at their ends are part of them
    current, new, again = (str(form.get(name, "")) for name in ("current_password", "password", "password_again"))
    me = console_of(request).operator
    try:
        if not await kernel.operators.verify_password(me.id, current):
            raise invalid("current_password", N_("this is not your current password"))
        if new != again:
            raise invalid("password_again", N_("the two new passwords differ"))
        await kernel.operators.set_password(me.id, new)
    except ValidationFailed as exc:
        return _account(request, form="password", errors=field_errors(exc), status=exc.status)
    await kernel.operators.close_sessions(me.id, keep=request.cookies.get(SESSION_COOKIE))
    return Redirect(f"{ACCOUNT}?done=password", status_code=HTTP_303_SEE_OTHER)


@post("/account/sessions")
async def sign_out_elsewhere(request: Request[Any, Any, Any], kernel: KernelDep) -> Redirect:
    await kernel.operators.close_sessions(console_of(request).operator.id, keep=request.cookies.get(SESSION_COOKIE))
    return Redirect(f"{ACCOUNT}?done=sessions", status_code=HTTP_303_SEE_OTHER)


def _account(request: Request[Any, Any, Any], *, status: int = 200, **form: Any) -> Template:
    """The account page; ``form`` names the form that failed, with its values and errors."""
    context = {"form": "", "values": {}, "errors": {}, "done": None, **form}
    return Template("console/account.html", context=context, status_code=status)


routes = [account_page, save_profile, switch_locale, change_password, sign_out_elsewhere]
