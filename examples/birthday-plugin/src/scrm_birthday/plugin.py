"""The birthday plugin's hook implementations (entry point ``scrm: birthday``), grown from
``scrm plugin new birthday``.

On a member's birthday (attribute ``birthday``: ``MM-DD``), with the member's consent to the
workspace's purpose (setting ``purpose``, default ``marketing.birthday``), the plugin awards points
(setting ``points``, default 100, through the points plugin when it is enabled) and records a
``birthday.greeted`` event — once a year. An hourly cron job greets each workspace's members when their
day starts there; a member created or changed on their birthday is greeted when that event is delivered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import scrm
from piccolo.conf.apps import AppConfig

from scrm_birthday import console, greet, routes
from scrm_birthday.tables import Greeting

HERE = Path(__file__).parent


@scrm.hookimpl
def scrm_manifest() -> scrm.Manifest:
    return scrm.Manifest(
        name="birthday",
        version="0.1.0",
        description="Birthday greetings: points and a birthday.greeted event on a member's birthday, with consent",
        core=">=0.1,<1",
        scopes=["birthday:read", "birthday:write"],
    )


@scrm.hookimpl
def scrm_tables() -> AppConfig:
    return AppConfig(
        app_name="birthday",
        migrations_folder_path=str(HERE / "migrations"),
        table_classes=[Greeting],
        migration_dependencies=[],
    )


@scrm.hookimpl
def scrm_routes() -> list[Any]:
    return [routes.GreetingController]


@scrm.hookimpl
def scrm_jobs() -> list[scrm.Job | scrm.Cron]:
    return [scrm.Cron("birthday.greet", greet.greet_everywhere, minute={5})]


@scrm.hookimpl
def scrm_console_pages() -> scrm.ConsolePages:
    return scrm.ConsolePages(
        routes=[console.greetings_page],
        nav=[scrm.NavLink(title="Birthday greetings", path="/greetings", scope="birthday:read")],
        templates=HERE / "templates",
        translations=HERE / "translations",
    )


@scrm.hookimpl
async def scrm_member_panels(
    workspace: scrm.WorkspaceRef, member: dict[str, Any], access: scrm.Access, kernel: scrm.Kernel
) -> list[scrm.MemberPanel]:
    return await console.member_panels(kernel, workspace, member, access)


@scrm.hookimpl
async def scrm_event_recorded(workspace: scrm.WorkspaceRef, event: scrm.EventOut, kernel: scrm.Kernel) -> None:
    """A member created or changed on their birthday is greeted now, not at the next hourly run."""
    if event.type not in ("member.created", "member.updated") or event.member_id is None:
        return
    settings = await greet.settings_of(kernel, workspace)
    if settings is None:
        return
    member = await kernel.members.get(workspace, event.member_id)
    time_zone = (await kernel.workspaces.get(workspace.id)).time_zone
    await greet.greet(kernel, workspace, member, settings, greet.today_in(time_zone))


@scrm.hookimpl
async def scrm_erase_member(workspace: scrm.WorkspaceRef, member_id: int, kernel: scrm.Kernel) -> None:
    """A data-subject erasure: forget the member's greetings."""
    await kernel.sql.run(
        "DELETE FROM birthday_greeting WHERE workspace = {ws} AND member_id = {member}",
        ws=workspace.id,
        member=member_id,
    )


@scrm.hookimpl
async def scrm_workspace_deleted(workspace: scrm.WorkspaceRef, kernel: scrm.Kernel) -> None:
    await kernel.sql.run("DELETE FROM birthday_greeting WHERE workspace = {ws}", ws=workspace.id)
