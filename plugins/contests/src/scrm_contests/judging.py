"""Judging: judges mark approved submissions against the contest's rubric while it is in its judging
phase. A judge is whoever holds ``contests:judge`` — in the console a person with the workspace role
``judge`` (or an owner or operator), through the API a key — and is identified as ``operator:<id>`` or
``key:<id>``; one score per judge and submission (a unique index: marking again replaces it).

Secrecy: until the contest reaches ``results`` a judge sees only their own scores — nobody, operators
included, can read another judge's marks through the plugin before judging closes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import scrm

from scrm_contests import contests, json_columns
from scrm_contests.contests import Contest
from scrm_contests.problems import WrongPhase
from scrm_contests.ranking import judge_score
from scrm_contests.schemas import ScoreIn, ScoreOut

PPM = 1_000_000


def check_marks(contest: Contest, data: ScoreIn) -> None:
    """Exactly the rubric's criteria, each within its maximum (one 422 naming every wrong mark)."""
    errors = []
    names = {c.name: c for c in contest.rubric}
    for name in sorted(set(names) - set(data.marks)):
        errors.append(scrm.field_error(f"marks.{name}", "missing"))
    for name, mark in sorted(data.marks.items()):
        criterion = names.get(name)
        if criterion is None:
            errors.append(scrm.field_error(f"marks.{name}", "not a criterion of this contest's rubric"))
        elif mark > criterion.max:
            errors.append(scrm.field_error(f"marks.{name}", f"at most {criterion.max}"))
    if errors:
        raise scrm.invalid_fields(errors)


async def score(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int, submission_id: int, judge: str, data: ScoreIn
) -> ScoreOut:
    contest = await contests.load(kernel, ws, contest_id)
    if contest.phase != "judging":
        raise WrongPhase(f"Judges score in the judging phase; the contest is in {contest.phase}", phase=contest.phase)
    check_marks(contest, data)
    total = judge_score(contest.rubric, data.marks)
    at = datetime.now(UTC)
    async with kernel.db.transaction():
        current = await contests.in_phase(kernel, ws, contest_id)
        if current.phase != "judging":
            raise WrongPhase(f"Judging closed; the contest is in {current.phase}", phase=current.phase)
        found = await kernel.sql.fetch(
            "SELECT id FROM contests_submission WHERE id = {} AND contest = {} AND workspace = {} AND status = 'approved'",
            submission_id,
            contest_id,
            ws.id,
        )
        if not found:
            raise scrm.NotFound(f"No approved submission {submission_id} in this contest", submission_id=submission_id)
        await kernel.sql.fetch(
            "INSERT INTO contests_score (workspace, contest, submission, judge, marks, total_ppm, comment, updated_at) "
            "VALUES ({}, {}, {}, {}, {}, {}, {}, {}) ON CONFLICT (submission, judge) DO UPDATE SET marks = EXCLUDED.marks, "
            "total_ppm = EXCLUDED.total_ppm, comment = EXCLUDED.comment, updated_at = EXCLUDED.updated_at",
            ws.id,
            contest_id,
            submission_id,
            judge,
            json_columns.json_text(dict(sorted(data.marks.items()))),
            round(total * PPM),
            data.comment,
            at,
        )
    return ScoreOut(submission_id, judge, dict(sorted(data.marks.items())), round(float(total), 6), data.comment, at)


def _out(row: Any, contest: Contest) -> ScoreOut:
    marks = json_columns.marks(row["marks"])
    return ScoreOut(
        row["submission"],
        row["judge"],
        marks,
        round(float(judge_score(contest.rubric, marks)), 6),
        row["comment"],
        scrm.as_datetime(row["updated_at"]),
    )


async def scores(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int, judge: str | None) -> list[ScoreOut]:
    """Scores of the contest: before results only ``judge``'s own (none for None); in results all."""
    contest = await contests.load(kernel, ws, contest_id)
    everyone = contest.phase == "results"
    if not everyone and judge is None:
        return []
    extra = "" if everyone else " AND judge = {}"
    rows = await kernel.sql.fetch(
        f"SELECT submission, judge, marks, comment, updated_at FROM contests_score WHERE contest = {{}} AND workspace = {{}}{extra} "
        "ORDER BY submission, judge",
        contest_id,
        ws.id,
        *([] if everyone else [judge]),
    )
    return [_out(r, contest) for r in rows]
