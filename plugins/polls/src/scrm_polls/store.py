"""Storing checked ballots: the ballot, its answers, the voter's tags, the live counts, the
``poll.voted`` event and the points reward, in one transaction.

On PostgreSQL the rows of any number of ballots (a batch gathered by :mod:`scrm_polls.coalesce`) are
written by one statement — data-modifying CTEs hanging off the ballots inserted, so a ballot refused
by the unique index or by the poll's state writes nothing else — then their events by one
``kernel.events.record`` and the rewards, and the transaction commits: one commit for the batch. On
SQLite (one writer at a time) each ballot is a few statements in its own transaction.

The ballot's statement checks the poll is open (or scheduled) and inside its window as it writes, and
on PostgreSQL holds a share lock on the poll's row until it commits, so a ballot either commits
before the poll closes or is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

import msgspec
import scrm

from scrm_polls import live, polls, tally
from scrm_polls.answers import Checked
from scrm_polls.points import PointsAwarder
from scrm_polls.polls import Poll
from scrm_polls.problems import AlreadyVoted, Closed

HOLDING = frozenset({"medium", "high"})  # the severities of a finding that hold a text for review


@dataclass
class Cast:
    """A ballot checked and ready to store: its poll, the voter (as the body names them, and the member
    once read: the batch reads those still None, :mod:`scrm_polls.coalesce`), the reward, the answers
    as rows and what moderation found in their texts (by row)."""

    ws: scrm.WorkspaceRef
    poll: Poll
    ref: scrm.MemberRef
    member: scrm.MemberOut | None
    reward: int
    at: datetime
    rows: list[Checked]
    found: dict[int, list[scrm.Finding]]
    points: PointsAwarder | None

    @property
    def voter_key(self) -> tuple[str, int | str]:
        """Who votes, as far as is known before the member is read (one key per reference)."""
        return ("id", self.member.id) if self.member is not None else self.ref.key

    @property
    def member_id(self) -> int:
        if self.member is None:
            raise RuntimeError("the voter of this ballot has not been read")
        return self.member.id

    @property
    def tags(self) -> list[str]:
        """The voter's tags as they are now (breakdowns segment ballots by them)."""
        if self.member is None:
            raise RuntimeError("the voter of this ballot has not been read")
        return list(self.member.tags)

    def statuses(self) -> list[str | None]:
        """Each row's text status: ``held`` when moderation found something serious enough in it,
        else ``visible``; None for rows without text."""
        return [
            None
            if row.text is None
            else "held"
            if any(f.severity in HOLDING for f in self.found.get(i, []))
            else "visible"
            for i, row in enumerate(self.rows)
        ]

    def findings(self, i: int) -> str | None:
        return msgspec.json.encode(self.found[i]).decode() if i in self.found else None


async def refused(kernel: scrm.Kernel, cast: Cast) -> NoReturn:
    """Why no ballot was written: the member's earlier ballot (409), or the poll stopped taking them."""
    ws, poll = cast.ws, cast.poll
    voted = await kernel.sql.fetch(
        "SELECT id FROM polls_ballot WHERE poll = {} AND member_id = {}", poll.id, cast.member_id
    )
    if voted:
        raise AlreadyVoted(f"Member {cast.member_id} has already voted in this poll", ballot_id=voted[0]["id"])
    live.forget(ws, poll.id)  # it may have closed since it was cached
    raise Closed((await polls.load(kernel, ws, poll.id)).why_closed())


async def _after_writing(kernel: scrm.Kernel, written: list[tuple[Cast, int]]) -> None:
    """The ``poll.voted`` events and the rewards of the ballots written (in their transaction)."""
    if not written:
        return
    events = [
        scrm.NewEvent(
            member_id=cast.member_id,
            type="poll.voted",
            properties={"poll_id": cast.poll.id, "ballot_id": ballot_id, "points": cast.reward},
            occurred_at=cast.at,
            source="polls",
            idempotency_key=f"polls:ballot:{ballot_id}",
        )
        for cast, ballot_id in written
    ]
    await kernel.events.record(written[0][0].ws, events)
    for cast, _ in written:
        if cast.points is not None:
            await cast.points.award(
                cast.ws,
                cast.member_id,
                cast.reward,
                reason=f"poll: {cast.poll.name}",
                reference=f"poll:{cast.poll.id}:member:{cast.member_id}",
            )


