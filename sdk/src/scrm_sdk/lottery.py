"""Checks a lottery draw from its published export, with nothing of the server: the same check as
``scrm lottery verify``, written again from the algorithm's description (docs/plugins/lottery.md), so
a draw can be audited by code that shares nothing with the code that made it.

    export = scrm.lottery.export_entries(campaign_id)   # bytes: the published facts
    result = scrm_sdk.lottery.verify(export)            # raises VerificationError on any mismatch

The export's ``commitment`` must be the SHA-256 of the revealed ``seed`` (followed by the public
source's text when the campaign named one), its entries must hash to ``entries_hash``, and re-running
the draw — an HMAC-SHA256 counter stream, rejection sampling, tickets-weighted without replacement —
must give the published ``winners`` in rank order.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import msgspec

ALGORITHM_PREFIX = "scrm-lottery-v1"
_SPACE = 2**256


class VerificationError(ValueError):
    """The export does not check out (or is not a lottery export); the message says which fact."""


@dataclass(frozen=True)
class Winner:
    rank: int  # 0-based order of the draw
    prize: int  # 0-based index of the prize, in prize order
    member_id: int
    tickets: int


@dataclass(frozen=True)
class Verified:
    """A draw that checked out: its campaign, entry count and winners."""

    campaign_id: int
    name: str
    entry_count: int
    winners: list[Winner]


class _PublicSource(msgspec.Struct):
    description: str
    drand_round: int | None = None

    def text(self) -> str:
        return self.description if self.drand_round is None else f"drand round {self.drand_round}: {self.description}"


class _Export(msgspec.Struct):
    campaign_id: int
    name: str
    algorithm: str
    commitment: str
    seed: str
    entries_hash: str
    entry_count: int
    quantities: list[int]
    member_ids: list[int]
    tickets: list[int]
    winners: list[int]
    public_source: _PublicSource | None = None
    public_value: str | None = None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _entries_hash(member_ids: list[int], tickets: list[int]) -> str:
    packed = b"".join(struct.pack(">qq", member, count) for member, count in zip(member_ids, tickets, strict=True))
    return _sha256(packed)


class _Numbers:
    """Uniform numbers below a bound: HMAC-SHA256(seed, counter as 8 big-endian bytes), counter from
    0, values at or above the largest multiple of the bound skipped."""

    def __init__(self, seed: bytes) -> None:
        self.seed = seed
        self.counter = 0

    def below(self, bound: int) -> int:
        ceiling = _SPACE - _SPACE % bound
        while True:
            digest = hmac.digest(self.seed, self.counter.to_bytes(8, "big"), "sha256")
            self.counter += 1
            value = int.from_bytes(digest, "big")
            if value < ceiling:
                return value % bound


def _pick(pool: list[int], tickets: list[int], r: int) -> int:
    """The pool entry whose running ticket total first exceeds ``r``."""
    total = 0
    for index in pool:
        total += tickets[index]
        if r < total:
            return index
    raise AssertionError("r is below the pool's weight")  # pragma: no cover


def draw(seed: bytes, member_ids: list[int], tickets: list[int], quantities: list[int]) -> list[Winner]:
    """Re-run the draw: winners one by one, each with probability proportional to its tickets among a
    pool of entries; one already drawn is skipped; once the winners drawn from the pool hold more than
    half its tickets, the pool is rebuilt from the entries that have not won."""
    if any(b <= a for a, b in pairwise(member_ids)):
        raise VerificationError("entries must be sorted by member_id, each member once")
    if len(tickets) != len(member_ids) or any(t < 1 for t in tickets):
        raise VerificationError("every entry holds at least one ticket")
    prizes = [prize for prize, quantity in enumerate(quantities) for _ in range(quantity)]
    wanted = min(len(prizes), len(member_ids))
    numbers = _Numbers(seed)
    chosen: list[int] = []
    while len(chosen) < wanted:
        pool = [i for i in range(len(member_ids)) if i not in chosen]
        pool_weight = sum(tickets[i] for i in pool)
        drawn_weight = 0
        while len(chosen) < wanted and 2 * drawn_weight <= pool_weight:
            index = _pick(pool, tickets, numbers.below(pool_weight))
            if index in chosen:
                continue
            chosen.append(index)
            drawn_weight += tickets[index]
    return [Winner(rank, prizes[rank], member_ids[i], tickets[i]) for rank, i in enumerate(chosen)]


def _decode(export: bytes | str | dict[str, Any]) -> _Export:
    try:
        if isinstance(export, dict):
            return msgspec.convert(export, _Export)
        return msgspec.json.decode(export, type=_Export)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise VerificationError(f"not a lottery export: {exc}") from None


def verify(export: bytes | str | dict[str, Any], *, public_value: str | None = None) -> Verified:
    """Check a draw's export (the bytes ``client.lottery.export_entries(id)`` returns, or the parsed
    JSON). ``public_value`` is the draw's public source value as you obtained it yourself (for drand:
    the round's randomness); without it, the value in the export is used. Raises
    :class:`VerificationError` naming the first fact that does not hold."""
    facts = _decode(export)
    if not facts.algorithm.startswith(ALGORITHM_PREFIX):
        raise VerificationError(f"unknown draw algorithm {facts.algorithm!r}")
    try:
        seed = bytes.fromhex(facts.seed)
    except ValueError:
        raise VerificationError("the seed is not hexadecimal") from None
    source = facts.public_source.text() if facts.public_source else None
    value = facts.public_value
    if public_value is not None:
        if facts.public_source is not None and facts.public_source.drand_round is not None:
            public_value = public_value.lower()
        if value is not None and public_value != value:
            raise VerificationError(f"the draw used the public value {value!r}, not {public_value!r}")
        value = public_value
    if (source is None) != (value is None):
        raise VerificationError("a public source and its value go together: one is missing")
    committed = seed if source is None else seed + source.encode()
    if _sha256(committed) != facts.commitment.lower():
        raise VerificationError("the seed does not match the commitment")
    if len(facts.member_ids) != facts.entry_count:
        raise VerificationError("the entry count does not match the entry list")
    if _entries_hash(facts.member_ids, facts.tickets) != facts.entries_hash.lower():
        raise VerificationError("the entry list does not match its published hash")
    draw_seed = seed if value is None else hmac.digest(seed, value.encode(), "sha256")
    winners = draw(draw_seed, facts.member_ids, facts.tickets, facts.quantities)
    if [w.member_id for w in winners] != facts.winners:
        raise VerificationError("the published winners are not the ones this draw gives")
    return Verified(facts.campaign_id, facts.name, facts.entry_count, winners)
