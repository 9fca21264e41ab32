"""The verifiable draw as pure functions: deterministic, unbiased enough to see, weighted, without
replacement, and checkable from the published facts only."""

from __future__ import annotations

import hashlib
import struct
from collections import Counter

import pytest
from scrm_lottery import fairness

SEED = bytes(range(32))


def test_the_commitment_is_the_seeds_sha256() -> None:
    assert fairness.commitment(SEED) == hashlib.sha256(SEED).hexdigest()
    assert len(fairness.new_seed()) == 32
    assert fairness.new_seed() != fairness.new_seed()


def test_the_entries_hash_is_sha256_of_big_endian_pairs() -> None:
    ids, tickets = [3, 7, 2**40], [1, 5, 2]
    expected = hashlib.sha256(b"".join(struct.pack(">qq", m, t) for m, t in zip(ids, tickets, strict=True)))
    assert fairness.entries_hash(ids, tickets) == expected.hexdigest()
    assert fairness.entries_hash(ids) == fairness.entries_hash(ids, [1, 1, 1])


def test_a_draw_is_a_function_of_seed_and_entries() -> None:
    ids = list(range(10, 1010))
    first = fairness.draw(SEED, ids, None, [1, 3])
    assert first == fairness.draw(SEED, ids, None, [1, 3])
    assert [w.prize for w in first] == [0, 1, 1, 1]
    assert [w.rank for w in first] == [0, 1, 2, 3]
    assert len({w.member_id for w in first}) == 4  # without replacement
    assert fairness.draw(bytes(32), ids, None, [1, 3]) != first


def test_the_stream_is_hmac_sha256_of_a_big_endian_counter() -> None:
    """The documented algorithm, re-implemented independently for one unweighted winner."""
    import hmac

    ids = list(range(1, 101))
    x = int.from_bytes(hmac.new(SEED, (0).to_bytes(8, "big"), hashlib.sha256).digest(), "big")
    assert x < 2**256 - 2**256 % 100  # not rejected (rejection is astronomically rare here)
    assert fairness.draw(SEED, ids, None, [1])[0].member_id == ids[x % 100]


def test_more_prizes_than_entries_gives_everyone_a_prize() -> None:
    winners = fairness.draw(SEED, [1, 2, 3], [1, 9, 1], [2, 5])
    assert sorted(w.member_id for w in winners) == [1, 2, 3]
    assert [w.prize for w in winners] == [0, 0, 1]
    assert fairness.draw(SEED, [], None, [3]) == []


def test_tickets_weigh_the_draw() -> None:
    wins: Counter[int] = Counter()
    for i in range(2000):
        seed = hashlib.sha256(str(i).encode()).digest()
        wins[fairness.draw(seed, [1, 2], [1, 3], [1])[0].member_id] += 1
    assert 0.70 < wins[2] / 2000 < 0.80  # 3 tickets of 4


def test_uniform_draws_are_uniform() -> None:
    wins: Counter[int] = Counter()
    for i in range(3000):
        seed = hashlib.sha256(str(i).encode()).digest()
        wins[fairness.draw(seed, [1, 2, 3], None, [1])[0].member_id] += 1
    assert all(900 < wins[m] < 1100 for m in (1, 2, 3))


def test_verification_reproduces_the_winners() -> None:
    ids, tickets = list(range(1, 500)), [1 + i % 4 for i in range(499)]
    winners = fairness.draw(SEED, ids, tickets, [2, 2])
    again = fairness.verify(
        fairness.commitment(SEED),
        SEED,
        ids,
        tickets,
        [2, 2],
        expected_hash=fairness.entries_hash(ids, tickets),
        expected_winners=[w.member_id for w in winners],
    )
    assert again == winners


def test_a_changed_seed_or_entry_list_fails_verification() -> None:
    ids = list(range(1, 100))
    commitment = fairness.commitment(SEED)
    digest = fairness.entries_hash(ids)
    winners = [w.member_id for w in fairness.draw(SEED, ids, None, [3])]
    with pytest.raises(fairness.VerificationError, match="commitment"):
        fairness.verify(commitment, bytes(32), ids, None, [3])
    with pytest.raises(fairness.VerificationError, match="hash"):
        fairness.verify(commitment, SEED, [*ids, 100], None, [3], expected_hash=digest)
    with pytest.raises(fairness.VerificationError, match="winners"):
        fairness.verify(commitment, SEED, ids[1:], None, [3], expected_winners=winners)
    with pytest.raises(fairness.VerificationError, match="sorted"):
        fairness.verify(commitment, SEED, [2, 1], None, [1])


def test_a_million_entries_draw_quickly() -> None:
    import time

    ids = list(range(1, 1_000_001))
    tickets = [1 + i % 3 for i in range(1_000_000)]
    began = time.perf_counter()
    fairness.entries_hash(ids, tickets)
    fairness.draw(SEED, ids, tickets, [1, 10, 100])
    assert time.perf_counter() - began < 2.0  # about 0.2 s here; generous for slow CI