# --- PostgreSQL: a batch in one statement ---------------------------------------------------------

_WRITE_POSTGRES = (
    "WITH input AS (SELECT * FROM unnest({polls}::bigint[], {members}::bigint[], {points}::int[], "
    "{ats}::timestamptz[], {ords}::int[]) AS x(poll, member, points, at, ord)), "
    "p AS (SELECT id FROM polls_poll WHERE workspace = {ws} AND id = ANY({poll_ids}::bigint[]) "
    "AND state IN ('open', 'scheduled') AND (opens_at IS NULL OR opens_at <= {now}) "
    "AND (closes_at IS NULL OR closes_at > {now}) FOR SHARE), "
    "b AS (INSERT INTO polls_ballot (workspace, poll, member_id, points, created_at) "
    "SELECT {ws}, input.poll, input.member, input.points, input.at FROM input JOIN p ON p.id = input.poll "
    "ORDER BY input.ord ON CONFLICT (poll, member_id) DO NOTHING RETURNING id, poll, member_id), "
    "a AS (INSERT INTO polls_answer (workspace, poll, ballot, question, option_id, score, text, status, findings) "
    "SELECT {ws}, b.poll, b.id, x.question, x.option_id, x.score, x.text, x.status, x.findings FROM b JOIN "
    "unnest({a_polls}::bigint[], {a_members}::bigint[], {a_questions}::bigint[], {a_options}::bigint[], "
    "{a_scores}::int[], {a_texts}::text[], {a_statuses}::text[], {a_findings}::text[]) "
    "AS x(poll, member, question, option_id, score, text, status, findings) "
    "ON x.poll = b.poll AND x.member = b.member_id), "
    "t AS (INSERT INTO polls_ballot_tag (workspace, poll, ballot, tag) SELECT {ws}, b.poll, b.id, x.tag FROM b JOIN "
    "unnest({t_polls}::bigint[], {t_members}::bigint[], {t_tags}::text[]) AS x(poll, member, tag) "
    "ON x.poll = b.poll AND x.member = b.member_id), "
    "c AS (INSERT INTO polls_tally (workspace, poll, question, value, slot, n) "
    f"SELECT {{ws}}, b.poll, x.question, x.value, b.id % {tally.SLOTS}, SUM(x.n) FROM b JOIN "
    "unnest({c_polls}::bigint[], {c_members}::bigint[], {c_questions}::bigint[], {c_values}::bigint[], "
    "{c_counts}::bigint[]) AS x(poll, member, question, value, n) ON x.poll = b.poll AND x.member = b.member_id "
    f"GROUP BY b.poll, x.question, x.value, b.id % {tally.SLOTS} ORDER BY b.poll, x.question, x.value, 5 "
    "ON CONFLICT (poll, question, value, slot) DO UPDATE SET n = polls_tally.n + excluded.n) "
    "SELECT id, poll, member_id FROM b"
)


def _columns(casts: list[Cast]) -> dict[str, list[Any]]:
    """The batch as the statement's arrays: one entry per ballot, per answer row, per tag, per count."""
    names = (
        "polls members points ats ords a_polls a_members a_questions a_options a_scores a_texts a_statuses "
        "a_findings t_polls t_members t_tags c_polls c_members c_questions c_values c_counts"
    )
    v: dict[str, list[Any]] = {name: [] for name in names.split()}
    for n, cast in enumerate(casts):
        poll, member = cast.poll.id, cast.member_id
        _add(v, polls=poll, members=member, points=cast.reward, ats=cast.at, ords=n)
        for i, (row, status) in enumerate(zip(cast.rows, cast.statuses(), strict=True)):
            _add(
                v,
                a_polls=poll,
                a_members=member,
                a_questions=row.question,
                a_options=row.option_id,
                a_scores=row.score,
                a_texts=row.text,
                a_statuses=status,
                a_findings=cast.findings(i),
            )
        for tag in cast.tags:
            _add(v, t_polls=poll, t_members=member, t_tags=tag)
        for (question, value), count in tally.keys(cast.rows).items():
            _add(v, c_polls=poll, c_members=member, c_questions=question, c_values=value, c_counts=count)
    return v


