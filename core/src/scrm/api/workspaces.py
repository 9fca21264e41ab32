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

    @get(opt=READ, operation_id="listWorkspaces", summary="List workspaces")
    async def list_workspaces(self, kernel: KernelDep, principal: PrincipalDep) -> list[WorkspaceOut]:
        """Every workspace for an operator key; a workspace key sees only its own."""
        if principal.workspace_id is not None:
            return [await kernel.workspaces.get(principal.workspace_id)]
        return await kernel.workspaces.list()

    @post(opt=WRITE, operation_id="createWorkspace", summary="Create a workspace")
    async def create_workspace(self, kernel: KernelDep, data: JSONBody[WorkspaceCreate]) -> WorkspaceOut:
        """A new tenant with its own members, events, keys and plugins (operator keys only). A slug already taken is a 409."""
        return await kernel.workspaces.create(data)

    @get("/{slug:str}", opt=READ, operation_id="getWorkspace", summary="Get a workspace")
    async def get_workspace(self, kernel: KernelDep, principal: PrincipalDep, slug: FromPath[str]) -> WorkspaceOut:
        """One workspace by slug. A workspace key asking for another workspace gets a 404."""
        return await _visible(kernel, principal, slug)

    @patch("/{slug:str}", opt=WRITE, operation_id="updateWorkspace", summary="Update a workspace")
    async def update_workspace(
        self, kernel: KernelDep, principal: PrincipalDep, slug: FromPath[str], data: JSONBody[WorkspaceUpdate]
    ) -> WorkspaceOut:
        """Change a workspace's name or time zone; fields left out stay as they are."""
        ws = await _visible(kernel, principal, slug)
        return await kernel.workspaces.update(ws.slug, data)

    @delete("/{slug:str}", opt=WRITE, operation_id="deleteWorkspace", summary="Delete a workspace")
    async def delete_workspace(self, kernel: KernelDep, principal: PrincipalDep, slug: FromPath[str]) -> None:
        """Delete a workspace and everything in it: members, events, consents, keys and every plugin's rows."""
        ws = await _visible(kernel, principal, slug)
        await kernel.workspaces.delete(ws.slug)


async def _visible(kernel: Kernel, principal: Principal, slug: str) -> WorkspaceOut:
    """The workspace, if this caller may see it: an operator sees all, a workspace key its own."""
    ws = await kernel.workspaces.get(slug)
    if principal.workspace_id not in (None, ws.id):
        raise NotFound(f"No workspace {slug!r}")
    return ws
