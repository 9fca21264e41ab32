"""``scrm lottery verify FILE``: re-run a published draw from its export and check every published
fact (also ``python -m scrm_lottery verify FILE``). Needs no server and no database: only the file
``GET /api/v1/lottery/campaigns/{id}/entries/export`` returns."""

from __future__ import annotations

import sys
import time
from typing import BinaryIO

import click
import msgspec

from scrm_lottery import fairness
from scrm_lottery.draws import Bundle


@click.group()
def lottery() -> None:
    """Lotteries: check a verifiable draw."""


@lottery.command()
@click.argument("file", type=click.File("rb"))
def verify(file: BinaryIO) -> None:
    """Check a draw's export FILE ('-' reads standard input): the seed matches the commitment, the
    entry list its hash, and re-running the draw gives the published winners."""
    try:
        bundle = msgspec.json.decode(file.read(), type=Bundle)
        seed = bytes.fromhex(bundle.seed)
    except (msgspec.DecodeError, ValueError) as exc:
        raise click.ClickException(f"not a lottery export: {exc}") from None
    began = time.perf_counter()
    try:
        drawn = fairness.verify(
            bundle.commitment,
            seed,
            bundle.member_ids,
            bundle.tickets,
            bundle.quantities,
            expected_hash=bundle.entries_hash,
            expected_winners=bundle.winners,
        )
    except fairness.VerificationError as exc:
        click.echo(f"FAILED: {exc}", err=True)
        sys.exit(1)
    elapsed = time.perf_counter() - began
    click.echo(f"campaign {bundle.campaign_id} ({bundle.name}): verified in {elapsed:.3f} s")
    click.echo(f"  commitment   {bundle.commitment} = sha256(seed)")
    click.echo(f"  entries      {len(bundle.member_ids)}, hash {bundle.entries_hash}")
    for winner in drawn:
        click.echo(
            f"  rank {winner.rank}: member {winner.member_id} wins prize {winner.prize} ({winner.tickets} ticket(s))"
        )
