"""Storing votes: the entry's count, the member's limit counters, the vote and its fraud signals, in
one transaction — nothing of a refused vote is written.

On PostgreSQL votes of one contest arriving at once in this process share a transaction (:data:`VOTES`,
the core's group commit): one statement writes all of them (:data:`_BATCH` — the contest's phase
checked under a share lock on its row, the entries locked, the counters bumped, the votes stored and
the entries' counts raised) and one more finds and stores their fraud signals
(:func:`scrm_contests.fraud.record`), instead of six statements, a ``BEGIN`` and a ``COMMIT`` per vote;
before them one more reads the members of all its votes (``kernel.members.lookup``), which the
requests leave to it. A vote the batch did not write — its member unknown or not active, out of
phase, an entry not approved, a limit reached — is written again on its own (:func:`write_one`),
which reads its member and says why with its own 422 or 409. On SQLite, and on PostgreSQL
for those, a vote is a few statements in its own transaction.

Invariants, whichever way a vote goes:

* **The phase**: a batch holds ``FOR SHARE`` on the contest's row, a vote on its own holds the
  contest's shared advisory lock (:func:`scrm_contests.contests.in_phase`); a phase change takes the
  advisory lock exclusively and updates that row, so it waits for votes in flight, and a vote after
  it sees the new phase.
* **The limits**: every counter is bumped by ``… DO UPDATE SET n = n + 1 WHERE n < cap`` under its
  unique index (:mod:`scrm_contests.counters`); a vote counts only if every one of its counters did.
  In a batch a vote with some counters at their limit and some not (its second vote for one entry,
  say) has the others taken back before the commit, still under their row locks.
* **Deadlocks**: a member's two votes are never in two batches at once (:data:`VOTES`' conflict key)
  unless one names them by ``member_id`` and the other by ``external_id`` (one batch writes one vote
  of a member at most), and every path locks the entries before the counters, each in a fixed order
  (ids; member, bucket), so such batches wait for each other and cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import scrm

from scrm_contests import contests, fraud
from scrm_contests.counters import bump
from scrm_contests.problems import NotVotable, VoteLimit, WrongPhase
from scrm_contests.schemas import VoteOut
from scrm_contests.submissions import member_of

#: what a refused bucket's problem says the member has used up
_WHICH = {"votes": "in this contest", "day": "today", "sub": "for this submission"}


@dataclass(frozen=True)
class Cast:
    """A vote asked for: where, by whom (the member as the body names them, and the member row once
    read: a batch reads those still None in one statement), for which entry, and the contest's
    limits that apply (``(bucket, limit)``, :mod:`scrm_contests.counters`; in the order a refusal
    names them)."""

    ws: scrm.WorkspaceRef
    contest_id: int
    submission_id: int
    ref: scrm.MemberRef
    member: scrm.MemberOut | None
    source: str
    device: str
    at: datetime
    limits: tuple[tuple[str, int], ...]

    @property
    def voter(self) -> scrm.MemberOut:
        if self.member is None:
            raise RuntimeError("the voter of this vote has not been read")
        return self.member

    @property
    def voter_key(self) -> tuple[str, int | str]:
        """Who votes, as far as is known before the member is read (one key per reference)."""
        return ("id", self.member.id) if self.member is not None else self.ref.key

    def stored(self, vote_id: int) -> fraud.Stored:
        return fraud.Stored(vote_id, self.voter, self.submission_id, self.source, self.device, self.at)

    def out(self, vote_id: int, signals: list[str]) -> VoteOut:
        return VoteOut(vote_id, self.contest_id, self.submission_id, self.voter.id, False, self.at, signals)


# --- one vote on its own (SQLite; PostgreSQL for a vote a batch did not write) --------------------


async def write_one(kernel: scrm.Kernel, cast: Cast) -> VoteOut:
    """Store one vote in its own transaction; the vote, or the 422 (its member) or 409 that refused it."""
    if cast.member is None:
        cast = replace(cast, member=await member_of(kernel, cast.ws, cast.ref.member_id, cast.ref.external_id))
    ws, contest_id, submission_id = cast.ws, cast.contest_id, cast.submission_id
    async with kernel.db.transaction():
        current = await contests.in_phase(kernel, ws, contest_id)
        if current.phase != "voting":
            raise WrongPhase(f"Voting closed; the contest is in {current.phase}", phase=current.phase)
        counted = await kernel.sql.fetch(
            "UPDATE contests_submission SET votes = votes + 1 WHERE id = {} AND contest = {} AND workspace = {} "
            "AND status = 'approved' RETURNING id",
            submission_id,
            contest_id,
            ws.id,
        )
        if not counted:
            raise NotVotable(
                f"Submission {submission_id} is not an approved entry of this contest", submission_id=submission_id
            )
        refused = await bump(kernel, ws, contest_id, cast.voter.id, list(cast.limits))
        if refused:
            limit = dict(cast.limits)[refused[0]]
            kind = refused[0].split(":")[0]
            raise VoteLimit(f"The member has cast all {limit} votes {_WHICH[kind]}", limit=limit, bucket=kind)
        rows = await kernel.sql.fetch(
            "INSERT INTO contests_vote (workspace, contest, submission, member_id, source, device, voided, created_at) "
            "VALUES ({}, {}, {}, {}, {}, {}, FALSE, {}) RETURNING id",
            ws.id,
            contest_id,
            submission_id,
            cast.voter.id,
            cast.source,
            cast.device,
            cast.at,
        )
        vote_id: int = rows[0]["id"]
        signals = await fraud.record(kernel, ws, contest_id, [cast.stored(vote_id)])
    return cast.out(vote_id, signals[vote_id])


# --- PostgreSQL: a batch in one statement ---------------------------------------------------------

_BATCH = (
    "WITH c AS (SELECT id FROM contests_contest WHERE id = {contest} AND workspace = {ws} AND phase = 'voting' "
    "AND voting_closes_at > {now} FOR SHARE), "
    "s AS (SELECT id FROM contests_submission WHERE id = ANY({entries}::bigint[]) AND contest IN (SELECT id FROM c) "
    "AND workspace = {ws} AND status = 'approved' ORDER BY id FOR UPDATE), "
    "x AS (SELECT x.* FROM unnest({ords}::int[], {members}::bigint[], {submissions}::bigint[], {sources}::text[], "
    "{devices}::text[], {ats}::timestamptz[], {needs}::int[]) AS x(ord, member, submission, source, device, at, needs) "
    "JOIN s ON s.id = x.submission), "
    "k AS (INSERT INTO contests_counter (workspace, contest, member_id, bucket, n, cap) "
    "SELECT {ws}, {contest}, b.member, b.bucket, 1, b.cap "
    "FROM unnest({b_members}::bigint[], {b_buckets}::text[], {b_caps}::int[]) AS b(member, bucket, cap) "
    "JOIN x ON x.member = b.member ORDER BY b.member, b.bucket "
    "ON CONFLICT (contest, member_id, bucket) DO UPDATE SET n = contests_counter.n + 1, cap = EXCLUDED.cap "
    "WHERE contests_counter.n < EXCLUDED.cap RETURNING member_id, bucket), "
    "ok AS (SELECT x.* FROM x LEFT JOIN (SELECT member_id, COUNT(*) AS n FROM k GROUP BY member_id) AS kc "
    "ON kc.member_id = x.member WHERE COALESCE(kc.n, 0) = x.needs), "
    "v AS (INSERT INTO contests_vote (workspace, contest, submission, member_id, source, device, voided, created_at) "
    "SELECT {ws}, {contest}, ok.submission, ok.member, ok.source, ok.device, FALSE, ok.at FROM ok ORDER BY ok.ord "
    "RETURNING id, member_id), "
    "u AS (UPDATE contests_submission AS e SET votes = e.votes + t.n "
    "FROM (SELECT submission, COUNT(*) AS n FROM ok GROUP BY submission) AS t WHERE e.id = t.submission) "
    "SELECT v.member_id, v.id, NULL AS bucket FROM v UNION ALL SELECT k.member_id, NULL, k.bucket FROM k"
)
_TAKE_BACK = (
    "UPDATE contests_counter SET n = n - 1 WHERE contest = {contest} AND (member_id, bucket) IN "
    "(SELECT * FROM unnest({members}::bigint[], {buckets}::text[]))"
)


async def write_batch(kernel: scrm.Kernel, casts: Sequence[Cast]) -> list[VoteOut | None]:
    """Store votes of one contest in one transaction, their members read by it (those the requests
    did not read: all in one statement); each one's vote, or None where it was not written — also
    where its member is not an active member of the workspace, or votes a second time in the batch
    (:func:`write_one` then answers with the request's own 422 or 409)."""
    unread = [cast.ref for cast in casts if cast.member is None]
    read = iter(await kernel.members.lookup(casts[0].ws, unread) if unread else [])
    ready: list[Cast | None] = []
    seen: set[int] = set()
    for cast in casts:
        member = cast.member if cast.member is not None else next(read)
        if member is None or member.status != "active" or member.id in seen:
            ready.append(None)
            continue
        seen.add(member.id)
        ready.append(replace(cast, member=member))
    writing = [cast for cast in ready if cast is not None]
    stored = iter(await _write_read(kernel, writing) if writing else [])
    return [next(stored) if cast is not None else None for cast in ready]


async def _write_read(kernel: scrm.Kernel, casts: Sequence[Cast]) -> list[VoteOut | None]:
    """:func:`write_batch` of votes whose members are read, each member at most once."""
    first = casts[0]
    counters = sorted((c.voter.id, bucket, limit) for c in casts for bucket, limit in c.limits)
    async with kernel.db.transaction():
        rows = await kernel.sql.run(
            _BATCH,
            ws=first.ws.id,
            contest=first.contest_id,
            now=datetime.now(UTC),
            entries=sorted({c.submission_id for c in casts}),
            ords=list(range(len(casts))),
            members=[c.voter.id for c in casts],
            submissions=[c.submission_id for c in casts],
            sources=[c.source for c in casts],
            devices=[c.device for c in casts],
            ats=[c.at for c in casts],
            needs=[len(c.limits) for c in casts],
            b_members=[m for m, _, _ in counters],
            b_buckets=[b for _, b, _ in counters],
            b_caps=[n for _, _, n in counters],
        )
        votes = {r["member_id"]: int(r["id"]) for r in rows if r["id"] is not None}
        partial = [(r["member_id"], r["bucket"]) for r in rows if r["id"] is None and r["member_id"] not in votes]
        if partial:
            await kernel.sql.run(
                _TAKE_BACK,
                contest=first.contest_id,
                members=[m for m, _ in partial],
                buckets=[b for _, b in partial],
            )
        written = [c for c in casts if c.voter.id in votes]
        signals = await fraud.record(kernel, first.ws, first.contest_id, [c.stored(votes[c.voter.id]) for c in written])
    return [c.out(votes[c.voter.id], signals[votes[c.voter.id]]) if c.voter.id in votes else None for c in casts]


#: Votes of one contest arriving at once, on PostgreSQL, share a transaction (up to 100, 4 batches in
#: flight; a member named one way never in two batches at once). See :class:`scrm.GroupCommit`.
VOTES: scrm.GroupCommit[Cast, VoteOut] = scrm.GroupCommit(
    "contests.votes",
    write_batch,
    write_one,
    lane=lambda cast: (cast.ws.id, cast.contest_id),
    conflict=lambda cast: cast.voter_key,
)
