"""The polls plugin's hook implementations (entry point ``scrm: polls``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import scrm
from piccolo.conf.apps import AppConfig

from scrm_polls import api, cli, console, demo, members, schedule
from scrm_polls.service import PollsService
from scrm_polls.tables import TABLES


@scrm.hookimpl
def scrm_manifest() -> scrm.Manifest:
    return scrm.Manifest(
        name="polls",
        version="0.1.0",
        description="Polls: surveys, votes and NPS with live results",
        core=">=0.1,<1",
        scopes=["polls:read", "polls:write", "polls:admin"],
    )


@scrm.hookimpl
def scrm_tables() -> AppConfig:
    return AppConfig(
        app_name="polls",
        migrations_folder_path=str(Path(__file__).parent / "migrations"),
        table_classes=TABLES,
        migration_dependencies=[],
    )


@scrm.hookimpl
def scrm_routes() -> list[Any]:
    return list(api.ROUTES)


@scrm.hookimpl
def scrm_jobs() -> list[scrm.Job | scrm.Cron]:
    return [scrm.Cron("polls.schedule", schedule.run, second=5)]


@scrm.hookimpl
async def scrm_export_member(
    workspace: scrm.WorkspaceRef, member_id: int, kernel: scrm.Kernel
) -> dict[str, Any] | None:
    return await members.export(kernel, workspace, member_id)


@scrm.hookimpl
async def scrm_erase_member(workspace: scrm.WorkspaceRef, member_id: int, kernel: scrm.Kernel) -> None:
    await members.erase(kernel, workspace, member_id)


@scrm.hookimpl
async def scrm_workspace_deleted(workspace: scrm.WorkspaceRef, kernel: scrm.Kernel) -> None:
    await members.delete_workspace(kernel, workspace.id)


@scrm.hookimpl
def scrm_service(kernel: scrm.Kernel) -> PollsService:
    return PollsService(kernel)


@scrm.hookimpl
def scrm_cli() -> click.Command:
    return cli.polls


@scrm.hookimpl
async def scrm_demo(workspace: scrm.WorkspaceRef, member_ids: list[int], kernel: scrm.Kernel) -> None:
    await demo.seed(kernel, workspace, member_ids)


@scrm.hookimpl
def scrm_console_pages() -> scrm.ConsolePages:
    return console.console_pages()


@scrm.hookimpl
async def scrm_member_panels(
    member: dict[str, Any], access: scrm.Access, kernel: scrm.Kernel
) -> list[scrm.MemberPanel]:
    return await console.member_panels(member, access, kernel)
