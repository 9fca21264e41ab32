"""``/api/v1/keys``: the workspace's API keys. A new key is returned once, in the create response."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.params import JSONBody, PathParameter

from scrm.deps import KernelDep, PrincipalDep, WorkspaceDep
from scrm.params import MAX_ID
from scrm.schemas import KeyCreate, KeyCreated, KeyOut


class KeyController(Controller):
    path = "/keys"
    tags = ["keys"]

    @get(opt={"scope": "keys:read"}, operation_id="listKeys")
    async def list_keys(self, kernel: KernelDep, ws: WorkspaceDep) -> list[KeyOut]:
        return await kernel.keys.list(ws)

    @post(opt={"scope": "keys:write"}, operation_id="createKey")
    async def create_key(
        self, kernel: KernelDep, ws: WorkspaceDep, principal: PrincipalDep, data: JSONBody[KeyCreate]
    ) -> KeyCreated:
        return await kernel.keys.create(ws, data.scopes, data.name, creator=principal)

    @delete("/{key_id:int}", opt={"scope": "keys:write"}, operation_id="revokeKey")
    async def revoke_key(
        self,
        kernel: KernelDep,
        ws: WorkspaceDep,
        principal: PrincipalDep,
        key_id: Annotated[int, PathParameter(gt=0, le=MAX_ID)],
    ) -> None:
        await kernel.keys.revoke(ws, key_id, revoker=principal)
