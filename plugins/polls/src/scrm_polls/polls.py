"""Polls: creating, changing, listing and moving them through their states.

States: ``draft`` → ``scheduled`` (opened ahead of its ``opens_at``) → ``open`` → ``closed``. Opening a
draft makes it ``open``, or ``scheduled`` when its ``opens_at`` is still ahead; the cron job
``polls.schedule`` (:mod:`scrm_polls.schedule`) turns a scheduled poll open at ``opens_at`` and an open
one closed at ``closes_at``. Whether a ballot is taken does not wait for the job: the ballot's own
statement checks the state and the window as it writes (:mod:`scrm_polls.ballots`), so the job only
brings the stored state up to date. Every transition is one conditional ``UPDATE … WHERE state IN
…``: two operators racing get one transition and one 409. Once a poll is no longer a draft, only
what cannot change who votes on what may be edited (:data:`CHANGEABLE_WHEN_LIVE`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import scrm

from scrm_polls.points import rewarder
from scrm_polls.problems import PollLocked, WrongState
from scrm_polls.schemas import (
    CHANGEABLE_WHEN_LIVE,
    CHOICE_KINDS,
    OptionOut,
    PollIn,
    PollOut,
    PollPatch,
    QuestionIn,
    QuestionOut,
    State,
)

COLUMNS = (
    "id, name, description, state, opens_at, closes_at, anonymous, tags_required, tags_excluded, "
    "consent_purpose, points_reward, opened_at, closed_at, created_at, updated_at"
)
_encode = msgspec.json.Encoder()
_tags = msgspec.json.Decoder(list[str])


def json_text(value: Any) -> str:
    return _encode.encode(value).decode()


@dataclass
class Poll:
    """A poll as the plugin's code works with it."""

    id: int
    name: str
    description: str
    state: str
    opens_at: datetime | None
    closes_at: datetime | None
    anonymous: bool
    tags_required: list[str]
    tags_excluded: list[str]
    consent_purpose: str | None
    points_reward: int
    opened_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    questions: list[QuestionOut] = field(default_factory=list)

    def accepting(self, at: datetime) -> bool:
        """Whether ballots are taken at ``at``: open (or scheduled) and inside the window."""
        return (
            self.state in ("open", "scheduled")
            and (self.opens_at is None or self.opens_at <= at)
            and (self.closes_at is None or at < self.closes_at)
        )

    def why_closed(self) -> str:
        """Why the poll takes no ballot now (the detail of a ``polls-closed`` problem)."""
        if self.state in ("draft", "closed"):
            return f"The poll is {self.state}"
        window = f"from {self.opens_at or 'now'} until {self.closes_at or 'it is closed'}"
        return f"The poll takes ballots {window}; it is {self.state}"

    def question(self, question_id: int) -> QuestionOut | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def out(self, at: datetime | None = None) -> PollOut:
        return PollOut(
            id=self.id,
            name=self.name,
            description=self.description,
            state=self.state,  # type: ignore[arg-type]
            accepting=self.accepting(at or datetime.now(UTC)),
            opens_at=self.opens_at,
            closes_at=self.closes_at,
            anonymous=self.anonymous,
            tags_required=self.tags_required,
            tags_excluded=self.tags_excluded,
            consent_purpose=self.consent_purpose,
            points_reward=self.points_reward,
            questions=self.questions,
            opened_at=self.opened_at,
            closed_at=self.closed_at,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


def to_poll(row: Any) -> Poll:
    return Poll(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        state=row["state"],
        opens_at=scrm.as_datetime(row["opens_at"]),
        closes_at=scrm.as_datetime(row["closes_at"]),
        anonymous=bool(row["anonymous"]),
        tags_required=_tags.decode(row["tags_required"]),
        tags_excluded=_tags.decode(row["tags_excluded"]),
        consent_purpose=row["consent_purpose"],
        points_reward=row["points_reward"],
        opened_at=scrm.as_datetime(row["opened_at"]),
        closed_at=scrm.as_datetime(row["closed_at"]),
        created_at=scrm.as_datetime(row["created_at"]),
        updated_at=scrm.as_datetime(row["updated_at"]),
    )


async def load(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll_id: int, *, lock: str = "") -> Poll:
    """The poll (without questions); 404 unless it is in this workspace."""
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM polls_poll WHERE id = {{}} AND workspace = {{}}{lock}", poll_id, ws.id
    )
    if not rows:
        raise scrm.NotFound(f"No poll {poll_id} in this workspace", poll_id=poll_id)
    return to_poll(rows[0])


