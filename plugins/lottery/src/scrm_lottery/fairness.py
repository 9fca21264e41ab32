"""The verifiable draw, as pure functions: no database, no scrm — the SDK and anyone else can reuse it.

How a draw is made fair and checkable (``docs/plugins/lottery.md`` says the same for re-implementers):

1. When a campaign opens, the server draws a 32-byte ``seed`` from a CSPRNG, keeps it secret and
   publishes ``commitment = sha256(seed)`` (hex). A campaign may also name a *public source*: a value
   nobody knows yet (a drand round, a future official lottery result); then the commitment is
   ``sha256(seed ‖ UTF-8(source text))`` (:func:`source_text`), binding the source before any entry.
2. When the draw runs, the entries are frozen and sorted by ``member_id`` ascending (one entry per
   member, so the key is unique). ``entries_hash`` is the SHA-256 of the entries as consecutive pairs
   of 64-bit big-endian signed integers ``(member_id, tickets)``.
3. Winners are drawn with :func:`draw` from the draw seed and the sorted entries; the seed is
   revealed. The draw seed is the seed itself, or with a public source
   ``HMAC-SHA256(key=seed, msg=UTF-8(public value))`` (:func:`draw_seed`): the secret seed was fixed
   before the value existed and the value is public, so neither the server nor the operator alone
   decides the winners.

Anyone holding the published commitment, seed, entry list, prize quantities (and public source and
value) can check that the seed matches the commitment, the list matches its hash, and re-run
:func:`draw` to get the same winners (:func:`verify`).

The sampling (:func:`draw`): a stream of 256-bit numbers ``HMAC-SHA256(seed, counter)`` with
``counter`` a 64-bit big-endian integer from 0, one per number. A number in ``[0, bound)`` is the
next stream value ``x`` if ``x < 2**256 - (2**256 mod bound)`` (then ``x mod bound``), else that value
is skipped — rejection sampling, so no modulo bias. Winners are drawn one by one, without
replacement, each with probability proportional to its tickets among a *pool*: a ticket number
``r`` in ``[0, pool weight)`` picks the pool entry whose cumulative tickets (in sorted order) first
exceed ``r``. An entry that already won is skipped (the draw repeats with the next stream values);
once the tickets of winners in the pool exceed half of the pool's, the pool is rebuilt from the
entries that have not won (in sorted order), so repeats stay rare whatever the weights. This costs
``O(n)`` to build the pool plus ``O(log n)`` per winner; with all tickets equal to 1 the cumulative
search is the identity and is skipped.
"""

from __future__ import annotations

import hashlib
import hmac
import operator
import secrets
import sys
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, islice

SEED_BYTES = 32
_SPACE = 1 << 256


class VerificationError(ValueError):
    """The published data do not check out: a seed that is not the committed one, an entry list that
    does not match its hash, or winners that the draw does not give."""


@dataclass(frozen=True)
class Winner:
    """One winner: ``rank`` is the 0-based order of the draw; ``prize`` the 0-based index of the
    prize in prize order (the first ``quantity[0]`` ranks win prize 0, and so on)."""

    rank: int
    prize: int
    member_id: int
    tickets: int


def new_seed() -> bytes:
    """A fresh secret seed from the operating system's CSPRNG."""
    return secrets.token_bytes(SEED_BYTES)


def source_text(description: str, drand_round: int | None = None) -> str:
    """The text of a public source that the commitment covers: its description, after
    ``drand round N: `` when the source is a drand round."""
    return description if drand_round is None else f"drand round {drand_round}: {description}"


def commitment(seed: bytes, source: str | None = None) -> str:
    """What is published before the draw, in hex: the SHA-256 of the seed, or of the seed followed
    by the public source's text (:func:`source_text`, UTF-8) when the draw will mix one in."""
    return hashlib.sha256(seed if source is None else seed + source.encode()).hexdigest()


def public_value(value: str, drand: bool) -> str:
    """A public source's value as the draw mixes it in; a malformed one is a :class:`ValueError`
    saying why. A drand round's randomness is 64 hex digits (used in lowercase); any other value is
    used exactly as given, so spaces at its ends — a copy-and-paste slip that would change the
    winners — are refused."""
    if drand:
        if len(value) != 2 * SEED_BYTES or any(c not in "0123456789abcdefABCDEF" for c in value):
            raise ValueError("a drand round's randomness is 64 hexadecimal digits")
        return value.lower()
    if value != value.strip():
        raise ValueError("give the value exactly as published, without spaces at its ends")
    return value


def draw_seed(seed: bytes, value: str | None) -> bytes:
    """The seed the draw runs on: the secret seed, or ``HMAC-SHA256(key=seed, msg=UTF-8(value))``
    with a public source's value."""
    return seed if value is None else hmac.new(seed, value.encode(), hashlib.sha256).digest()


