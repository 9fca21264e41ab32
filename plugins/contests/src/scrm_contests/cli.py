"""``scrm contests rank FILE``: recompute a contest's ranking from its export and check it matches
(also ``python -m scrm_contests rank FILE``). Needs no server and no database: only the file
``GET /api/v1/contests/contests/{id}/export`` returns."""

from __future__ import annotations

import sys
from typing import BinaryIO

import click
import msgspec

from scrm_contests.results import Export, recompute


@click.group()
def contests() -> None:
    """UGC contests: check a published ranking."""


@contests.command()
@click.argument("file", type=click.File("rb"))
def rank(file: BinaryIO) -> None:
    """Recompute the ranking in FILE (an export) from its data; exit 1 if it differs."""
    try:
        bundle = msgspec.json.decode(file.read(), type=Export)
    except msgspec.DecodeError as exc:
        raise click.ClickException(f"not a contest export: {exc}") from exc
    again = recompute(bundle)
    for r in again:
        click.echo(
            f"{r.rank:>4}  #{r.submission_id:<8} final {r.final:.6f}  judges {r.judge_score:.6f}  votes {r.votes}  {r.title}"
        )
    if again != bundle.ranking:
        click.echo("MISMATCH: the export's ranking differs from the one its data gives", err=True)
        sys.exit(1)
    click.echo(f"OK: {len(again)} entries ranked as published ({bundle.tie_rule})")