async def with_questions(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, polls: list[Poll]) -> list[Poll]:
    """The polls with their questions and options, in order (two queries for any number of polls)."""
    if not polls:
        return polls
    condition, ids = kernel.sql.any_of("poll", [p.id for p in polls])
    questions = await kernel.sql.fetch(
        "SELECT id, poll, position, kind, title, required, min_choices, max_choices, max_length FROM polls_question "
        f"WHERE workspace = {{}} AND {condition} ORDER BY poll, position",
        ws.id,
        ids,
    )
    options = await kernel.sql.fetch(
        f"SELECT id, question, position, label FROM polls_option WHERE workspace = {{}} AND {condition} "
        "ORDER BY question, position",
        ws.id,
        ids,
    )
    by_question: dict[int, list[OptionOut]] = {}
    for row in options:
        by_question.setdefault(row["question"], []).append(
            OptionOut(id=row["id"], position=row["position"], label=row["label"])
        )
    by_poll = {p.id: p for p in polls}
    for p in polls:
        p.questions = []
    for row in questions:
        by_poll[row["poll"]].questions.append(
            QuestionOut(
                id=row["id"],
                position=row["position"],
                kind=row["kind"],
                title=row["title"],
                required=bool(row["required"]),
                options=by_question.get(row["id"], []),
                min_choices=row["min_choices"],
                max_choices=row["max_choices"],
                max_length=row["max_length"] if row["kind"] == "text" else None,
            )
        )
    return polls


async def get(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll_id: int) -> Poll:
    return (await with_questions(kernel, ws, [await load(kernel, ws, poll_id)]))[0]


async def listing(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, state: State | None, cursor: str | None, limit: int
) -> scrm.Page[PollOut]:
    """Polls, newest first, optionally in one state."""
    before = kernel.cursors.decode("polls", cursor)
    conditions, args = ["workspace = {}"], [ws.id]
    if before:
        conditions.append("id < {}")
        args.append(before)
    if state is not None:
        conditions.append("state = {}")
        args.append(state)  # type: ignore[arg-type]
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM polls_poll WHERE {' AND '.join(conditions)} ORDER BY id DESC LIMIT {{}}",
        *args,
        limit + 1,
    )
    polls = await with_questions(kernel, ws, [to_poll(r) for r in rows])
    at = datetime.now(UTC)
    return kernel.cursors.page("polls", [p.out(at) for p in polls], [p.id for p in polls], limit)


# --- checking what operators ask for ----------------------------------------------------------


def question_errors(i: int, q: QuestionIn) -> list[dict[str, str]]:
    """What the types cannot say about question ``i``: options for choice questions only (at least
    two, no repeats), choice bounds for multiple choice only, within the options."""
    at = f"questions[{i}]"
    errors: list[dict[str, str]] = []
    if q.kind in CHOICE_KINDS:
        if len(q.options) < 2:
            errors.append(scrm.field_error(f"{at}.options", "a choice question needs at least two options"))
        if len({o.strip().casefold() for o in q.options}) < len(q.options):
            errors.append(scrm.field_error(f"{at}.options", "two options have the same label"))
    elif q.options:
        errors.append(scrm.field_error(f"{at}.options", f"a {q.kind} question has no options"))
    if q.kind != "multiple":
        for name in ("min_choices", "max_choices"):
            if getattr(q, name) is not None:
                errors.append(scrm.field_error(f"{at}.{name}", "only a multiple-choice question bounds its choices"))
        return errors
    low, high = q.min_choices or 0, q.max_choices if q.max_choices is not None else len(q.options)
    if high > len(q.options):
        errors.append(scrm.field_error(f"{at}.max_choices", f"the question has only {len(q.options)} options"))
    if q.max_choices is not None and q.max_choices < 1:
        errors.append(scrm.field_error(f"{at}.max_choices", "must be at least 1"))
    if low > high:
        errors.append(scrm.field_error(f"{at}.min_choices", "must not exceed max_choices"))
    return errors


