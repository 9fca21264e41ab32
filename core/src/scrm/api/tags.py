"""``/api/v1/tags``: the workspace's tags and tag groups."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter

from scrm.kernel import Kernel
from scrm.schemas import TagCreate, TagOut, TagUpdate
from scrm.services.context import WorkspaceRef

READ = {"scope": "tags:read"}
WRITE = {"scope": "tags:write"}


class TagController(Controller):
    path = "/tags"
    tags = ["tags"]

    @get(opt=READ, operation_id="listTags")
    async def list_tags(
        self, kernel: Kernel, ws: WorkspaceRef, group: Annotated[str | None, Parameter(max_length=100)] = None
    ) -> list[TagOut]:
        return await kernel.tags.list(ws, group)

    @post(opt=WRITE, operation_id="createTag")
    async def create_tag(self, kernel: Kernel, ws: WorkspaceRef, data: TagCreate) -> TagOut:
        return await kernel.tags.create(ws, data)

    @get("/{name:str}", opt=READ, operation_id="getTag")
    async def get_tag(self, kernel: Kernel, ws: WorkspaceRef, name: str) -> TagOut:
        return await kernel.tags.get(ws, name)

    @patch("/{name:str}", opt=WRITE, operation_id="updateTag")
    async def update_tag(self, kernel: Kernel, ws: WorkspaceRef, name: str, data: TagUpdate) -> TagOut:
        return await kernel.tags.update(ws, name, data)

    @delete("/{name:str}", opt=WRITE, operation_id="deleteTag")
    async def delete_tag(self, kernel: Kernel, ws: WorkspaceRef, name: str) -> None:
        await kernel.tags.delete(ws, name)
