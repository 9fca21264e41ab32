"""Tags and tag groups: the workspace's labels by group, how many members carry each, and creating,
editing (group and description) and deleting them.

A tag is named in the query string of its edit and delete forms (``?name=…``) rather than in the path,
since a tag name may hold any character but a comma or a bar, a slash included. Every form posts to
the server; with htmx the answer is the tag list alone, with the form's errors or a confirmation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from msgspec import UNSET
from scrm import (
    AccessDep,
    Kernel,
    KernelDep,
    NavLink,
    Problem,
    TagCreate,
    TagOut,
    TagUpdate,
    ValidationFailed,
    WorkspaceDep,
    WorkspaceRef,
)

from scrm_web import i18n
from scrm_web.auth import console_of
from scrm_web.errors import is_htmx
from scrm_web.forms import decode, field_errors, values
from scrm_web.i18n import N_
from scrm_web.respond import form_status, page

READ = {"scope": "tags:read"}
WRITE = {"scope": "tags:write"}
TagName = Annotated[str, QueryParameter(min_length=1, max_length=100)]


@get("/tags", opt=READ)
async def tags(request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, access: AccessDep) -> Template:
    return await _page(request, kernel, ws, access.can("tags:write"))


@post("/tags", opt=WRITE)
async def create_tag(request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep) -> Template | Redirect:
    form = await request.form()
    try:
        tag = await kernel.tags.create(ws, decode(form, TagCreate))
    except Problem as exc:
        return await _page(request, kernel, ws, True, create=(values(form), field_errors(exc)), status=form_status(exc))
    return await _done(request, kernel, ws, i18n.gettext("Tag %(name)s created.") % {"name": tag.name})


@post("/tags/edit", opt=WRITE)
async def edit_tag(
    request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, name: TagName
) -> Template | Redirect:
    typed = values(await request.form())
    try:
        change = _change(typed)
    except ValidationFailed as exc:
        return await _page(request, kernel, ws, True, edit=(name, typed, field_errors(exc)), status=form_status(exc))
    await kernel.tags.update(ws, name, change)
    return await _done(request, kernel, ws, i18n.gettext("Tag %(name)s saved.") % {"name": name})


@post("/tags/delete", opt=WRITE)
async def delete_tag(
    request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, name: TagName
) -> Template | Redirect:
    await kernel.tags.delete(ws, name)
    return await _done(request, kernel, ws, i18n.gettext("Tag %(name)s deleted.") % {"name": name})


def _change(typed: Mapping[str, str]) -> TagUpdate:
    """The edit form's change: a field left blank clears it (``decode`` leaves blank fields out,
    which would keep them as they are)."""
    change = decode({k: typed.get(k, "") for k in ("group", "description")}, TagUpdate)
    return msgspec.structs.replace(
        change,
        group=None if change.group is UNSET else change.group,
        description="" if change.description is UNSET else change.description,
    )


async def _done(request: Request[Any, Any, Any], kernel: Kernel, ws: WorkspaceRef, message: str) -> Template | Redirect:
    """After a change: the list with a confirmation for htmx, else back to the page (POST-redirect-GET)."""
    if is_htmx(request):
        return await _page(request, kernel, ws, True, flash=message)
    return Redirect(f"{console_of(request).base}/tags", status_code=HTTP_303_SEE_OTHER)


async def _page(
    request: Request[Any, Any, Any],
    kernel: Kernel,
    ws: WorkspaceRef,
    can_write: bool,
    *,
    create: tuple[Mapping[str, str], Mapping[str, str]] = ({}, {}),
    edit: tuple[str, Mapping[str, str], Mapping[str, str]] | None = None,
    flash: str = "",
    status: int = 200,
) -> Template:
    """The tag page (the list alone for htmx), with the errors and the typed values of the form that
    failed, if any."""
    listed = await kernel.tags.list(ws)
    context = {
        "base": console_of(request).base,
        "groups": _grouped(listed),
        "can_write": can_write,
        "create_values": create[0],
        "create_errors": create[1],
        "editing": edit[0] if edit else None,
        "edit_values": edit[1] if edit else {},
        "edit_errors": edit[2] if edit else {},
        "flash": flash,
    }
    return page(request, "tags", context, status)


def _grouped(listed: list[TagOut]) -> list[tuple[str | None, list[TagOut]]]:
    """Tags by group name, tags without a group last (``None``); by name within each."""
    groups: dict[str | None, list[TagOut]] = {}
    for tag in listed:
        groups.setdefault(tag.group, []).append(tag)
    return sorted(groups.items(), key=lambda item: (item[0] is None, item[0] or ""))


routes = [tags, create_tag, edit_tag, delete_tag]
nav = [NavLink(N_("Tags"), "/tags", "tags:read")]
