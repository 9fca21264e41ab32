"""The analytics plugin's hook implementations (entry point ``scrm: analytics``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import scrm
from piccolo.conf.apps import AppConfig

from scrm_analytics import api, cli, console, rollups
from scrm_analytics.tables import TABLES


@scrm.hookimpl
def scrm_manifest() -> scrm.Manifest:
    return scrm.Manifest(
        name="analytics",
        version="0.1.0",
        description="Analytics: daily rollups, the community measures and a dashboard",
        core=">=0.1,<1",
        scopes=["analytics:read", "analytics:write"],
    )


@scrm.hookimpl
def scrm_tables() -> AppConfig:
    return AppConfig(
        app_name="analytics",
        migrations_folder_path=str(Path(__file__).parent / "migrations"),
        table_classes=TABLES,
        migration_dependencies=[],
    )


@scrm.hookimpl
def scrm_routes() -> list[Any]:
    return list(api.ROUTES)


@scrm.hookimpl
def scrm_jobs() -> list[scrm.Job | scrm.Cron]:
    return [
        scrm.Job("analytics.rebuild", rollups.job),
        scrm.Cron("analytics.prune", rollups.prune, hour=4, minute=55),
    ]


@scrm.hookimpl
async def scrm_workspace_enabled(workspace: scrm.WorkspaceRef, kernel: scrm.Kernel) -> None:
    """The history before the plugin was switched on: rebuilt in the background."""
    await kernel.jobs.enqueue("analytics.rebuild", workspace_id=workspace.id)


@scrm.hookimpl
def scrm_cli() -> click.Command:
    return cli.analytics


@scrm.hookimpl
async def scrm_event_batch_recorded(
    workspace: scrm.WorkspaceRef, events: list[scrm.EventOut], kernel: scrm.Kernel
) -> None:
    await rollups.apply(kernel, workspace, events)


@scrm.hookimpl
async def scrm_workspace_deleted(workspace: scrm.WorkspaceRef, kernel: scrm.Kernel) -> None:
    for table in ("daily", "active", "cohort", "member", "applied", "config", "cost"):
        await kernel.sql.fetch(f"DELETE FROM analytics_{table} WHERE workspace = {{}}", workspace.id)


@scrm.hookimpl
async def scrm_erase_member(workspace: scrm.WorkspaceRef, member_id: int, kernel: scrm.Kernel) -> None:
    for table in ("active", "member"):  # the rollups' counts hold no one's identity; these rows do
        await kernel.sql.fetch(
            f"DELETE FROM analytics_{table} WHERE workspace = {{}} AND member_id = {{}}", workspace.id, member_id
        )


@scrm.hookimpl
def scrm_console_pages() -> scrm.ConsolePages:
    return console.console_pages()
