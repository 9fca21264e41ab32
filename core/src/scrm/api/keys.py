"""``/api/v1/keys``: the workspace's API keys. A new key is returned once, in the create response."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.openapi.spec import Example
from litestar.params import Body, PathParameter

from scrm.deps import KernelDep, PrincipalDep, WorkspaceDep
from scrm.params import MAX_ID
from scrm.schemas import KeyCreate, KeyCreated, KeyOut

NEW_KEY = Example(
    summary="A key for a shop that records events and reads members",
    value={"name": "shop", "scopes": ["events:write", "members:read"]},
)


class KeyController(Controller):
    path = "/keys"
    tags = ["keys"]

    @get(opt={"scope": "keys:read"}, operation_id="listKeys", summary="List API keys")
    async def list_keys(self, kernel: KernelDep, ws: WorkspaceDep) -> list[KeyOut]:
        """The workspace's keys: name, scopes, prefix and last use (never the secret)."""
        return await kernel.keys.list(ws)

    @post(opt={"scope": "keys:write"}, operation_id="createKey", summary="Create an API key")
    async def create_key(
        self,
        kernel: KernelDep,
        ws: WorkspaceDep,
        principal: PrincipalDep,
        data: Annotated[KeyCreate, Body(examples=[NEW_KEY])],
    ) -> KeyCreated:
        """A new key with the given scopes (never more than the caller's own). The secret is in this answer only: store it."""
        return await kernel.keys.create(ws, data.scopes, data.name, creator=principal)

    @delete("/{key_id:int}", opt={"scope": "keys:write"}, operation_id="revokeKey", summary="Revoke an API key")
    async def revoke_key(
        self,
        kernel: KernelDep,
        ws: WorkspaceDep,
        principal: PrincipalDep,
        key_id: Annotated[int, PathParameter(gt=0, le=MAX_ID)],
    ) -> None:
        """Revoke a key at once; requests with it are refused from now on."""
        await kernel.keys.revoke(ws, key_id, revoker=principal)
