"""``scrm segments …``: rebuild profiles from the event log, recompute clusters, count a segment."""

from __future__ import annotations

import click
import scrm

from scrm_segments import clusters, rebuild, store
from scrm_segments.schemas import ClusterOut


@click.group()
def segments() -> None:
    """Segments: profiles, clusters and counts."""


@segments.command("rebuild")
@click.option("--workspace", required=True, help="The workspace's slug")
def rebuild_command(workspace: str) -> None:
    """Build lifecycle and RFM profiles from the stored events (safe to run twice)."""

    async def run(kernel: scrm.Kernel) -> int:
        return await rebuild.rebuild(kernel, await kernel.workspaces.ref(workspace))

    click.echo(f"{scrm.with_kernel(run)} event(s) read")


@segments.command("clusters")
@click.option("--workspace", required=True, help="The workspace's slug")
@click.option("--k", type=click.IntRange(3, 5), default=clusters.DEFAULT_K, show_default=True)
def clusters_command(workspace: str, k: int) -> None:
    """Recompute the behavioural clusters now and print their profiles."""

    async def run(kernel: scrm.Kernel) -> list[ClusterOut]:
        return await clusters.recompute(kernel, await kernel.workspaces.ref(workspace), k)

    for c in scrm.with_kernel(run):
        click.echo(
            f"cluster {c.cluster}: {c.size} member(s), {c.recency_days:g} days idle, {c.orders:g} orders, "
            f"{c.monetary:g} spent, {c.engagement:g} events"
        )


@segments.command("count")
@click.argument("segment_id", type=click.IntRange(1, scrm.MAX_ID))
@click.option("--workspace", required=True, help="The workspace's slug")
def count_command(segment_id: int, workspace: str) -> None:
    """How many members saved segment SEGMENT_ID holds now."""

    async def run(kernel: scrm.Kernel) -> int:
        ws = await kernel.workspaces.ref(workspace)
        return (await store.count(kernel, ws, (await store.get(kernel, ws, segment_id)).definition)).count

    click.echo(str(scrm.with_kernel(run)))
