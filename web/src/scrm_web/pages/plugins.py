"""Plugins in a workspace: every installed one, the permissions (scopes) each asks for, whether it
is enabled here, and switching it on or off.

Enabling asks for confirmation, naming the permissions: htmx asks in a dialog (``hx-confirm``);
without JavaScript the button is a link to a page that asks. A switch changes the navigation (a
plugin's console pages appear or go), so it ends with a full page load rather than a fragment.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template
from scrm import Kernel, KernelDep, NavLink, WorkspaceDep, WorkspaceRef

from scrm_web.i18n import N_
from scrm_web.respond import see_other


@get("/plugins", opt={"scope": "plugins:read"})
async def plugins_page(kernel: KernelDep, ws: WorkspaceDep) -> Template:
    return Template("console/plugins.html", context={"plugins": await kernel.workspaces.plugins(ws)})


@get("/plugins/{name:str}/enable", opt={"scope": "plugins:write"})
async def confirm_enable(kernel: KernelDep, ws: WorkspaceDep, name: FromPath[str]) -> Template:
    return Template("console/plugins_enable.html", context={"plugin": await kernel.workspaces.plugin(ws, name)})


@post("/plugins/{name:str}/enable", opt={"scope": "plugins:write"})
async def enable(
    request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, name: FromPath[str]
) -> Response[Any]:
    return await _switch(request, kernel, ws, name, True)


@post("/plugins/{name:str}/disable", opt={"scope": "plugins:write"})
async def disable(
    request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, name: FromPath[str]
) -> Response[Any]:
    return await _switch(request, kernel, ws, name, False)


async def _switch(
    request: Request[Any, Any, Any], kernel: Kernel, ws: WorkspaceRef, name: str, on: bool
) -> Response[Any]:
    # set_plugin forgets the cached workspace, so the next page's navigation and the plugin's API
    # routes see the change at once
    await kernel.workspaces.set_plugin(ws, name, on, None)
    return see_other(request, f"/console/w/{ws.slug}/plugins")


routes = [plugins_page, confirm_enable, enable, disable]
nav = [NavLink(N_("Plugins"), "/plugins", "plugins:read")]
