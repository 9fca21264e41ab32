"""``/api/v1/plugins``: installed plugins with their manifests; enable or disable them here."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath
from msgspec import UNSET

from scrm.deps import KernelDep, WorkspaceDep
from scrm.schemas import PluginOut, PluginToggle

ENABLE = Example(summary="Enable the points plugin", value={"name": "points", "enabled": True})


class PluginController(Controller):
    path = "/plugins"
    tags = ["plugins"]

    @get(opt={"scope": "plugins:read"}, operation_id="listPlugins", summary="List plugins")
    async def list_plugins(self, kernel: KernelDep, ws: WorkspaceDep) -> list[PluginOut]:
        """Every installed plugin with its manifest and whether it is enabled in this workspace."""
        return await kernel.workspaces.plugins(ws)

    @get("/{name:str}", opt={"scope": "plugins:read"}, operation_id="getPlugin", summary="Get a plugin")
    async def get_plugin(self, kernel: KernelDep, ws: WorkspaceDep, name: FromPath[str]) -> PluginOut:
        """One installed plugin by name, with its manifest, settings and whether it is enabled here."""
        return await kernel.workspaces.plugin(ws, name)

    @post(
        opt={"scope": "plugins:write"}, operation_id="setPlugin", summary="Enable or disable a plugin", status_code=200
    )
    async def set_plugin(
        self, kernel: KernelDep, ws: WorkspaceDep, data: Annotated[PluginToggle, Body(examples=[ENABLE])]
    ) -> PluginOut:
        """Switch a plugin on or off in this workspace, optionally with its settings (validated by the plugin: a 422 names the bad fields)."""
        settings = None if data.settings is UNSET else data.settings
        return await kernel.workspaces.set_plugin(ws, data.name, data.enabled, settings)
