"""``/api/v1/tags``: the workspace's tags and tag groups."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from scrm.deps import KernelDep, WorkspaceDep
from scrm.schemas import TagCreate, TagOut, TagUpdate

READ = {"scope": "tags:read"}
WRITE = {"scope": "tags:write"}


class TagController(Controller):
    path = "/tags"
    tags = ["tags"]

    @get(opt=READ, operation_id="listTags")
    async def list_tags(
        self,
        kernel: KernelDep,
        ws: WorkspaceDep,
        group: Annotated[str | None, QueryParameter(max_length=100)] = None,
    ) -> list[TagOut]:
        return await kernel.tags.list(ws, group)

    @post(opt=WRITE, operation_id="createTag")
    async def create_tag(self, kernel: KernelDep, ws: WorkspaceDep, data: JSONBody[TagCreate]) -> TagOut:
        return await kernel.tags.create(ws, data)

    @get("/{name:str}", opt=READ, operation_id="getTag")
    async def get_tag(self, kernel: KernelDep, ws: WorkspaceDep, name: FromPath[str]) -> TagOut:
        return await kernel.tags.get(ws, name)

    @patch("/{name:str}", opt=WRITE, operation_id="updateTag")
    async def update_tag(
        self, kernel: KernelDep, ws: WorkspaceDep, name: FromPath[str], data: JSONBody[TagUpdate]
    ) -> TagOut:
        return await kernel.tags.update(ws, name, data)

    @delete("/{name:str}", opt=WRITE, operation_id="deleteTag")
    async def delete_tag(self, kernel: KernelDep, ws: WorkspaceDep, name: FromPath[str]) -> None:
        await kernel.tags.delete(ws, name)
