"""Casting a ballot, and reading ballots back.

One ballot per member and poll, enforced by a unique index: the ballot is written by one conditional
statement that also checks the poll is open (or scheduled) and inside its window — and, on
PostgreSQL, holds a share lock on the poll's row until it commits, so a ballot either commits before
the poll closes or is refused. In the same transaction go the answers, the member's tags as they
are now (for breakdowns), the live counts (:mod:`scrm_polls.tally`), the ``poll.voted`` event and,
when the poll gives a reward and points is enabled, the points: all of it commits, or none.

Free-text answers pass through moderation (``kernel.moderation.check``) before the transaction: a
text with a finding of severity ``medium`` or ``high`` is **held** — stored, not shown in the results'
texts or the exports until a reviewer releases it (``POST …/texts/{id}/review``); low findings are
kept with the text, which stays visible. The ballot counts either way: its choices and scores are in
the results at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import scrm

from scrm_polls import answers, coalesce, live, polls, store, voters
from scrm_polls.answers import Checked
from scrm_polls.points import rewarder
from scrm_polls.polls import Poll
from scrm_polls.problems import Anonymous, Closed
from scrm_polls.schemas import AnswerOut, BallotIn, BallotOut, TextOut, TextStatus

_findings = msgspec.json.Decoder(list[dict[str, Any]])


async def moderate(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, rows: list[Checked]) -> dict[int, list[scrm.Finding]]:
    """The findings on each free-text answer (by its index in ``rows``) that has any."""
    found = {}
    for i, row in enumerate(rows):
        if row.text is not None:
            findings = await kernel.moderation.check(ws, text=row.text)
            if findings:
                found[i] = findings
    return found


async def vote(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll_id: int, data: BallotIn) -> BallotOut:
    """Check and cast a ballot. Its problems come in this order: the member (422), the poll closed
    (409), the member not eligible (403), the answers (422) — whichever way the ballot goes."""
    poll = await live.poll(kernel, ws, poll_id)
    ref = kernel.members.ref(data.member_id, data.external_id)
    at = datetime.now(UTC)
    member = None
    rows = _unread_ready(poll, data, at)
    if rows is None:
        member = await kernel.members.by_ref(ws, ref)
        if not poll.accepting(at) and live.forget(ws, poll_id):
            poll = await live.poll(kernel, ws, poll_id)  # its closing time may have moved since it was cached
        if not poll.accepting(at):
            raise Closed(poll.why_closed())
        await voters.eligible(kernel, ws, poll, member)
        rows = answers.check(poll, data.answers)
    found = await moderate(kernel, ws, rows)
    points = rewarder(kernel, ws) if poll.points_reward else None
    cast = store.Cast(
        ws=ws,
        poll=poll,
        ref=ref,
        member=member,
        reward=poll.points_reward if points is not None else 0,
        at=at,
        rows=rows,
        found=found,
        points=points,
    )
    ballot_id, member_id = await coalesce.cast(kernel, cast)
    stored = _grouped(
        [
            {"question": r.question, "option_id": r.option_id, "score": r.score, "text": r.text, "status": status}
            for r, status in zip(rows, cast.statuses(), strict=True)
        ]
    )
    return BallotOut(
        id=ballot_id, poll_id=poll.id, member_id=member_id, answers=stored, points_awarded=cast.reward, created_at=at
    )


def _unread_ready(poll: Poll, data: BallotIn, at: datetime) -> list[Checked] | None:
    """The ballot's answers, checked, when the ballot may go to its batch before its voter is read
    (the batch reads all its voters in one statement and checks them as :func:`vote` would): the poll
    takes ballots now, asks for no consent (a read of the voter's own), and no answer is free text
    (moderation runs the plugins' hooks, which should hear only of a fit voter's text). None
    otherwise — also when an answer is wrong, since the voter's own problems come first."""
    if not poll.accepting(at) or poll.consent_purpose:
        return None
    try:
        rows = answers.check(poll, data.answers)
    except scrm.ValidationFailed:
        return None
    return None if any(row.text is not None for row in rows) else rows


def _grouped(rows: list[dict[str, Any]]) -> list[AnswerOut]:
    """Answer rows (one per option chosen) as one answer per question, in the order given."""
    out: dict[int, AnswerOut] = {}
    for r in rows:
        answer = out.get(r["question"])
        if answer is None:
            answer = out[r["question"]] = AnswerOut(
                question_id=r["question"],
                option_ids=[],
                score=r["score"],
                text=r["text"],
                text_status=r["status"],
            )
        if r["option_id"] is not None:
            answer.option_ids.append(r["option_id"])
    return list(out.values())


async def listing(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    poll_id: int,
    member_id: int | None,
    cursor: str | None,
    limit: int,
) -> scrm.Page[BallotOut]:
    """Ballots in the order they were cast; an anonymous poll's without their members."""
    poll = await polls.load(kernel, ws, poll_id)
    if member_id is not None and poll.anonymous:
        raise Anonymous("This poll is anonymous: its ballots cannot be looked up by member")
    name = f"polls-ballots-{poll_id}"
    after = kernel.cursors.decode(name, cursor)
    member_sql = " AND member_id = {}" if member_id is not None else ""
    rows = await kernel.sql.fetch(
        "SELECT id, member_id, points, created_at FROM polls_ballot "
        f"WHERE poll = {{}} AND workspace = {{}} AND id > {{}}{member_sql} ORDER BY id LIMIT {{}}",
        poll_id,
        ws.id,
        after,
        *([member_id] if member_id is not None else []),
        limit + 1,
    )
    ballots = await with_answers(kernel, ws, rows, anonymous=poll.anonymous, poll_id=poll_id)
    return kernel.cursors.page(name, ballots, [r["id"] for r in rows], limit)


async def with_answers(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, rows: list[Any], *, anonymous: bool, poll_id: int
) -> list[BallotOut]:
    """Ballot rows as :class:`BallotOut` with their answers (one query)."""
    if not rows:
        return []
    condition, ids = kernel.sql.any_of("ballot", [r["id"] for r in rows])
    answer_rows = await kernel.sql.fetch(
        f"SELECT ballot, question, option_id, score, text, status FROM polls_answer WHERE workspace = {{}} AND {condition} "
        "ORDER BY ballot, id",
        ws.id,
        ids,
    )
    by_ballot: dict[int, list[dict[str, Any]]] = {}
    for a in answer_rows:
        by_ballot.setdefault(a["ballot"], []).append(
            {
                "question": a["question"],
                "option_id": a["option_id"],
                "score": a["score"],
                "text": a["text"] if a["status"] == "visible" or a["text"] is None else None,
                "status": a["status"] if a["text"] is not None or a["status"] == "removed" else None,
            }
        )
    return [
        BallotOut(
            id=r["id"],
            poll_id=poll_id,
            member_id=None if anonymous else r["member_id"],
            answers=_grouped(by_ballot.get(r["id"], [])),
            points_awarded=r["points"],
            created_at=scrm.as_datetime(r["created_at"]),
        )
        for r in rows
    ]


# --- free texts and their review ------------------------------------------------------------------

TEXT_COLUMNS = "a.id, a.ballot, a.question, a.text, a.status, a.findings, b.member_id, b.created_at"


def _text(row: Any, anonymous: bool) -> TextOut:
    return TextOut(
        answer_id=row["id"],
        ballot_id=row["ballot"],
        question_id=row["question"],
        member_id=None if anonymous else row["member_id"],
        text=row["text"],
        status=row["status"],
        findings=_findings.decode(row["findings"]) if row["findings"] else [],
        created_at=scrm.as_datetime(row["created_at"]),
    )


async def texts(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    poll_id: int,
    status: TextStatus | None,
    cursor: str | None,
    limit: int,
) -> scrm.Page[TextOut]:
    """The poll's free-text answers, oldest first, optionally in one status (``held``: the review queue)."""
    poll = await polls.load(kernel, ws, poll_id)
    name = f"polls-texts-{poll_id}"
    after = kernel.cursors.decode(name, cursor)
    status_sql = " AND a.status = {}" if status is not None else ""
    rows = await kernel.sql.fetch(
        f"SELECT {TEXT_COLUMNS} FROM polls_answer a JOIN polls_ballot b ON b.id = a.ballot "
        "WHERE a.poll = {} AND a.workspace = {} AND a.status IS NOT NULL AND a.id > {}"
        f"{status_sql} ORDER BY a.id LIMIT {{}}",
        poll_id,
        ws.id,
        after,
        *([status] if status is not None else []),
        limit + 1,
    )
    return kernel.cursors.page(name, [_text(r, poll.anonymous) for r in rows], [r["id"] for r in rows], limit)


async def review(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll_id: int, answer_id: int, decision: str) -> TextOut:
    """Release a held text (it shows), or remove a text (it is deleted; the answer still counts)."""
    poll = await polls.load(kernel, ws, poll_id)
    async with kernel.db.transaction():
        if decision == "release":
            changed = await kernel.sql.fetch(
                "UPDATE polls_answer SET status = 'visible' WHERE id = {} AND poll = {} AND workspace = {} "
                "AND status = 'held' RETURNING id",
                answer_id,
                poll_id,
                ws.id,
            )
        else:
            changed = await kernel.sql.fetch(
                "UPDATE polls_answer SET status = 'removed', text = NULL, findings = NULL WHERE id = {} AND poll = {} "
                "AND workspace = {} AND status IN ('held', 'visible') RETURNING id",
                answer_id,
                poll_id,
                ws.id,
            )
    rows = await kernel.sql.fetch(
        f"SELECT {TEXT_COLUMNS} FROM polls_answer a JOIN polls_ballot b ON b.id = a.ballot "
        "WHERE a.id = {} AND a.poll = {} AND a.workspace = {} AND a.status IS NOT NULL",
        answer_id,
        poll_id,
        ws.id,
    )
    if not rows:
        raise scrm.NotFound(f"No free-text answer {answer_id} in poll {poll_id}", answer_id=answer_id)
    if not changed and rows[0]["status"] != ("visible" if decision == "release" else "removed"):
        raise scrm.Conflict(f"The text is {rows[0]['status']}; it cannot be {decision}d")
    return _text(rows[0], poll.anonymous)
