"""Results: the ranking (from :mod:`scrm_contests.ranking`), its export, and the awards.

The export holds everything the ranking is a function of — the rubric, the judge weight, every
approved submission's valid votes and every judge's marks — and the ranking itself; ``scrm contests
rank FILE`` recomputes the ranking from the file and checks it matches.

Awards (``POST …/awards``, in results): the first ``len(award_points)`` places (at least one when
the contest gives a tag) are written once (one row per rank: a unique index); each winner receives
their points through the points plugin's service when it is enabled here (once per contest and rank:
the reference makes a repeat a no-op), the contest's tag, and — only if ``kernel.consents.decide``
allows contacting them for the contest's ``notify_purpose`` — a ``contests.notify`` event, the fact a
channel plugin acts on. Those who may not be contacted stay listed with ``contactable`` false; a later
call asks again about everyone not yet notified.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
import scrm

from scrm_contests import contests, json_columns, ranking
from scrm_contests.contests import Contest
from scrm_contests.problems import WrongPhase
from scrm_contests.schemas import AwardOut, Criterion, RankedOut, ResultsOut


class PointsGiver(Protocol):
    """The part of the points plugin's public service the contests use."""

    async def award(
        self, ws: scrm.WorkspaceRef, member_id: int, amount: int, *, reason: str, reference: str
    ) -> int: ...


