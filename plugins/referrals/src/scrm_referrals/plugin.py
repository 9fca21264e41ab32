"""The referrals plugin's hook implementations (entry point ``scrm: referrals``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import scrm
from piccolo.conf.apps import AppConfig

from scrm_referrals import api, console, conversion, demo, members
from scrm_referrals.service import ReferralsService
from scrm_referrals.tables import TABLES


@scrm.hookimpl
def scrm_manifest() -> scrm.Manifest:
    return scrm.Manifest(
        name="referrals",
        version="0.1.0",
        description="Referrals: invite codes, invite chains, rewards, fraud checks and the viral coefficient K",
        core=">=0.1,<1",
        scopes=["referrals:read", "referrals:write", "referrals:admin"],
    )


@scrm.hookimpl
def scrm_tables() -> AppConfig:
    return AppConfig(
        app_name="referrals",
        migrations_folder_path=str(Path(__file__).parent / "migrations"),
        table_classes=TABLES,
        migration_dependencies=[],
    )


@scrm.hookimpl
def scrm_routes() -> list[Any]:
    return list(api.ROUTES)


@scrm.hookimpl
def scrm_service(kernel: scrm.Kernel) -> ReferralsService:
    return ReferralsService(kernel)


@scrm.hookimpl
async def scrm_event_batch_recorded(
    workspace: scrm.WorkspaceRef, events: list[scrm.EventOut], kernel: scrm.Kernel
) -> None:
    """Convert referrals from delivered events, in the delivery's transaction (see
    :mod:`scrm_referrals.conversion`)."""
    await conversion.on_events(kernel, workspace, events)


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
