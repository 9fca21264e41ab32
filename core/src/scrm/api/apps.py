"""``/api/v1/apps``: the workspace's OAuth 2 apps. An app is a credential, so managing apps takes the
keys scopes; its client secret is returned once, in the create response."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.openapi.spec import Example
from litestar.params import Body

from scrm.deps import KernelDep, PrincipalDep, WorkspaceDep
from scrm.params import PathId
from scrm.schemas import AppCreate, AppCreated, AppOut

NEW_APP = Example(
    summary="An ERP that reads members and records orders",
    value={
        "name": "ERP",
        "scopes": ["members:read", "events:write"],
        "redirect_uris": ["https://erp.example.com/scrm/callback"],
    },
)


class AppController(Controller):
    path = "/apps"
    tags = ["apps"]

    @get(opt={"scope": "keys:read"}, operation_id="listApps", summary="List OAuth apps")
    async def list_apps(self, kernel: KernelDep, ws: WorkspaceDep) -> list[AppOut]:
        """The workspace's OAuth 2 apps: client id, scopes, redirect URIs (never the secret)."""
        return await kernel.apps.list(ws)

    @post(opt={"scope": "keys:write"}, operation_id="createApp", summary="Register an OAuth app")
    async def create_app(
        self,
        kernel: KernelDep,
        ws: WorkspaceDep,
        principal: PrincipalDep,
        data: Annotated[AppCreate, Body(examples=[NEW_APP])],
    ) -> AppCreated:
        """A new app that may be granted the given scopes (never more than the caller's own). The client
        secret is in this answer only: store it."""
        return await kernel.apps.create(ws, data, creator=principal)

    @get("/{app_id:int}", opt={"scope": "keys:read"}, operation_id="getApp", summary="Get an OAuth app")
    async def get_app(self, kernel: KernelDep, ws: WorkspaceDep, app_id: PathId) -> AppOut:
        """One app of this workspace."""
        return await kernel.apps.get(ws, app_id)

    @delete("/{app_id:int}", opt={"scope": "keys:write"}, operation_id="revokeApp", summary="Revoke an OAuth app")
    async def revoke_app(self, kernel: KernelDep, ws: WorkspaceDep, app_id: PathId) -> None:
        """Revoke an app and every token issued to it: its calls stop at once."""
        await kernel.apps.revoke(ws, app_id)