def points_of(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> PointsGiver | None:
    """The points service of the workspace, or None when points is not installed or not enabled there."""
    service: PointsGiver | None = kernel.service("points", ws)
    return service


class ExportedSubmission(msgspec.Struct):
    id: int
    member_id: int
    title: str
    votes: int
    created_at: str


class ExportedScore(msgspec.Struct):
    submission_id: int
    judge: str
    marks: dict[str, int]


class Export(msgspec.Struct):
    """What the ranking is computed from, and the ranking (``scrm contests rank`` checks it)."""

    contest_id: int
    name: str
    phase: str
    rubric: list[Criterion]
    judge_weight: float
    tie_rule: str
    submissions: list[ExportedSubmission]
    scores: list[ExportedScore]
    ranking: list[RankedOut]


async def _inputs(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest: Contest
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    subs = await kernel.sql.fetch(
        "SELECT id, member_id, title, votes, created_at FROM contests_submission WHERE contest = {} AND workspace = {} "
        "AND status = 'approved' ORDER BY id",
        contest.id,
        ws.id,
    )
    rows = await kernel.sql.fetch(
        "SELECT s.submission, s.judge, s.marks FROM contests_score s JOIN contests_submission b ON b.id = s.submission "
        "WHERE s.contest = {} AND s.workspace = {} AND b.status = 'approved' ORDER BY s.submission, s.judge",
        contest.id,
        ws.id,
    )
    submissions = [
        {
            "id": r["id"],
            "member_id": r["member_id"],
            "title": r["title"],
            "votes": int(r["votes"]),
            "created_at": scrm.as_datetime(r["created_at"]).isoformat(),
        }
        for r in subs
    ]
    scores = [
        {"submission_id": r["submission"], "judge": r["judge"], "marks": json_columns.marks(r["marks"])} for r in rows
    ]
    return submissions, scores


def _require_results(contest: Contest) -> None:
    if contest.phase != "results":
        raise WrongPhase(f"The ranking is published in results; the contest is in {contest.phase}", phase=contest.phase)


async def results(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int) -> ResultsOut:
    contest = await contests.load(kernel, ws, contest_id)
    _require_results(contest)
    submissions, scores = await _inputs(kernel, ws, contest)
    ranked = ranking.rank(contest.rubric, ranking.weight(contest.judge_weight), submissions, scores)
    return ResultsOut(contest.id, contest.phase, contest.judge_weight, ranking.TIE_RULE, ranked)  # type: ignore[arg-type]


async def export(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int) -> Export:
    contest = await contests.load(kernel, ws, contest_id)
    _require_results(contest)
    submissions, scores = await _inputs(kernel, ws, contest)
    return Export(
        contest_id=contest.id,
        name=contest.name,
        phase=contest.phase,
        rubric=contest.rubric,
        judge_weight=contest.judge_weight,
        tie_rule=ranking.TIE_RULE,
        submissions=[ExportedSubmission(**s) for s in submissions],
        scores=[ExportedScore(**s) for s in scores],
        ranking=ranking.rank(contest.rubric, ranking.weight(contest.judge_weight), submissions, scores),
    )


def recompute(bundle: Export) -> list[RankedOut]:
    """The ranking an export's data gives (what ``scrm contests rank`` compares with its ``ranking``)."""
    return ranking.rank(
        bundle.rubric,
        ranking.weight(bundle.judge_weight),
        [msgspec.structs.asdict(s) for s in bundle.submissions],
        [msgspec.structs.asdict(s) for s in bundle.scores],
    )


def places(contest: Contest) -> int:
    """How many places are awarded."""
    return max(len(contest.award_points), 1 if contest.award_tag else 0)


async def award(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int) -> list[AwardOut]:
    """Write the winners once, give points and the tag, then tell those who may be contacted."""
    contest = await contests.load(kernel, ws, contest_id)
    _require_results(contest)
    ranked = (await results(kernel, ws, contest_id)).ranking[: places(contest)]
    points = points_of(kernel, ws)
    at = datetime.now(UTC)
    async with kernel.db.transaction():
        for r in ranked:
            amount = contest.award_points[r.rank - 1] if r.rank <= len(contest.award_points) else 0
            created = await kernel.sql.fetch(
                "INSERT INTO contests_award (workspace, contest, rank, submission, member_id, points, created_at) "
                "VALUES ({}, {}, {}, {}, {}, {}, {}) ON CONFLICT (contest, rank) DO NOTHING RETURNING id",
                ws.id,
                contest.id,
                r.rank,
                r.submission_id,
                r.member_id,
                amount if points is not None else 0,
                at,
            )
            if not created:
                continue
            if amount and points is not None:
                await points.award(
                    ws,
                    r.member_id,
                    amount,
                    reason=f"contest: {contest.name} (#{r.rank})",
                    reference=f"contests:{contest.id}:rank:{r.rank}",
                )
            if contest.award_tag:
                await kernel.tags.ensure(ws, [contest.award_tag])
                await kernel.tags.attach(ws, [r.member_id], [contest.award_tag])
    await notify(kernel, ws, contest)
    return await awards(kernel, ws, contest_id)


async def notify(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest: Contest) -> None:
    """Ask the consent door about every winner not yet notified; record ``contests.notify`` for the
    contactable ones (outside any transaction: the door runs plugins' vetoes)."""
    rows = await kernel.sql.fetch(
        "SELECT id, rank, submission, member_id, points FROM contests_award WHERE contest = {} AND workspace = {} "
        "AND notified_at IS NULL ORDER BY rank",
        contest.id,
        ws.id,
    )
    answers = []
    for row in rows:
        try:
            allowed = (await kernel.consents.decide(ws, row["member_id"], contest.notify_purpose)).allowed
        except scrm.Problem:  # the member or the purpose is gone
            allowed = False
        answers.append((row, allowed))
    at = datetime.now(UTC)
    async with kernel.db.transaction():
        reached = [row for row, allowed in answers if allowed]
        if reached:
            await kernel.events.record(
                ws,
                [
                    scrm.NewEvent(
                        row["member_id"],
                        "contests.notify",
                        {
                            "contest_id": contest.id,
                            "contest": contest.name,
                            "rank": row["rank"],
                            "submission_id": row["submission"],
                            "points": row["points"],
                            "purpose": contest.notify_purpose,
                        },
                        source="contests",
                        idempotency_key=f"contests.notify:{contest.id}:{row['rank']}",
                    )
                    for row in reached
                ],
            )
        for row, allowed in answers:
            await kernel.sql.fetch(
                "UPDATE contests_award SET contactable = {}, notified_at = {} WHERE id = {} AND workspace = {}",
                allowed,
                at if allowed else None,
                row["id"],
                ws.id,
            )


async def awards(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int) -> list[AwardOut]:
    await contests.load(kernel, ws, contest_id)
    rows = await kernel.sql.fetch(
        "SELECT rank, submission, member_id, points, contactable, notified_at FROM contests_award WHERE contest = {} "
        "AND workspace = {} ORDER BY rank",
        contest_id,
        ws.id,
    )
    return [
        AwardOut(
            r["rank"],
            r["submission"],
            r["member_id"],
            r["points"],
            None if r["contactable"] is None else bool(r["contactable"]),
            scrm.as_datetime(r["notified_at"]),
        )
        for r in rows
    ]
