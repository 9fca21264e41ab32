"""The points plugin's hook implementations (entry point ``scrm: points``).

What it does, and how: docs/plugins/points.md. The modules: :mod:`scrm_points.ledger` (balances,
lots, transactions), :mod:`scrm_points.rules` (events → points), :mod:`scrm_points.service` (the
service routes, the console and other plugins use), :mod:`scrm_points.routes` (the API),
:mod:`scrm_points.checkins` (签到), :mod:`scrm_points.tiers` (tags and events of tier moves),
:mod:`scrm_points.recent` (settings and rules cached for a few seconds), :mod:`scrm_points.expiry`
(the cron job).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import scrm
from piccolo.conf.apps import AppConfig

from scrm_points import console, demo, expiry, subject
from scrm_points.routes import PointsController, points
from scrm_points.service import PointsService
from scrm_points.tables import TABLES


@scrm.hookimpl
def scrm_manifest() -> scrm.Manifest:
    return scrm.Manifest(
        name="points",
        version="0.1.0",
        description=console.N_("Points: rules, ledger, expiry, check-in streaks, rewards and tiers"),
        core=">=0.1,<1",
        scopes=["points:read", "points:write", "points:admin"],
    )


@scrm.hookimpl
def scrm_tables() -> AppConfig:
    return AppConfig(
        app_name="points",
        migrations_folder_path=str(Path(__file__).parent / "migrations"),
        table_classes=TABLES,
        migration_dependencies=[],
    )


@scrm.hookimpl
def scrm_routes() -> list[Any]:
    return [PointsController]


@scrm.hookimpl
def scrm_jobs() -> list[scrm.Job | scrm.Cron]:
    return [scrm.Cron("points.expire", expiry.expire, minute=7)]


@scrm.hookimpl
def scrm_service(kernel: scrm.Kernel) -> PointsService:
    return PointsService(kernel)


@scrm.hookimpl
async def scrm_event_batch_recorded(
    workspace: scrm.WorkspaceRef, events: list[scrm.EventOut], kernel: scrm.Kernel
) -> None:
    """Award points for delivered events, and move tiers, in the delivery's transaction (see
    :mod:`scrm_points.rules`)."""
    await points(kernel).apply_rules(workspace, events)


@scrm.hookimpl
async def scrm_export_member(
    workspace: scrm.WorkspaceRef, member_id: int, kernel: scrm.Kernel
) -> dict[str, Any] | None:
    return await subject.export(kernel, workspace, member_id)


@scrm.hookimpl
async def scrm_erase_member(workspace: scrm.WorkspaceRef, member_id: int, kernel: scrm.Kernel) -> None:
    await subject.erase(kernel, workspace, member_id)


@scrm.hookimpl
async def scrm_workspace_deleted(workspace: scrm.WorkspaceRef, kernel: scrm.Kernel) -> None:
    await subject.delete_workspace(kernel, workspace)


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
