"""A small plugin installed as a real distribution (entry point ``scrm: testplugin``).

It proves the plugin contract end to end: a manifest with its own scopes, a piccolo app with a
table and migration, routes under ``/api/v1/testplugin``, a domain hook (``scrm_member_created``)
that writes to its table — in workspaces where it is enabled only — an idempotent handler of
delivered events (``scrm_event_batch_recorded``) that counts each event once however often it
arrives, and a console page and member panel with their own templates and Chinese catalog.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import scrm
from litestar import get
from litestar.response import Template
from piccolo.conf.apps import AppConfig

from scrm_testplugin.tables import Seen, Tally, Welcome

#: Event types whose delivery fails while listed here (tests of retries set and clear it).
FAIL_TYPES: set[str] = set()


@scrm.hookimpl
def scrm_manifest() -> scrm.Manifest:
    return scrm.Manifest(
        name="testplugin",
        version="0.1.0",
        description="Welcomes new members (used by scrm's own tests)",
        core=">=0.1,<1",
        scopes=["testplugin:read"],
    )


@scrm.hookimpl
def scrm_tables() -> AppConfig:
    return AppConfig(
        app_name="testplugin",
        migrations_folder_path=str(Path(__file__).parent / "migrations"),
        table_classes=[Welcome, Seen, Tally],
        migration_dependencies=[],
    )


async def welcomes(workspace_id: int) -> list[dict[str, Any]]:
    return await (
        Welcome.select(Welcome.member_id, Welcome.message).where(Welcome.workspace == workspace_id).order_by(Welcome.id)
    )


@get("/welcomes", opt={"scope": "testplugin:read"}, operation_id="testpluginListWelcomes", summary="List welcome notes")
async def list_welcomes(ws: scrm.WorkspaceDep) -> list[dict[str, Any]]:
    """The test plugin's welcome notes of this workspace."""
    return await welcomes(ws.id)


@scrm.hookimpl
def scrm_routes() -> list[Any]:
    return [list_welcomes]


@get("/welcomes", opt={"scope": "testplugin:read"})
async def welcomes_page(ws: scrm.WorkspaceDep, access: scrm.AccessDep) -> Template:
    """A console page: the workspace's welcome notes."""
    return Template("testplugin/welcomes.html", context={"notes": await welcomes(ws.id), "role": access.role})


@scrm.hookimpl
def scrm_console_pages() -> scrm.ConsolePages:
    here = Path(__file__).parent
    return scrm.ConsolePages(
        routes=[welcomes_page],
        nav=[scrm.NavLink(title="Welcomes", path="/welcomes", scope="testplugin:read")],
        templates=here / "templates",
        translations=here / "translations",
    )


@scrm.hookimpl
async def scrm_member_panels(
    workspace: scrm.WorkspaceRef, member: dict[str, Any], access: scrm.Access
) -> list[scrm.MemberPanel]:
    if not access.can("testplugin:read"):
        return []
    rows = await Welcome.select(Welcome.message).where(
        (Welcome.workspace == workspace.id) & (Welcome.member_id == member["id"])
    )
    return [scrm.MemberPanel(title="Welcome note", template="testplugin/panel.html", context={"rows": rows})]


@scrm.hookimpl
async def scrm_workspace_deleted(workspace: scrm.WorkspaceRef) -> None:
    await Welcome.delete().where(Welcome.workspace == workspace.id)
    await Seen.delete().where(Seen.workspace == workspace.id)
    await Tally.delete().where(Tally.workspace == workspace.id)


@scrm.hookimpl
async def scrm_member_created(workspace: scrm.WorkspaceRef, member: dict[str, Any]) -> None:
    await Welcome.insert(
        Welcome(
            workspace=workspace.id,
            member_id=member["id"],
            message=f"Welcome, {member['display_name'] or 'friend'}!",
            created_at=datetime.now(UTC),
        )
    )


@scrm.hookimpl
async def scrm_event_batch_recorded(workspace: scrm.WorkspaceRef, events: list[scrm.EventOut]) -> None:
    """Count each event once, a batch in a few queries: the ids are recorded in the same transaction
    as the count (the delivery's), so a batch delivered again counts nothing twice."""
    refused = [e.type for e in events if e.type in FAIL_TYPES]
    if refused:
        raise RuntimeError(f"testplugin refuses {refused[0]} events")
    new = await (
        Seen.insert(*(Seen(workspace=workspace.id, event_id=e.id, type=e.type) for e in events))
        .on_conflict(action="DO NOTHING")
        .returning(Seen.event_id)
    )
    fresh = {row["event_id"] for row in new}
    again = [e.id for e in events if e.id not in fresh]
    if again:
        await Seen.update({Seen.redeliveries: Seen.redeliveries + 1}).where(Seen.event_id.is_in(again))
    if fresh:
        await Tally.insert(Tally(workspace=workspace.id, events=0)).on_conflict(action="DO NOTHING")
        await Tally.update({Tally.events: Tally.events + len(fresh)}).where(Tally.workspace == workspace.id)


async def welcome_later(ctx: scrm.JobContext, workspace_id: int, member_id: int) -> None:
    """A job: the welcome note, written in the background (tests queue it)."""
    await Welcome.insert(
        Welcome(
            workspace=workspace_id,
            member_id=member_id,
            message=f"Welcome (job {ctx.job_id})",
            created_at=datetime.now(UTC),
        )
    )


@scrm.hookimpl
def scrm_jobs() -> list[scrm.Job | scrm.Cron]:
    return [scrm.Job("testplugin.welcome_later", welcome_later)]


@scrm.hookimpl
def scrm_cli() -> click.Command:
    """``scrm testplugin welcomes --workspace W``: a plugin's command using the kernel."""

    @click.group()
    def testplugin() -> None:
        """The test plugin's commands."""

    @testplugin.command("welcomes")
    @click.option("--workspace", required=True, help="Workspace slug")
    def count_welcomes(workspace: str) -> None:
        """Print how many welcome notes the workspace has."""

        async def run(kernel: scrm.Kernel) -> int:
            ws = await kernel.workspaces.ref(workspace)
            return len(await welcomes(ws.id))

        click.echo(f"{scrm.with_kernel(run)} welcome note(s)")

    return testplugin
