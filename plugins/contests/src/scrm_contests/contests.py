"""Contests: creating, changing, listing them, and their phases.

Phases: ``draft`` → ``submission`` → ``moderation`` → ``voting`` → ``judging`` → ``results``, or
``cancelled`` from any but ``results``. The stored phase is the truth every action checks, inside its
own transaction. Dates move it on by themselves: whenever a contest is read, a phase whose deadline
has passed (:data:`SCHEDULE`) is closed by a conditional ``UPDATE … WHERE phase = <that phase>`` — two
requests noticing at once make one change — and an operator may move it forward earlier. Every change
is a row of ``contests_phase_change`` (from, to, ``operator`` or ``schedule``, who, when): the
contest's event history, shown on its page and by ``GET …/phases``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import msgspec
import scrm

from scrm_contests import json_columns
from scrm_contests.problems import ContestLocked, WrongPhase
from scrm_contests.schemas import (
    CHANGEABLE_WHEN_OPEN,
    PHASES,
    ContestIn,
    ContestOut,
    ContestPatch,
    Criterion,
    Phase,
    PhaseChangeOut,
)

COLUMNS = (
    "id, name, description, phase, submission_closes_at, voting_opens_at, voting_closes_at, judging_closes_at, "
    "moderate_all, submissions_per_member, media_per_submission, max_file_bytes, allow_video, max_video_bytes, "
    "votes_per_member, votes_per_submission, votes_per_day, rubric, judge_weight_pct, award_points, award_tag, notify_purpose, "
    "created_at, updated_at"
)
#: a phase, the deadline that ends it, and the phase that follows
SCHEDULE = {
    "submission": ("submission_closes_at", "moderation"),
    "moderation": ("voting_opens_at", "voting"),
    "voting": ("voting_closes_at", "judging"),
    "judging": ("judging_closes_at", "results"),
}


@dataclass
class Contest:
    id: int
    name: str
    description: str
    phase: str
    submission_closes_at: datetime
    voting_opens_at: datetime
    voting_closes_at: datetime
    judging_closes_at: datetime | None
    moderate_all: bool
    submissions_per_member: int
    media_per_submission: int
    max_file_bytes: int
    allow_video: bool
    max_video_bytes: int
    votes_per_member: int | None
    votes_per_submission: int
    votes_per_day: int | None
    rubric: list[Criterion]
    judge_weight: float
    award_points: list[int]
    award_tag: str | None
    notify_purpose: str
    created_at: datetime
    updated_at: datetime

    def out(self) -> ContestOut:
        return ContestOut(**{f: getattr(self, f) for f in ContestOut.__struct_fields__})

    def due(self, at: datetime) -> str | None:
        """The phase the schedule moves this contest to at ``at``, if its current one has ended."""
        step = SCHEDULE.get(self.phase)
        if step is None:
            return None
        deadline = getattr(self, step[0])
        return step[1] if deadline is not None and deadline <= at else None


def to_contest(row: Any) -> Contest:
    return Contest(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        phase=row["phase"],
        submission_closes_at=scrm.as_datetime(row["submission_closes_at"]),
        voting_opens_at=scrm.as_datetime(row["voting_opens_at"]),
        voting_closes_at=scrm.as_datetime(row["voting_closes_at"]),
        judging_closes_at=scrm.as_datetime(row["judging_closes_at"]),
        moderate_all=bool(row["moderate_all"]),
        submissions_per_member=row["submissions_per_member"],
        media_per_submission=row["media_per_submission"],
        max_file_bytes=row["max_file_bytes"],
        allow_video=bool(row["allow_video"]),
        max_video_bytes=row["max_video_bytes"],
        votes_per_member=row["votes_per_member"],
        votes_per_submission=row["votes_per_submission"],
        votes_per_day=row["votes_per_day"],
        rubric=json_columns.rubric(row["rubric"]),
        judge_weight=row["judge_weight_pct"] / 100,
        award_points=json_columns.ints(row["award_points"]),
        award_tag=row["award_tag"],
        notify_purpose=row["notify_purpose"],
        created_at=scrm.as_datetime(row["created_at"]),
        updated_at=scrm.as_datetime(row["updated_at"]),
    )


async def _read(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int, lock: str = "") -> Contest:
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM contests_contest WHERE id = {{}} AND workspace = {{}}{lock}", contest_id, ws.id
    )
    if not rows:
        raise scrm.NotFound(f"No contest {contest_id} in this workspace", contest_id=contest_id)
    return to_contest(rows[0])


async def load(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int, *, lock: str = "") -> Contest:
    """The contest with its phase brought up to date by the schedule; 404 unless it is in this
    workspace. ``lock`` (``kernel.sql.for_update`` / ``for_share``) is for callers in a transaction."""
    contest = await _read(kernel, ws, contest_id, lock)
    at = datetime.now(UTC)
    while (to := contest.due(at)) is not None:
        await _move(kernel, ws, contest, to, "schedule", "")
        contest = await _read(kernel, ws, contest_id, lock)
    return contest


#: the first key of the contests' advisory locks (the second is the contest's id)
LOCK_CLASS = 0x5C0_7E57


async def in_phase(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int) -> Contest:
    """The contest read inside the caller's transaction so that its phase cannot change until that
    transaction ends: on PostgreSQL under a shared advisory lock of the contest, which a phase change
    takes exclusively (many votes share it cheaply, where ``FOR SHARE`` on the one contest row would
    make every vote rewrite the row's lockers); on SQLite the write transaction holds the database.
    A phase whose date has passed counts as ended here, though it is recorded by the next plain read
    (recording it here would take the exclusive lock while holding the shared one)."""
    if kernel.sql.postgres:
        await kernel.sql.fetch("SELECT pg_advisory_xact_lock_shared({}, {})", LOCK_CLASS, contest_id % 2**31)
    contest = await _read(kernel, ws, contest_id)
    at = datetime.now(UTC)
    while (to := contest.due(at)) is not None:  # ended by its date: say so, and leave the change to a plain read
        contest = replace(contest, phase=to)
    return contest


async def _move(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest: Contest, to: str, cause: str, actor: str) -> bool:
    """``contest.phase → to`` if it is still in that phase, with its history row; whether it moved.
    It waits for the transactions that read the phase with :func:`in_phase` (votes, submissions,
    scores in flight), so none of them lands in a phase that has ended."""
    at = datetime.now(UTC)
    async with kernel.db.transaction():
        if kernel.sql.postgres:
            await kernel.sql.fetch("SELECT pg_advisory_xact_lock({}, {})", LOCK_CLASS, contest.id % 2**31)
        moved = await kernel.sql.fetch(
            "UPDATE contests_contest SET phase = {}, updated_at = {} WHERE id = {} AND workspace = {} AND phase = {} "
            "RETURNING id",
            to,
            at,
            contest.id,
            ws.id,
            contest.phase,
        )
        if moved:
            await kernel.sql.fetch(
                "INSERT INTO contests_phase_change (workspace, contest, from_phase, to_phase, cause, actor, at) "
                "VALUES ({}, {}, {}, {}, {}, {}, {})",
                ws.id,
                contest.id,
                contest.phase,
                to,
                cause,
                actor,
                at,
            )
    return bool(moved)


async def advance(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int, to: Phase, actor: str) -> Contest:
    """An operator moves the contest forward (to any later phase) or cancels it; backwards, or
    anything after results, is a 409 naming the phase it is in."""
    contest = await load(kernel, ws, contest_id)
    allowed = (
        contest.phase not in ("results", "cancelled")
        if to == "cancelled"
        else contest.phase in PHASES and to in PHASES and PHASES.index(to) > PHASES.index(contest.phase)
    )
    if not allowed:
        raise WrongPhase(f"A contest in {contest.phase} cannot move to {to}", phase=contest.phase)
    if not await _move(kernel, ws, contest, to, "operator", actor):
        current = await load(kernel, ws, contest_id)
        raise WrongPhase(f"The contest moved to {current.phase} meanwhile", phase=current.phase)
    return await load(kernel, ws, contest_id)


async def history(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int) -> list[PhaseChangeOut]:
    await load(kernel, ws, contest_id)
    rows = await kernel.sql.fetch(
        "SELECT id, from_phase, to_phase, cause, actor, at FROM contests_phase_change WHERE contest = {} "
        "AND workspace = {} ORDER BY id",
        contest_id,
        ws.id,
    )
    return [
        PhaseChangeOut(r["id"], r["from_phase"], r["to_phase"], r["cause"], r["actor"], scrm.as_datetime(r["at"]))
        for r in rows
    ]


async def listing(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, phase: Phase | None, cursor: str | None, limit: int
) -> scrm.Page[ContestOut]:
    """Contests, newest first, optionally in one phase (as stored: a listing does not move phases)."""
    before = kernel.cursors.decode("contests", cursor)
    conditions, args = ["workspace = {}"], [ws.id]
    if before:
        conditions.append("id < {}")
        args.append(before)
    if phase is not None:
        conditions.append("phase = {}")
        args.append(phase)  # type: ignore[arg-type]
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM contests_contest WHERE {' AND '.join(conditions)} ORDER BY id DESC LIMIT {{}}",
        *args,
        limit + 1,
    )
    contests = [to_contest(r) for r in rows]
    return kernel.cursors.page("contests", [c.out() for c in contests], [c.id for c in contests], limit)


async def check(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: ContestIn) -> None:
    """What the types cannot say, all problems at once as one 422: dates in order, rubric names
    unique, a notify purpose this workspace has."""
    errors = []
    if data.voting_opens_at < data.submission_closes_at:
        errors.append(scrm.field_error("voting_opens_at", "must not be before submission_closes_at"))
    if data.voting_closes_at <= data.voting_opens_at:
        errors.append(scrm.field_error("voting_closes_at", "must be after voting_opens_at"))
    if data.judging_closes_at is not None and data.judging_closes_at <= data.voting_closes_at:
        errors.append(scrm.field_error("judging_closes_at", "must be after voting_closes_at"))
    names = [c.name for c in data.rubric]
    if len(set(names)) != len(names):
        errors.append(scrm.field_error("rubric", "each criterion needs its own name"))
    if data.judge_weight > 0 and not data.rubric:
        errors.append(scrm.field_error("rubric", "judges need a rubric (or set judge_weight to 0)"))
    purposes = {p.name for p in await kernel.consents.purposes.list(ws)}
    if data.notify_purpose not in purposes:
        errors.append(
            scrm.field_error("notify_purpose", f"no consent purpose {data.notify_purpose!r} in this workspace")
        )
    if errors:
        raise scrm.invalid_fields(errors)


def _values(data: ContestIn) -> list[Any]:
    return [
        data.name,
        data.description,
        data.submission_closes_at,
        data.voting_opens_at,
        data.voting_closes_at,
        data.judging_closes_at,
        data.moderate_all,
        data.submissions_per_member,
        data.media_per_submission,
        data.max_file_bytes,
        data.allow_video,
        data.max_video_bytes,
        data.votes_per_member,
        data.votes_per_submission,
        data.votes_per_day,
        json_columns.json_text(data.rubric),
        round(data.judge_weight * 100),
        json_columns.json_text(data.award_points),
        data.award_tag,
        data.notify_purpose,
    ]


SETTABLE = (
    "name, description, submission_closes_at, voting_opens_at, voting_closes_at, judging_closes_at, moderate_all, "
    "submissions_per_member, media_per_submission, max_file_bytes, allow_video, max_video_bytes, votes_per_member, "
    "votes_per_submission, votes_per_day, rubric, judge_weight_pct, award_points, award_tag, notify_purpose"
)


async def insert(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: ContestIn) -> int:
    """Store a checked contest as a draft (inside the caller's transaction)."""
    at = datetime.now(UTC)
    rows = await kernel.sql.fetch(
        f"INSERT INTO contests_contest (workspace, phase, {SETTABLE}, created_at, updated_at) VALUES "
        f"({{}}, 'draft', {', '.join('{}' for _ in SETTABLE.split(','))}, {{}}, {{}}) RETURNING id",
        ws.id,
        *_values(data),
        at,
        at,
    )
    contest_id: int = rows[0]["id"]
    return contest_id


async def create(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: ContestIn) -> Contest:
    await check(kernel, ws, data)
    async with kernel.db.transaction():
        contest_id = await insert(kernel, ws, data)
    return await load(kernel, ws, contest_id)


def as_input(contest: Contest) -> ContestIn:
    return ContestIn(**{f: getattr(contest, f) for f in ContestIn.__struct_fields__})


async def update(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int, patch: ContestPatch) -> Contest:
    """Apply a patch: anything in a draft; once submissions opened only the name, description and
    dates (:data:`CHANGEABLE_WHEN_OPEN`); after results or cancelled only the name and description.
    Anything else is a 409 naming the fields."""
    changed = scrm.sent_fields(patch)
    current = await load(kernel, ws, contest_id)
    merged = msgspec.structs.replace(as_input(current), **changed)
    await check(kernel, ws, merged)
    async with kernel.db.transaction():
        contest = await load(kernel, ws, contest_id, lock=kernel.sql.for_update)
        if contest.phase == "draft":
            allowed: frozenset[str] | None = None
        elif contest.phase in ("results", "cancelled"):
            allowed = frozenset({"name", "description"})
        else:
            allowed = CHANGEABLE_WHEN_OPEN
        refused = sorted(set(changed) - allowed) if allowed is not None else []
        if refused:
            raise ContestLocked(
                f"The contest is in {contest.phase}; {', '.join(refused)} can no longer change",
                errors=[scrm.field_error(f, f"cannot change once the contest is in {contest.phase}") for f in refused],
            )
        await kernel.sql.fetch(
            "UPDATE contests_contest SET "
            + ", ".join(f"{c.strip()} = {{}}" for c in SETTABLE.split(","))
            + ", updated_at = {} WHERE id = {} AND workspace = {}",
            *_values(merged),
            datetime.now(UTC),
            contest_id,
            ws.id,
        )
    return await load(kernel, ws, contest_id)
