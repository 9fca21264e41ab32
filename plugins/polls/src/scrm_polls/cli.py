"""``scrm polls results ID --workspace W [--csv]``: a poll's results on the terminal, or as CSV on
standard output (the same file as ``GET /api/v1/polls/{id}/results/csv``)."""

from __future__ import annotations

import click
import scrm

from scrm_polls import results
from scrm_polls.schemas import Results


@click.group()
def polls() -> None:
    """Polls: read a poll's results."""


@polls.command("results")
@click.argument("poll_id", type=click.IntRange(1, scrm.MAX_ID))
@click.option("--workspace", required=True, help="The workspace's slug")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on standard output instead of a summary")
def show_results(poll_id: int, workspace: str, as_csv: bool) -> None:
    """The results of poll POLL_ID: counts and percentages per option, ratings' means, NPS."""

    async def run(kernel: scrm.Kernel) -> Results:
        ws = await kernel.workspaces.ref(workspace)
        return await results.results(kernel, ws, poll_id)

    found = scrm.with_kernel(run)
    if as_csv:
        click.echo(results.results_csv(found), nl=False)
        return
    click.echo(f"poll {found.poll_id} ({found.state}): {found.ballots} ballot(s)")
    for q in found.questions:
        click.echo(f"{q.position + 1}. {q.title} [{q.kind}] — {q.answered} answered")
        for o in q.options:
            click.echo(f"   {o.label}: {o.count} ({o.percent:g}%)")
        if q.nps is not None:
            click.echo(
                f"   NPS {q.nps.score:g} (promoters {q.nps.promoters_percent:g}%, passives "
                f"{q.nps.passives_percent:g}%, detractors {q.nps.detractors_percent:g}%)"
            )
        if q.mean is not None:
            click.echo(f"   mean {q.mean:g}")
        if q.kind == "text":
            click.echo(f"   {q.texts} text(s) shown")