async def check(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: PollIn, *, reward: bool = True) -> None:
    """Everything wrong with a poll at once, as one 422: its questions, a window that ends after it
    starts, a tag both required and excluded, a consent purpose this workspace lacks, a points reward
    where points is not enabled (when ``reward``: one set earlier is not checked again)."""
    errors = [e for i, q in enumerate(data.questions) for e in question_errors(i, q)]
    if data.opens_at is not None and data.closes_at is not None and data.closes_at <= data.opens_at:
        errors.append(scrm.field_error("closes_at", "must be after opens_at"))
    if set(data.tags_required) & set(data.tags_excluded):
        errors.append(scrm.field_error("tags_excluded", "a tag cannot be both required and excluded"))
    if data.consent_purpose is not None:
        purposes = {p.name for p in await kernel.consents.purposes.list(ws)}
        if data.consent_purpose not in purposes:
            errors.append(
                scrm.field_error("consent_purpose", f"no consent purpose {data.consent_purpose!r} in this workspace")
            )
    if reward and data.points_reward and rewarder(kernel, ws) is None:
        errors.append(scrm.field_error("points_reward", "a reward needs the points plugin enabled in this workspace"))
    if errors:
        raise scrm.invalid_fields(errors)


async def create(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: PollIn) -> Poll:
    await check(kernel, ws, data)
    async with kernel.db.transaction():
        poll_id = await insert(kernel, ws, data)
    return await get(kernel, ws, poll_id)


async def insert(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: PollIn, state: str = "draft") -> int:
    """Store a checked poll with its questions (inside the caller's transaction)."""
    at = datetime.now(UTC)
    rows = await kernel.sql.fetch(
        "INSERT INTO polls_poll (workspace, name, description, state, opens_at, closes_at, anonymous, tags_required, "
        "tags_excluded, consent_purpose, points_reward, created_at, updated_at) VALUES "
        "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}) RETURNING id",
        ws.id,
        data.name,
        data.description,
        state,
        data.opens_at,
        data.closes_at,
        data.anonymous,
        json_text(sorted(set(data.tags_required))),
        json_text(sorted(set(data.tags_excluded))),
        data.consent_purpose,
        data.points_reward,
        at,
        at,
    )
    poll_id: int = rows[0]["id"]
    await insert_questions(kernel, ws, poll_id, data.questions)
    return poll_id


async def insert_questions(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll_id: int, questions: list[QuestionIn]
) -> None:
    for position, q in enumerate(questions):
        single = q.kind == "single"
        rows = await kernel.sql.fetch(
            "INSERT INTO polls_question (workspace, poll, position, kind, title, required, min_choices, max_choices, "
            "max_length) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}) RETURNING id",
            ws.id,
            poll_id,
            position,
            q.kind,
            q.title,
            q.required,
            1 if single else q.min_choices,
            1 if single else q.max_choices,
            q.max_length,
        )
        if q.options:
            args: list[Any] = []
            for n, label in enumerate(q.options):
                args += [ws.id, poll_id, rows[0]["id"], n, label]
            await kernel.sql.fetch(
                "INSERT INTO polls_option (workspace, poll, question, position, label) VALUES "
                + ", ".join("({}, {}, {}, {}, {})" for _ in q.options),
                *args,
            )


def as_input(poll: Poll) -> PollIn:
    """The poll as the body that would create it (to apply a patch over, or to edit in the builder)."""
    return PollIn(
        name=poll.name,
        questions=[question_input(q) for q in poll.questions],
        description=poll.description,
        opens_at=poll.opens_at,
        closes_at=poll.closes_at,
        anonymous=poll.anonymous,
        tags_required=poll.tags_required,
        tags_excluded=poll.tags_excluded,
        consent_purpose=poll.consent_purpose,
        points_reward=poll.points_reward,
    )


def question_input(q: QuestionOut) -> QuestionIn:
    multiple = q.kind == "multiple"
    return QuestionIn(
        kind=q.kind,
        title=q.title,
        options=[o.label for o in q.options],
        required=q.required,
        min_choices=q.min_choices if multiple else None,
        max_choices=q.max_choices if multiple else None,
        max_length=q.max_length or 500,
    )


