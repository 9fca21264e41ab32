"""``scrm analytics rebuild --workspace W``: recompute the rollups from the event log."""

from __future__ import annotations

import click
import scrm

from scrm_analytics import rollups


@click.group()
def analytics() -> None:
    """Analytics: rollups."""


@analytics.command("rebuild")
@click.option("--workspace", required=True, help="The workspace's slug")
def rebuild(workspace: str) -> None:
    """Empty the workspace's rollups and apply every stored event again (history, or after a change)."""

    async def run(kernel: scrm.Kernel) -> int:
        return await rollups.rebuild(kernel, await kernel.workspaces.ref(workspace))

    click.echo(f"{scrm.with_kernel(run)} event(s) read")
