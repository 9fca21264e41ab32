"""The webhooks plugin's hook implementations (entry point ``scrm: webhooks``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import scrm
from piccolo.conf.apps import AppConfig

from scrm_webhooks import api, console, deliveries, subscriptions
from scrm_webhooks.settings import WebhooksSettings
from scrm_webhooks.tables import TABLES


@scrm.hookimpl
def scrm_manifest() -> scrm.Manifest:
    return scrm.Manifest(
        name="webhooks",
        version="0.1.0",
        description="Webhooks: signed, retried deliveries of events to external apps",
        core=">=0.1,<1",
        scopes=["webhooks:read", "webhooks:write"],
    )


@scrm.hookimpl
def scrm_tables() -> AppConfig:
    return AppConfig(
        app_name="webhooks",
        migrations_folder_path=str(Path(__file__).parent / "migrations"),
        table_classes=TABLES,
        migration_dependencies=[],
    )


@scrm.hookimpl
def scrm_routes() -> list[Any]:
    return list(api.ROUTES)


@scrm.hookimpl
def scrm_settings_schema() -> type[WebhooksSettings]:
    return WebhooksSettings


@scrm.hookimpl
def scrm_jobs() -> list[scrm.Job | scrm.Cron]:
    return [
        scrm.Job("webhooks.deliver", deliveries.deliver, timeout_s=deliveries.TIMEOUT_S + 5),
        scrm.Cron("webhooks.sweep", deliveries.sweep, second={0, 10, 20, 30, 40, 50}),
    ]


@scrm.hookimpl
async def scrm_event_batch_recorded(
    workspace: scrm.WorkspaceRef, events: list[scrm.EventOut], kernel: scrm.Kernel
) -> None:
    await deliveries.record(kernel, workspace, events)


@scrm.hookimpl
async def scrm_workspace_deleted(workspace: scrm.WorkspaceRef, kernel: scrm.Kernel) -> None:
    await subscriptions.delete_workspace(kernel, workspace.id)


@scrm.hookimpl
def scrm_console_pages() -> scrm.ConsolePages:
    return console.console_pages()
