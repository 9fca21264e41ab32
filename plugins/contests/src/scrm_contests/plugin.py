"""The contests plugin's hook implementations (entry point ``scrm: contests``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import scrm
from piccolo.conf.apps import AppConfig

from scrm_contests import api, cli, console, demo, members
from scrm_contests.tables import TABLES


@scrm.hookimpl
def scrm_manifest() -> scrm.Manifest:
    return scrm.Manifest(
        name="contests",
        version="0.1.0",
        description="UGC contests: submissions with media, moderation, public voting, judging and awards",
        core=">=0.1,<1",
        scopes=["contests:read", "contests:write", "contests:judge", "contests:admin"],
    )


@scrm.hookimpl
def scrm_tables() -> AppConfig:
    return AppConfig(
        app_name="contests",
        migrations_folder_path=str(Path(__file__).parent / "migrations"),
        table_classes=TABLES,
        migration_dependencies=[],
    )


@scrm.hookimpl
def scrm_routes() -> list[Any]:
    return list(api.ROUTES)


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
def scrm_cli() -> click.Command:
    return cli.contests


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