def entries_hash(member_ids: Sequence[int], tickets: Sequence[int] | None = None) -> str:
    """SHA-256 (hex) of the sorted entries as big-endian int64 pairs ``(member_id, tickets)``;
    ``tickets`` None means one ticket each."""
    pairs = array("q", bytes(16 * len(member_ids)))
    pairs[0::2] = array("q", member_ids)
    pairs[1::2] = array("q", tickets) if tickets is not None else array("q", [1]) * len(member_ids)
    if sys.byteorder == "little":
        pairs.byteswap()
    return hashlib.sha256(pairs.tobytes()).hexdigest()


class _Stream:
    """Uniform integers from HMAC-SHA256(seed, counter), counter-mode, by rejection sampling."""

    def __init__(self, seed: bytes) -> None:
        self._mac = hmac.new(seed, digestmod=hashlib.sha256)
        self.counter = 0

    def below(self, bound: int) -> int:
        limit = _SPACE - _SPACE % bound
        while True:
            mac = self._mac.copy()
            mac.update(self.counter.to_bytes(8, "big"))
            self.counter += 1
            x = int.from_bytes(mac.digest(), "big")
            if x < limit:
                return x % bound


def draw(
    seed: bytes, member_ids: Sequence[int], tickets: Sequence[int] | None, quantities: Sequence[int]
) -> list[Winner]:
    """The winners of a draw over entries sorted by ``member_id`` (strictly ascending), with
    ``tickets[i]`` tickets each (None: one each), for prizes of these quantities in prize order.
    When there are fewer entries than prizes, every entry wins and the last prizes stay unawarded."""
    _check_sorted(member_ids, tickets)
    n = len(member_ids)
    wanted = min(sum(quantities), n)
    prize_of = [p for p, q in enumerate(quantities) for _ in range(q)]
    weighted = tickets is not None and n > 0 and max(tickets) > 1
    stream = _Stream(seed)
    won: set[int] = set()
    order: list[int] = []
    while len(order) < wanted:
        pool: Sequence[int] = [i for i in range(n) if i not in won] if won else range(n)
        cumulative = list(accumulate(tickets[i] for i in pool)) if weighted and tickets is not None else None
        pool_weight = cumulative[-1] if cumulative else len(pool)
        won_weight = 0
        while len(order) < wanted and 2 * won_weight <= pool_weight:
            r = stream.below(pool_weight)
            index = pool[bisect_right(cumulative, r) if cumulative else r]
            if index in won:
                continue
            won.add(index)
            order.append(index)
            won_weight += tickets[index] if weighted and tickets is not None else 1
    return [
        Winner(rank, prize_of[rank], member_ids[i], 1 if tickets is None else tickets[i])
        for rank, i in enumerate(order)
    ]


def verify(
    commitment_hex: str,
    seed: bytes,
    member_ids: Sequence[int],
    tickets: Sequence[int] | None,
    quantities: Sequence[int],
    *,
    expected_hash: str | None = None,
    expected_winners: Sequence[int] | None = None,
    source: str | None = None,
    value: str | None = None,
) -> list[Winner]:
    """Re-run a published draw: check the seed (and the public ``source``'s text, when the campaign
    named one) against the commitment (and, when given, the entry list against its published hash
    and the winners' member ids, in rank order, against the published ones) and return the winners,
    drawn with the public ``value``. Raises :class:`VerificationError` on any mismatch."""
    if source is not None and value is None:
        raise VerificationError(f"the draw mixed in the public value of {source!r}: give that value")
    if source is None and value is not None:
        raise VerificationError("this draw named no public source: it mixed in no public value")
    if commitment(seed, source) != commitment_hex.lower():
        raise VerificationError("the seed does not match the commitment")
    if expected_hash is not None and entries_hash(member_ids, tickets) != expected_hash.lower():
        raise VerificationError("the entry list does not match its published hash")
    winners = draw(draw_seed(seed, value), member_ids, tickets, quantities)
    if expected_winners is not None and [w.member_id for w in winners] != list(expected_winners):
        raise VerificationError("the published winners are not the ones this draw gives")
    return winners


def _check_sorted(member_ids: Sequence[int], tickets: Sequence[int] | None) -> None:
    if tickets is not None and len(tickets) != len(member_ids):
        raise VerificationError("there must be one tickets count per entry")
    if not all(map(operator.lt, member_ids, islice(member_ids, 1, None))):
        raise VerificationError("entries must be sorted by member_id, each member once")
    if tickets and min(tickets) < 1:
        raise VerificationError("every entry holds at least one ticket")
