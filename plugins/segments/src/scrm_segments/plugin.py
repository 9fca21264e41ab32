"""The segments plugin's hook implementations (entry point ``scrm: segments``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import scrm
from piccolo.conf.apps import AppConfig

from scrm_segments import api, cli, clusters, console, lifecycle, profiles, rebuild, store, watch
from scrm_segments.service import SegmentsService
from scrm_segments.tables import TABLES


@scrm.hookimpl
def scrm_manifest() -> scrm.Manifest:
    return scrm.Manifest(
        name="segments",
        version="0.1.0",
        description="Segments: saved segments, lifecycle stages, RFM and behavioural clusters",
        core=">=0.1,<1",
        scopes=["segments:read", "segments:write"],
    )


@scrm.hookimpl
def scrm_tables() -> AppConfig:
    return AppConfig(
        app_name="segments",
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
        scrm.Job("segments.rebuild", rebuild.job),
        scrm.Cron("segments.lifecycle", lifecycle.run, minute=17),
        scrm.Cron("segments.clusters", clusters.run, hour=3, minute=33),
        scrm.Cron("segments.prune", profiles.prune, hour=4, minute=44),
    ]


@scrm.hookimpl
def scrm_passive_event_types() -> list[str]:
    """Stage changes and segment entries are facts about a member, not something they did."""
    return list(profiles.NOT_ENGAGEMENT_OWN)


@scrm.hookimpl
def scrm_service(kernel: scrm.Kernel) -> SegmentsService:
    return SegmentsService(kernel)


@scrm.hookimpl
def scrm_cli() -> click.Command:
    return cli.segments


@scrm.hookimpl
async def scrm_event_batch_recorded(
    workspace: scrm.WorkspaceRef, events: list[scrm.EventOut], kernel: scrm.Kernel
) -> None:
    await profiles.apply(kernel, workspace, events)
    await watch.on_events(kernel, workspace, events)


@scrm.hookimpl
async def scrm_member_segment(
    workspace: scrm.WorkspaceRef, segment: int, kernel: scrm.Kernel
) -> scrm.MemberCondition | None:
    return await store.saved_condition(kernel, workspace, segment)


@scrm.hookimpl
async def scrm_workspace_enabled(workspace: scrm.WorkspaceRef, kernel: scrm.Kernel) -> None:
    await kernel.jobs.enqueue("segments.rebuild", workspace_id=workspace.id)


@scrm.hookimpl
async def scrm_export_member(
    workspace: scrm.WorkspaceRef, member_id: int, kernel: scrm.Kernel
) -> dict[str, Any] | None:
    return await store.export_member(kernel, workspace, member_id)


@scrm.hookimpl
async def scrm_erase_member(workspace: scrm.WorkspaceRef, member_id: int, kernel: scrm.Kernel) -> None:
    await store.erase_member(kernel, workspace, member_id)


@scrm.hookimpl
async def scrm_workspace_deleted(workspace: scrm.WorkspaceRef, kernel: scrm.Kernel) -> None:
    await store.delete_workspace(kernel, workspace.id)


@scrm.hookimpl
def scrm_console_pages() -> scrm.ConsolePages:
    return console.console_pages()
