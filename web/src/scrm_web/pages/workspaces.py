"""The console's start page: straight into the operator's (first) workspace, or a page that says
they have none yet."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from scrm_web.auth import console_of


@get("/")
async def start(request: Request[Any, Any, Any]) -> Template | Redirect:
    console = console_of(request)
    if console.memberships:
        return Redirect(f"/console/w/{console.memberships[0].slug}/", status_code=HTTP_303_SEE_OTHER)
    return Template("console/no_workspace.html", context={})


routes = [start]
