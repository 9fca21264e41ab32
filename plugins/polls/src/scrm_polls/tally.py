"""The live counts behind a poll's results, kept in ``polls_tally`` and updated in each ballot's
transaction: the poll's ballots (question 0), each question's answers (value -1), and each option
chosen or score given (value = the option's id or the score).

Each count is spread over :data:`SLOTS` rows (a ballot adds to the slot of its id), so concurrent
ballots on PostgreSQL take different row locks instead of queueing on one; the results add the
slots up — at most ``SLOTS`` × (options + scores + questions) rows, whatever the number of ballots,
which keeps the results of a million ballots a sub-millisecond read (``bench/polls.py`` measures it
against aggregating ``polls_answer`` through its index). One ballot's rows are written in one
upsert, in key order, so two ballots never wait for each other crosswise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import scrm

from scrm_polls.answers import Checked

SLOTS = 16
BALLOTS = (0, 0)  # (question, value) of the poll's ballot count
ANSWERED = -1  # the value of a question's answer count

Key = tuple[int, int]  # (question, value)


def keys(answers: Iterable[Checked]) -> Counter[Key]:
    """What one ballot adds: 1 to the ballots, to each question answered, each option and score."""
    added: Counter[Key] = Counter({BALLOTS: 1})
    for a in answers:
        added[(a.question, ANSWERED)] = 1
        if a.option_id is not None:
            added[(a.question, a.option_id)] += 1
        elif a.score is not None:
            added[(a.question, a.score)] += 1
    return added


async def add(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll_id: int, slot: int, counts: Counter[Key], sign: int = 1
) -> None:
    """Add (or with ``sign`` -1, take away) ``counts`` in the caller's transaction."""
    if not counts:
        return
    args: list[int] = []
    for (question, value), n in sorted(counts.items()):
        args += [ws.id, poll_id, question, value, slot % SLOTS, sign * n]
    await kernel.sql.fetch(
        "INSERT INTO polls_tally (workspace, poll, question, value, slot, n) VALUES "
        + ", ".join("({}, {}, {}, {}, {}, {})" for _ in counts)
        + " ON CONFLICT (poll, question, value, slot) DO UPDATE SET n = polls_tally.n + excluded.n",
        *args,
    )


async def read(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll_id: int) -> dict[Key, int]:
    """Every count of the poll, its slots added up."""
    rows = await kernel.sql.fetch(
        "SELECT question, value, SUM(n) AS n FROM polls_tally WHERE poll = {} AND workspace = {} "
        "GROUP BY question, value",
        poll_id,
        ws.id,
    )
    return {(int(r["question"]), int(r["value"])): int(r["n"]) for r in rows if r["n"]}


async def aggregate(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll_id: int) -> dict[Key, int]:
    """The same counts computed from the ballots and answers themselves (through the index on
    ``polls_answer``): what the tally replaces, kept to check it and for the benchmark's comparison."""
    counts: dict[Key, int] = {}
    rows = await kernel.sql.fetch(
        "SELECT question, option_id, score, COUNT(*) AS n FROM polls_answer WHERE poll = {} AND workspace = {} "
        "GROUP BY question, option_id, score",
        poll_id,
        ws.id,
    )
    for r in rows:
        value = r["option_id"] if r["option_id"] is not None else r["score"]
        if value is not None:
            counts[(int(r["question"]), int(value))] = int(r["n"])
    answered = await kernel.sql.fetch(
        "SELECT question, COUNT(DISTINCT ballot) AS n FROM polls_answer WHERE poll = {} AND workspace = {} "
        "GROUP BY question",
        poll_id,
        ws.id,
    )
    for r in answered:
        counts[(int(r["question"]), ANSWERED)] = int(r["n"])
    ballots = await kernel.sql.fetch(
        "SELECT COUNT(*) AS n FROM polls_ballot WHERE poll = {} AND workspace = {}", poll_id, ws.id
    )
    counts[BALLOTS] = int(ballots[0]["n"])
    return {k: v for k, v in counts.items() if v}
