"""The journeys plugin's hook implementations (entry point ``scrm: journeys``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import scrm
from piccolo.conf.apps import AppConfig

from scrm_journeys import api, console, jobs, members, runner
from scrm_journeys.tables import TABLES


@scrm.hookimpl
def scrm_manifest() -> scrm.Manifest:
    return scrm.Manifest(
        name="journeys",
        version="0.1.0",
        description="Journeys: event → wait → condition → action automation",
        core=">=0.1,<1",
        scopes=["journeys:read", "journeys:write"],
    )


@scrm.hookimpl
def scrm_tables() -> AppConfig:
    return AppConfig(
        app_name="journeys",
        migrations_folder_path=str(Path(__file__).parent / "migrations"),
        table_classes=TABLES,
        migration_dependencies=[],
    )


@scrm.hookimpl
def scrm_routes() -> list[Any]:
    return list(api.ROUTES)


@scrm.hookimpl
def scrm_jobs() -> list[scrm.Job | scrm.Cron]:
    return list(jobs.JOBS)


@scrm.hookimpl
async def scrm_event_batch_recorded(
    workspace: scrm.WorkspaceRef, events: list[scrm.EventOut], kernel: scrm.Kernel
) -> None:
    await runner.on_events(kernel, workspace, events)


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
def scrm_console_pages() -> scrm.ConsolePages:
    return console.console_pages()
