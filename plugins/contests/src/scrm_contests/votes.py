"""Public votes: casting one, listing them and their fraud signals, and voiding.

A vote is checked here — the contest in its voting phase (from :data:`_voting`), one member named —
and stored by :mod:`scrm_contests.casting`, which reads the member (active, of this workspace: a 422
otherwise; on PostgreSQL every member of a batch of votes in one statement): in one transaction with the
entry's count, the member's limit counters (votes in the contest, votes today, votes for this
submission — any at its limit refuses the vote with a 409 and nothing is written) and its fraud
signals (:mod:`scrm_contests.fraud`); on PostgreSQL with the other votes of the contest arriving at
the same moment.

Voiding marks votes void and takes them off their submissions' counts (so the ranking changes); the
member's counters are not given back — a voided vote was still cast.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import scrm
from cachetools import TTLCache

from scrm_contests import casting, contests
from scrm_contests.casting import Cast
from scrm_contests.contests import Contest
from scrm_contests.problems import WrongPhase
from scrm_contests.schemas import SignalOut, VoteIn, VoteOut

VOIDABLE_IN = ("voting", "judging")


#: Contests in their voting phase, reused for a few seconds by this process to spare a burst of votes
#: one round trip each. Safe: the limits cannot change once submissions opened, and the vote's
#: transaction checks the phase again (under the contest's lock) before it counts anything.
_voting: TTLCache[tuple[int, int], Contest] = TTLCache(maxsize=10_000, ttl=5.0)


async def voting(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int) -> Contest:
    """The contest, from :data:`_voting` when it was in its voting phase a moment ago."""
    contest = _voting.get((ws.id, contest_id))
    if contest is None:
        contest = await contests.load(kernel, ws, contest_id)
        if contest.phase == "voting":
            _voting[ws.id, contest_id] = contest
    return contest


async def vote(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int, submission_id: int, data: VoteIn
) -> VoteOut:
    contest = await voting(kernel, ws, contest_id)
    if contest.phase != "voting":
        raise WrongPhase(f"Votes are taken in the voting phase; the contest is in {contest.phase}", phase=contest.phase)
    ref = kernel.members.ref(data.member_id, data.external_id)
    at = datetime.now(UTC)
    limits = [("votes", contest.votes_per_member), (f"sub:{submission_id}", contest.votes_per_submission)]
    if contest.votes_per_day is not None:
        limits.append((f"day:{at.astimezone(ZoneInfo(ws.time_zone)).date().isoformat()}", contest.votes_per_day))
    capped = tuple((bucket, limit) for bucket, limit in limits if limit is not None)
    cast = Cast(ws, contest_id, submission_id, ref, None, data.source, data.device, at, capped)
    return await casting.VOTES.submit(kernel, cast)


async def signals(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int, kind: str | None, cursor: str | None, limit: int
) -> scrm.Page[SignalOut]:
    """Fraud signals, newest first, optionally of one kind."""
    await contests.load(kernel, ws, contest_id)
    name = f"contests-signals-{contest_id}"
    before = kernel.cursors.decode(name, cursor)
    extra, args = "", list[Any]()
    if before:
        extra += " AND s.id < {}"
        args.append(before)
    if kind is not None:
        extra += " AND s.kind = {}"
        args.append(kind)
    rows = await kernel.sql.fetch(
        "SELECT s.id, s.vote, s.member_id, v.submission, s.kind, s.detail, v.voided, s.created_at FROM contests_signal s "
        f"JOIN contests_vote v ON v.id = s.vote WHERE s.contest = {{}} AND s.workspace = {{}}{extra} "
        "ORDER BY s.id DESC LIMIT {}",
        contest_id,
        ws.id,
        *args,
        limit + 1,
    )
    items = [
        SignalOut(
            r["id"],
            r["vote"],
            r["member_id"],
            r["submission"],
            r["kind"],
            r["detail"],
            bool(r["voided"]),
            scrm.as_datetime(r["created_at"]),
        )
        for r in rows
    ]
    return kernel.cursors.page(name, items, [r["id"] for r in rows], limit)


async def void(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int, vote_ids: list[int]) -> int:
    """Void these votes of the contest (ids of other contests or workspaces are ignored) while it is
    in voting or judging; returns how many were voided now."""
    contest = await contests.load(kernel, ws, contest_id)
    if contest.phase not in VOIDABLE_IN:
        raise WrongPhase(
            f"Votes can be voided in voting and judging; the contest is in {contest.phase}", phase=contest.phase
        )
    condition, ids = kernel.sql.any_of("id", sorted(set(vote_ids)))
    async with kernel.db.transaction():
        rows = await kernel.sql.fetch(
            f"UPDATE contests_vote SET voided = TRUE WHERE contest = {{}} AND workspace = {{}} AND voided = FALSE "
            f"AND {condition} RETURNING submission",
            contest_id,
            ws.id,
            ids,
        )
        per_submission: dict[int, int] = {}
        for r in rows:
            per_submission[r["submission"]] = per_submission.get(r["submission"], 0) + 1
        for submission_id, n in sorted(per_submission.items()):
            await kernel.sql.fetch(
                "UPDATE contests_submission SET votes = votes - {} WHERE id = {} AND workspace = {}",
                n,
                submission_id,
                ws.id,
            )
    return len(rows)


async def listing(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int, member_id: int | None, cursor: str | None, limit: int
) -> scrm.Page[VoteOut]:
    """Votes, newest first; for one member with ``member_id``."""
    await contests.load(kernel, ws, contest_id)
    name = f"contests-votes-{contest_id}"
    before = kernel.cursors.decode(name, cursor)
    extra, args = "", []
    if before:
        extra += " AND id < {}"
        args.append(before)
    if member_id is not None:
        extra += " AND member_id = {}"
        args.append(member_id)
    rows = await kernel.sql.fetch(
        f"SELECT id, submission, member_id, voided, created_at FROM contests_vote WHERE contest = {{}} AND workspace = {{}}{extra} "
        "ORDER BY id DESC LIMIT {}",
        contest_id,
        ws.id,
        *args,
        limit + 1,
    )
    items = [
        VoteOut(
            r["id"], contest_id, r["submission"], r["member_id"], bool(r["voided"]), scrm.as_datetime(r["created_at"])
        )
        for r in rows
    ]
    return kernel.cursors.page(name, items, [r["id"] for r in rows], limit)
