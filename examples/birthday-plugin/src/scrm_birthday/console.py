"""The plugin's console page (the latest greetings) and member panel (a member's greetings)."""

from __future__ import annotations

from typing import Any

import scrm
from litestar import get
from litestar.response import Template

READ = {"scope": "birthday:read"}
RECENT = 50


@get("/greetings", opt=READ)
async def greetings_page(kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, access: scrm.AccessDep) -> Template:
    """The workspace's latest birthday greetings."""
    rows = await kernel.sql.run(
        "SELECT member_id, year, points, greeted_at FROM birthday_greeting WHERE workspace = {ws} "
        "ORDER BY id DESC LIMIT {limit}",
        ws=ws.id,
        limit=RECENT,
    )
    return Template("birthday/greetings.html", context={"rows": rows})


async def member_panels(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member: dict[str, Any], access: scrm.Access
) -> list[scrm.MemberPanel]:
    """The member's greetings, by year, for roles that may read them."""
    if not access.can("birthday:read"):
        return []
    rows = await kernel.sql.run(
        "SELECT year, points FROM birthday_greeting WHERE workspace = {ws} AND member_id = {member} ORDER BY year",
        ws=ws.id,
        member=member["id"],
    )
    return [scrm.MemberPanel(title="Birthday greetings", template="birthday/panel.html", context={"rows": rows})]