async def update(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll_id: int, patch: PollPatch) -> Poll:
    """Apply a patch. In a draft anything may change (new questions replace the old ones); later only
    :data:`CHANGEABLE_WHEN_LIVE` (and ``closes_at`` of a poll taking ballots only to a moment ahead,
    or none). Anything else is a 409 naming the fields."""
    changed = scrm.sent_fields(patch)
    current = await get(kernel, ws, poll_id)
    merged = msgspec.structs.replace(as_input(current), **changed)
    await check(kernel, ws, merged, reward="points_reward" in changed)
    async with kernel.db.transaction():
        poll = await load(kernel, ws, poll_id, lock=kernel.sql.for_update)
        if poll.state != "draft":
            refused = sorted(set(changed) - CHANGEABLE_WHEN_LIVE)
            if refused:
                raise PollLocked(
                    f"The poll is {poll.state}; {', '.join(refused)} can no longer change",
                    errors=[scrm.field_error(f, f"cannot change once the poll is {poll.state}") for f in refused],
                )
            at = datetime.now(UTC)
            if "closes_at" in changed and poll.state != "closed" and merged.closes_at and merged.closes_at <= at:
                raise PollLocked(
                    "The closing time of a poll taking ballots can only move to a moment still ahead",
                    errors=[scrm.field_error("closes_at", "must be in the future while the poll is live")],
                )
        await kernel.sql.fetch(
            "UPDATE polls_poll SET name = {}, description = {}, opens_at = {}, closes_at = {}, anonymous = {}, "
            "tags_required = {}, tags_excluded = {}, consent_purpose = {}, points_reward = {}, updated_at = {} "
            "WHERE id = {} AND workspace = {}",
            merged.name,
            merged.description,
            merged.opens_at,
            merged.closes_at,
            merged.anonymous,
            json_text(sorted(set(merged.tags_required))),
            json_text(sorted(set(merged.tags_excluded))),
            merged.consent_purpose,
            merged.points_reward,
            datetime.now(UTC),
            poll_id,
            ws.id,
        )
        if "questions" in changed:
            await delete_questions(kernel, ws, poll_id)
            await insert_questions(kernel, ws, poll_id, merged.questions)
    return await get(kernel, ws, poll_id)


async def delete_questions(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll_id: int) -> None:
    for table in ("polls_option", "polls_question"):
        await kernel.sql.fetch(f"DELETE FROM {table} WHERE poll = {{}} AND workspace = {{}}", poll_id, ws.id)


async def delete(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll_id: int) -> None:
    """Delete a draft (a poll that took ballots is closed, not deleted)."""
    async with kernel.db.transaction():
        rows = await kernel.sql.fetch(
            "DELETE FROM polls_poll WHERE id = {} AND workspace = {} AND state = 'draft' RETURNING id", poll_id, ws.id
        )
        if not rows:
            poll = await load(kernel, ws, poll_id)
            raise WrongState(f"Only a draft can be deleted; this poll is {poll.state} (close it instead)")
        await delete_questions(kernel, ws, poll_id)


async def open_poll(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll_id: int) -> Poll:
    """``draft → open``, or ``draft → scheduled`` when its ``opens_at`` is still ahead."""
    poll = await load(kernel, ws, poll_id)
    at = datetime.now(UTC)
    if poll.state == "draft" and poll.closes_at is not None and poll.closes_at <= at:
        raise WrongState("The poll's closing time has already passed; move closes_at first")
    if poll.points_reward and rewarder(kernel, ws) is None:
        raise scrm.invalid("points_reward", "a reward needs the points plugin enabled in this workspace")
    to = "scheduled" if poll.opens_at is not None and poll.opens_at > at else "open"
    return await transition(kernel, ws, poll_id, to, ("draft",), stamp="opened_at")


async def transition(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    poll_id: int,
    to: str,
    allowed_from: tuple[str, ...],
    *,
    stamp: str | None = None,
) -> Poll:
    """Move the poll to ``to`` if it is in one of ``allowed_from``; ``stamp`` names the time column
    to set (``opened_at``, ``closed_at``)."""
    at = datetime.now(UTC)
    stamped = f", {stamp} = {{}}" if stamp else ""
    async with kernel.db.transaction():
        rows = await kernel.sql.fetch(
            f"UPDATE polls_poll SET state = {{}}, updated_at = {{}}{stamped} WHERE id = {{}} AND workspace = {{}} "
            f"AND state IN ({', '.join('{}' for _ in allowed_from)}) RETURNING id",
            to,
            at,
            *([at] if stamp else []),
            poll_id,
            ws.id,
            *allowed_from,
        )
    if not rows:
        state = (await load(kernel, ws, poll_id)).state
        raise WrongState(f"A poll that is {state} cannot become {to}", state=state)
    return await get(kernel, ws, poll_id)


async def close(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll_id: int) -> Poll:
    return await transition(kernel, ws, poll_id, "closed", ("open", "scheduled"), stamp="closed_at")
