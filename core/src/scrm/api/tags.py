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

    @get(opt=READ, operation_id="listTags", summary="List tags")
    async def list_tags(
        self,
        kernel: KernelDep,
        ws: WorkspaceDep,
        group: Annotated[str | None, QueryParameter(max_length=100)] = None,
    ) -> list[TagOut]:
        """The workspace's tags with their groups and member counts, optionally of one group."""
        return await kernel.tags.list(ws, group)

    @post(opt=WRITE, operation_id="createTag", summary="Create a tag")
    async def create_tag(self, kernel: KernelDep, ws: WorkspaceDep, data: JSONBody[TagCreate]) -> TagOut:
        """A new tag, optionally in a group; a name already used is a 409."""
        return await kernel.tags.create(ws, data)

    @get("/{name:str}", opt=READ, operation_id="getTag", summary="Get a tag")
    async def get_tag(self, kernel: KernelDep, ws: WorkspaceDep, name: FromPath[str]) -> TagOut:
        """One tag by name, with its member count."""
        return await kernel.tags.get(ws, name)

    @patch("/{name:str}", opt=WRITE, operation_id="updateTag", summary="Update a tag")
    async def update_tag(
        self, kernel: KernelDep, ws: WorkspaceDep, name: FromPath[str], data: JSONBody[TagUpdate]
    ) -> TagOut:
        """Change a tag's group or description."""
        return await kernel.tags.update(ws, name, data)

    @delete("/{name:str}", opt=WRITE, operation_id="deleteTag", summary="Delete a tag")
    async def delete_tag(self, kernel: KernelDep, ws: WorkspaceDep, name: FromPath[str]) -> None:
        """Delete a tag and take it off every member."""
        await kernel.tags.delete(ws, name)