def _add(columns: dict[str, list[Any]], **values: Any) -> None:
    for name, value in values.items():
        columns[name].append(value)


async def write_postgres(kernel: scrm.Kernel, casts: list[Cast]) -> list[int | None]:
    """Store the batch in one transaction; each cast's ballot id, or None where it was refused (a
    second ballot of the member, or the poll no longer taking ballots). At most one cast per member
    and poll (:mod:`scrm_polls.coalesce` sees to it)."""
    ws = casts[0].ws
    async with kernel.db.transaction():
        inserted = await kernel.sql.run(
            _WRITE_POSTGRES,
            ws=ws.id,
            now=datetime.now(UTC),
            poll_ids=sorted({c.poll.id for c in casts}),
            **_columns(casts),
        )
        ids = {(r["poll"], r["member_id"]): int(r["id"]) for r in inserted}
        found = [ids.get((c.poll.id, c.member_id)) for c in casts]
        await _after_writing(kernel, [(c, i) for c, i in zip(casts, found, strict=True) if i is not None])
    return found


# --- SQLite: a ballot at a time -----------------------------------------------------------------


async def write_one(kernel: scrm.Kernel, cast: Cast) -> int:
    """Store one ballot in its own transaction (SQLite; on PostgreSQL a batch of one); its id, or the
    problem that refused it."""
    if kernel.sql.postgres:
        [ballot_id] = await write_postgres(kernel, [cast])
        if ballot_id is None:
            await refused(kernel, cast)
        return ballot_id
    async with kernel.db.transaction():
        ballot_id = await _insert_ballot(kernel, cast)
        await _insert_answers(kernel, cast, ballot_id)
        await _insert_tags(kernel, cast, ballot_id)
        await tally.add(kernel, cast.ws, cast.poll.id, ballot_id, tally.keys(cast.rows))
        await _after_writing(kernel, [(cast, ballot_id)])
    return ballot_id


async def _insert_ballot(kernel: scrm.Kernel, cast: Cast) -> int:
    """The ballot, in one statement that checks the poll's state and window as it writes."""
    rows = await kernel.sql.fetch(
        "WITH p AS (SELECT id FROM polls_poll WHERE id = {} AND workspace = {} AND state IN ('open', 'scheduled') "
        "AND (opens_at IS NULL OR opens_at <= {}) AND (closes_at IS NULL OR closes_at > {})) "
        "INSERT INTO polls_ballot (workspace, poll, member_id, points, created_at) SELECT {}, p.id, {}, {}, {} FROM p "
        "WHERE TRUE ON CONFLICT (poll, member_id) DO NOTHING RETURNING id",
        cast.poll.id,
        cast.ws.id,
        cast.at,
        cast.at,
        cast.ws.id,
        cast.member_id,
        cast.reward,
        cast.at,
    )
    if not rows:
        await refused(kernel, cast)
    ballot_id: int = rows[0]["id"]
    return ballot_id


async def _insert_answers(kernel: scrm.Kernel, cast: Cast, ballot_id: int) -> None:
    args: list[Any] = []
    for i, (row, status) in enumerate(zip(cast.rows, cast.statuses(), strict=True)):
        args += [cast.ws.id, cast.poll.id, ballot_id, row.question, row.option_id, row.score, row.text, status]
        args.append(cast.findings(i))
    await kernel.sql.fetch(
        "INSERT INTO polls_answer (workspace, poll, ballot, question, option_id, score, text, status, findings) "
        "VALUES " + ", ".join("({}, {}, {}, {}, {}, {}, {}, {}, {})" for _ in cast.rows),
        *args,
    )


async def _insert_tags(kernel: scrm.Kernel, cast: Cast, ballot_id: int) -> None:
    """The voter's tags as they are now (breakdowns segment ballots by them)."""
    if not cast.tags:
        return
    args: list[Any] = []
    for tag in cast.tags:
        args += [cast.ws.id, cast.poll.id, ballot_id, tag]
    await kernel.sql.fetch(
        "INSERT INTO polls_ballot_tag (workspace, poll, ballot, tag) VALUES "
        + ", ".join("({}, {}, {}, {})" for _ in cast.tags),
        *args,
    )
