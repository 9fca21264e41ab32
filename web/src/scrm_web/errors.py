"""How the console answers when something goes wrong: a page (or, for htmx, a fragment) that says
what happened in the operator's language, with the right status — never a stack trace."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from scrm import Problem

from scrm_web import i18n
from scrm_web.auth import SignInRequired

log = logging.getLogger("scrm.console")


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def _sign_in(request: Request[Any, Any, Any], _: SignInRequired) -> Response[Any]:
    """To the sign-in page, coming back here afterwards, query included (an app's authorization
    request lives in it); htmx follows ``HX-Redirect`` with a full load."""
    target = ""
    if request.method == "GET" and not is_htmx(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = "/console/login" + (f"?next={quote(target)}" if target and target != "/console/login" else "")
    if is_htmx(request):
        return Response(content=b"", status_code=200, headers={"HX-Redirect": url})
    return Redirect(url, status_code=HTTP_303_SEE_OTHER)


def error_page(request: Request[Any, Any, Any], status: int, title: str, detail: str) -> Template:
    name = "console/_error.html" if is_htmx(request) else "console/error.html"
    return Template(name, context={"status": status, "title": title, "detail": detail}, status_code=status)


def _problem(request: Request[Any, Any, Any], exc: Problem) -> Template:
    return error_page(request, exc.status, i18n.gettext(exc.title), i18n.gettext(exc.detail))


def _csrf(request: Request[Any, Any, Any], _: PermissionDeniedException) -> Template:
    return error_page(
        request,
        403,
        i18n.gettext("This form has expired"),
        i18n.gettext("The page was open too long or came from another site. Reload the page and try again."),
    )


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Template:
    if exc.status_code == 404:
        return error_page(request, 404, i18n.gettext("Not found"), i18n.gettext("There is no such page."))
    return error_page(request, exc.status_code, i18n.gettext("The request was not understood"), str(exc.detail))


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Template:
    log.exception("console error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(
        request,
        500,
        i18n.gettext("Something went wrong"),
        i18n.gettext("The error was logged. Try again, or tell your administrator if it persists."),
    )


EXCEPTION_HANDLERS: Any = {
    SignInRequired: _sign_in,
    Problem: _problem,
    PermissionDeniedException: _csrf,
    HTTPException: _http,
    Exception: _unexpected,
}
