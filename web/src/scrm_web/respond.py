"""How a console page answers: the whole page, or for htmx the fragment it swaps in; after a change,
where the browser goes next; and with which status a form comes back when it has errors."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from scrm import form_status

from scrm_web.errors import is_htmx

__all__ = ["form_status", "page", "see_other"]


def page(
    request: Request[Any, Any, Any],
    name: str,
    context: dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    """``console/<name>.html``, or for an htmx request its fragment ``console/_<name>.html`` (the
    part of the page the request's form or button swaps)."""
    template = f"console/_{name}.html" if is_htmx(request) else f"console/{name}.html"
    return Template(template, context=context, status_code=status, headers=headers)


def see_other(request: Request[Any, Any, Any], url: str) -> Response[Any]:
    """After a change, load ``url``: a 303 (POST-redirect-GET), or for htmx a full load through
    ``HX-Redirect`` — used where the change shows outside any fragment (the navigation, the header)."""
    if is_htmx(request):
        return Response(content=b"", status_code=200, headers={"HX-Redirect": url})
    return Redirect(url, status_code=HTTP_303_SEE_OTHER)
