"""``/api/v1/plugins``: installed plugins with their manifests; enable or disable them here."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody
from msgspec import UNSET

from scrm.deps import KernelDep, WorkspaceDep
from scrm.schemas import PluginOut, PluginToggle


class PluginController(Controller):
    path = "/plugins"
    tags = ["plugins"]

    @get(opt={"scope": "plugins:read"}, operation_id="listPlugins")
    async def list_plugins(self, kernel: KernelDep, ws: WorkspaceDep) -> list[PluginOut]:
        return await kernel.workspaces.plugins(ws)

    @get("/{name:str}", opt={"scope": "plugins:read"}, operation_id="getPlugin")
    async def get_plugin(self, kernel: KernelDep, ws: WorkspaceDep, name: FromPath[str]) -> PluginOut:
        return await kernel.workspaces.plugin(ws, name)

    @post(opt={"scope": "plugins:write"}, operation_id="setPlugin", status_code=200)
    async def set_plugin(self, kernel: KernelDep, ws: WorkspaceDep, data: JSONBody[PluginToggle]) -> PluginOut:
        settings = None if data.settings is UNSET else data.settings
        return await kernel.workspaces.set_plugin(ws, data.name, data.enabled, settings)
