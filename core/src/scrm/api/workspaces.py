"""``/api/v1/workspaces``: tenants. Operator keys manage them; a workspace key sees its own."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from scrm.deps import KernelDep, PrincipalDep
from scrm.kernel import Kernel
from scrm.problems import NotFound
from scrm.schemas import WorkspaceCreate, WorkspaceOut, WorkspaceUpdate
from scrm.services.keys import Principal

READ = {"scope": "workspaces:read"}
WRITE = {"scope": "workspaces:write"}


class WorkspaceController(Controller):
    path = "/workspaces"
    tags = ["workspaces"]

    @get(opt=READ, operation_id="listWorkspaces")
    async def list_workspaces(self, kernel: KernelDep, principal: PrincipalDep) -> list[WorkspaceOut]:
        if principal.workspace_id is not None:
            return [await kernel.workspaces.get(principal.workspace_id)]
        return await kernel.workspaces.list()

    @post(opt=WRITE, operation_id="createWorkspace")
    async def create_workspace(self, kernel: KernelDep, data: JSONBody[WorkspaceCreate]) -> WorkspaceOut:
        return await kernel.workspaces.create(data)

    @get("/{slug:str}", opt=READ, operation_id="getWorkspace")
    async def get_workspace(self, kernel: KernelDep, principal: PrincipalDep, slug: FromPath[str]) -> WorkspaceOut:
        return await _visible(kernel, principal, slug)

    @patch("/{slug:str}", opt=WRITE, operation_id="updateWorkspace")
    async def update_workspace(
        self, kernel: KernelDep, principal: PrincipalDep, slug: FromPath[str], data: JSONBody[WorkspaceUpdate]
    ) -> WorkspaceOut:
        ws = await _visible(kernel, principal, slug)
        return await kernel.workspaces.update(ws.slug, data)

    @delete("/{slug:str}", opt=WRITE, operation_id="deleteWorkspace")
    async def delete_workspace(self, kernel: KernelDep, principal: PrincipalDep, slug: FromPath[str]) -> None:
        ws = await _visible(kernel, principal, slug)
        await kernel.workspaces.delete(ws.slug)


async def _visible(kernel: Kernel, principal: Principal, slug: str) -> WorkspaceOut:
    """The workspace, if this caller may see it: an operator sees all, a workspace key its own."""
    ws = await kernel.workspaces.get(slug)
    if principal.workspace_id not in (None, ws.id):
        raise NotFound(f"No workspace {slug!r}")
    return ws
