"""Plugins in a workspace: every installed one, the permissions (scopes) each asks for, whether it
is enabled here, and switching it on or off.

Enabling asks for confirmation, naming the permissions: htmx asks in a dialog (``hx-confirm``);
without JavaScript the button is a link to a page that asks. A switch changes the navigation (a
plugin's console pages appear or go), so it ends with a full page load rather than a fragment.
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template
from scrm import Kernel, KernelDep, NavLink, Problem, WorkspaceDep, WorkspaceRef, form_errors, form_status, invalid

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


@get("/plugins/{name:str}/settings", opt={"scope": "plugins:read"})
async def settings_page(kernel: KernelDep, ws: WorkspaceDep, name: FromPath[str]) -> Template:
    plugin = await kernel.workspaces.plugin(ws, name)
    return _settings(plugin, json.dumps(plugin.settings, indent=2, ensure_ascii=False), {})


@post("/plugins/{name:str}/settings", opt={"scope": "plugins:write"})
async def save_settings(
    request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, name: FromPath[str]
) -> Response[Any]:
    """Settings as JSON, checked against the plugin's settings schema by the same service as the API
    (``set_plugin``): a bad value comes back next to the form, naming the field."""
    plugin = await kernel.workspaces.plugin(ws, name)
    text = str((await request.form()).get("settings", "")).strip()
    try:
        try:
            settings = json.loads(text or "{}")
        except json.JSONDecodeError as exc:
            raise invalid("settings", f"not JSON: {exc.msg} (line {exc.lineno})") from None
        if not isinstance(settings, dict):
            raise invalid("settings", "a JSON object ({...})")
        await kernel.workspaces.set_plugin(ws, name, plugin.enabled, settings)
    except Problem as exc:
        errors = {e.get("field", ""): e.get("message", "") for e in exc.errors or []} or form_errors(exc)
        return _settings(plugin, text, errors, form_status(exc))
    return see_other(request, f"/console/w/{ws.slug}/plugins")


def _settings(plugin: Any, text: str, errors: dict[str, str], status: int = 200) -> Template:
    schema = json.dumps(plugin.settings_schema, indent=2, ensure_ascii=False) if plugin.settings_schema else None
    context = {"plugin": plugin, "text": text, "errors": errors, "schema": schema}
    return Template("console/plugin_settings.html", context=context, status_code=status)


routes = [plugins_page, confirm_enable, enable, disable, settings_page, save_settings]
nav = [NavLink(N_("Plugins"), "/plugins", "plugins:read")]
