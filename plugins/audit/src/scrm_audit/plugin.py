"""The audit plugin's hook implementations (entry point ``scrm: audit``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import scrm
from piccolo.conf.apps import AppConfig

from scrm_audit import api, checks, console, policy, requests
from scrm_audit.tables import TABLES


@scrm.hookimpl
def scrm_manifest() -> scrm.Manifest:
    return scrm.Manifest(
        name="audit",
        version="0.1.0",
        description="Compliance: chain verification, data-subject requests, retention, copy review, reports",
        core=">=0.1,<1",
        scopes=["audit:write"],
    )


@scrm.hookimpl
def scrm_tables() -> AppConfig:
    return AppConfig(
        app_name="audit",
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
        scrm.Cron("audit.verify", checks.verify_everywhere, minute=17),
        scrm.Cron("audit.retention", policy.apply_everywhere, hour=3, minute=40),
    ]


@scrm.hookimpl
async def scrm_dashboard_alerts(workspace: scrm.WorkspaceRef, kernel: scrm.Kernel) -> list[str]:
    return await checks.alerts(kernel, workspace)


@scrm.hookimpl
async def scrm_export_member(
    workspace: scrm.WorkspaceRef, member_id: int, kernel: scrm.Kernel
) -> dict[str, Any] | None:
    """The requests the member made (kind, dates, status): part of what they may ask to see."""
    rows = await kernel.db.fetch(
        "SELECT id, kind, status, received_at, due_at, closed_at FROM audit_request WHERE workspace = {} "
        "AND member_id = {} ORDER BY id",
        workspace.id,
        member_id,
    )
    if not rows:
        return None
    return {
        "requests": [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(r).items()} for r in rows]
    }


@scrm.hookimpl
async def scrm_erase_member(workspace: scrm.WorkspaceRef, member_id: int, kernel: scrm.Kernel) -> None:
    """The requests stay (proof they were answered, a legal duty), their operators' notes blanked:
    an operator may have written something about the person there."""
    await kernel.db.fetch(
        "UPDATE audit_request SET note = '' WHERE workspace = {} AND member_id = {}", workspace.id, member_id
    )


@scrm.hookimpl
async def scrm_workspace_deleted(workspace: scrm.WorkspaceRef, kernel: scrm.Kernel) -> None:
    await requests.delete_workspace(kernel, workspace.id)


@scrm.hookimpl
def scrm_console_pages() -> scrm.ConsolePages:
    return console.console_pages()
