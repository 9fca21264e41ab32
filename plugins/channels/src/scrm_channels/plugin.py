"""The channels plugin's hook implementations (entry point ``scrm: channels``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import scrm
from piccolo.conf.apps import AppConfig

from scrm_channels import api, console, jobs, members, notify, rules
from scrm_channels.service import ChannelsService
from scrm_channels.tables import TABLES


@scrm.hookimpl
def scrm_manifest() -> scrm.Manifest:
    return scrm.Manifest(
        name="channels",
        version="0.1.0",
        description="Channels: email, SMS, WeCom and webhooks, sent only through the consent door",
        core=">=0.1,<1",
        scopes=["channels:read", "channels:write", "channels:admin"],
    )


@scrm.hookimpl
def scrm_tables() -> AppConfig:
    return AppConfig(
        app_name="channels",
        migrations_folder_path=str(Path(__file__).parent / "migrations"),
        table_classes=TABLES,
        migration_dependencies=["scrm.piccolo_app"],  # moving refusals into the core's counters needs them
    )


@scrm.hookimpl
def scrm_routes() -> list[Any]:
    return list(api.ROUTES)


@scrm.hookimpl
def scrm_jobs() -> list[scrm.Job | scrm.Cron]:
    return list(jobs.JOBS)


@scrm.hookimpl
def scrm_service(kernel: scrm.Kernel) -> ChannelsService:
    return ChannelsService(kernel)


@scrm.hookimpl
async def scrm_can_contact(
    workspace: scrm.WorkspaceRef, member_id: int, purpose: str, kernel: scrm.Kernel
) -> str | None:
    veto = await rules.veto(kernel, workspace, member_id, purpose)
    return None if veto is None else veto.reason


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


@scrm.hookimpl
async def scrm_event_batch_recorded(
    workspace: scrm.WorkspaceRef, events: list[scrm.EventOut], kernel: scrm.Kernel
) -> None:
    await notify.on_events(kernel, workspace, events)
