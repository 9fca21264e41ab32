"""``scrm lottery verify FILE [--public-value VALUE]``: re-run a published draw from its export and
check every published fact (also ``python -m scrm_lottery verify FILE``). Needs no server and no
database: only the file ``GET /api/v1/lottery/campaigns/{id}/entries/export`` returns, and for a
draw with a public randomness source the value as the verifier obtained it from the source."""

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
@click.option(
    "--public-value",
    help="The published value of the draw's public source, as you obtained it yourself "
    "(for drand: the round's randomness); without it, the value in FILE is used.",
)
def verify(file: BinaryIO, public_value: str | None) -> None:
    """Check a draw's export FILE ('-' reads standard input): the seed matches the commitment (which
    covers the public source, if any), the entry list its hash, and re-running the draw with the
    public value gives the published winners."""
    try:
        bundle = msgspec.json.decode(file.read(), type=Bundle)
        seed = bytes.fromhex(bundle.seed)
    except (msgspec.DecodeError, ValueError) as exc:
        raise click.ClickException(f"not a lottery export: {exc}") from None
    source = bundle.public_source
    value = bundle.public_value
    began = time.perf_counter()
    try:
        if public_value is not None:
            value = _given(public_value, source is not None and source.drand_round is not None)
            if bundle.public_value is not None and value != bundle.public_value:
                raise fairness.VerificationError(
                    f"the draw used the public value {bundle.public_value!r}, not this one"
                )
        drawn = fairness.verify(
            bundle.commitment,
            seed,
            bundle.member_ids,
            bundle.tickets,
            bundle.quantities,
            expected_hash=bundle.entries_hash,
            expected_winners=bundle.winners,
            source=source.text() if source else None,
            value=value,
        )
    except fairness.VerificationError as exc:
        click.echo(f"FAILED: {exc}", err=True)
        sys.exit(1)
    elapsed = time.perf_counter() - began
    click.echo(f"campaign {bundle.campaign_id} ({bundle.name}): verified in {elapsed:.3f} s")
    if source is None:
        click.echo(f"  commitment   {bundle.commitment} = sha256(seed)")
    else:
        click.echo(f"  commitment   {bundle.commitment} = sha256(seed ‖ public source)")
        click.echo(f"  public source  {source.text()}")
        click.echo(
            f"  public value   {value}" + ("" if public_value else "  (from the file: check it is the published one)")
        )
    click.echo(f"  entries      {len(bundle.member_ids)}, hash {bundle.entries_hash}")
    for winner in drawn:
        click.echo(
            f"  rank {winner.rank}: member {winner.member_id} wins prize {winner.prize} ({winner.tickets} ticket(s))"
        )


def _given(value: str, drand: bool) -> str:
    """The value given on the command line as the draw mixes it in (a malformed one fails)."""
    try:
        return fairness.public_value(value, drand)
    except ValueError as exc:
        raise fairness.VerificationError(f"--public-value: {exc}") from None
