"""A poll's results: counts and percentages per option, the spread and mean of ratings, NPS, free
texts shown — from the live counts (:mod:`scrm_polls.tally`), so they cost the same at a million
ballots as at ten; breakdowns by a tag group (aggregated from the answers and the tags voters
carried when they voted); and both as CSV.

Percentages are of those who answered the question (a multiple-choice question's add up to more than
100). NPS = % promoters (9–10) − % detractors (0–6), with the three shares (PRODUCT.md §7).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

import scrm
from litestar import Response

from scrm_polls import polls, tally
from scrm_polls.polls import Poll
from scrm_polls.schemas import (
    CHOICE_KINDS,
    SCALES,
    Breakdown,
    NpsResult,
    OptionResult,
    QuestionOut,
    QuestionResult,
    Results,
    ScoreCount,
    Segment,
)

MAX_SEGMENTS = 100  # tags of one group shown in a breakdown


def percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def nps(scores: Mapping[int, int]) -> NpsResult:
    """The Net Promoter Score of a count of 0–10 scores."""
    promoters = sum(n for s, n in scores.items() if s >= 9)
    detractors = sum(n for s, n in scores.items() if s <= 6)
    passives = sum(n for s, n in scores.items() if 7 <= s <= 8)
    total = promoters + passives + detractors
    promoting, detracting = percent(promoters, total), percent(detractors, total)
    score = round(100 * (promoters - detractors) / total, 1) if total else 0.0
    return NpsResult(
        score=score,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        promoters_percent=promoting,
        passives_percent=percent(passives, total),
        detractors_percent=detracting,
    )


def question_result(q: QuestionOut, counts: Mapping[tally.Key, int], texts: int = 0) -> QuestionResult:
    answered = counts.get((q.id, tally.ANSWERED), 0)
    options: list[OptionResult] = []
    scores: list[ScoreCount] = []
    mean = None
    if q.kind in CHOICE_KINDS:
        options = [
            OptionResult(
                option_id=o.id,
                label=o.label,
                count=counts.get((q.id, o.id), 0),
                percent=percent(counts.get((q.id, o.id), 0), answered),
            )
            for o in q.options
        ]
    elif q.kind in SCALES:
        low, high = SCALES[q.kind]
        scores = [ScoreCount(score=s, count=counts.get((q.id, s), 0)) for s in range(low, high + 1)]
        given = sum(s.count for s in scores)
        mean = round(sum(s.score * s.count for s in scores) / given, 2) if given else None
    spread = {s.score: s.count for s in scores}
    return QuestionResult(
        question_id=q.id,
        position=q.position,
        kind=q.kind,
        title=q.title,
        answered=answered,
        options=options,
        scores=scores,
        mean=mean,
        nps=nps(spread) if q.kind == "nps" else None,
        texts=texts,
    )


async def visible_texts(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll: Poll) -> dict[int, int]:
    """Free texts shown, per question (only polls with text questions ask)."""
    if not any(q.kind == "text" for q in poll.questions):
        return {}
    rows = await kernel.sql.fetch(
        "SELECT question, COUNT(*) AS n FROM polls_answer WHERE poll = {} AND workspace = {} AND status = 'visible' "
        "GROUP BY question",
        poll.id,
        ws.id,
    )
    return {int(r["question"]): int(r["n"]) for r in rows}


async def results(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll_id: int) -> Results:
    poll = await polls.get(kernel, ws, poll_id)
    counts = await tally.read(kernel, ws, poll_id)
    texts = await visible_texts(kernel, ws, poll)
    return Results(
        poll_id=poll.id,
        state=poll.state,  # type: ignore[arg-type]
        ballots=counts.get(tally.BALLOTS, 0),
        questions=[question_result(q, counts, texts.get(q.id, 0)) for q in poll.questions],
    )


async def breakdown(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll_id: int, group: str) -> Breakdown:
    """The results per tag of ``group``, among the ballots of members who carried the tag when they
    voted (a member with two tags of the group counts in both segments)."""
    poll = await polls.get(kernel, ws, poll_id)
    tags = [t.name for t in await kernel.tags.list(ws, group)][:MAX_SEGMENTS]
    counts: dict[str, dict[tally.Key, int]] = {t: {} for t in tags}
    if tags:
        condition, names = kernel.sql.any_of("t.tag", tags, "text")
        joined = (
            "FROM polls_answer a JOIN polls_ballot_tag t ON t.ballot = a.ballot "
            f"WHERE a.poll = {{}} AND a.workspace = {{}} AND t.poll = {{}} AND {condition}"
        )
        rows = await kernel.sql.fetch(
            f"SELECT t.tag, a.question, a.option_id, a.score, COUNT(*) AS n {joined} "
            "GROUP BY t.tag, a.question, a.option_id, a.score",
            poll_id,
            ws.id,
            poll_id,
            names,
        )
        for r in rows:
            value = r["option_id"] if r["option_id"] is not None else r["score"]
            if value is not None:
                counts[r["tag"]][(int(r["question"]), int(value))] = int(r["n"])
        answered = await kernel.sql.fetch(
            f"SELECT t.tag, a.question, COUNT(DISTINCT a.ballot) AS n {joined} GROUP BY t.tag, a.question",
            poll_id,
            ws.id,
            poll_id,
            names,
        )
        for r in answered:
            counts[r["tag"]][(int(r["question"]), tally.ANSWERED)] = int(r["n"])
        ballots = await kernel.sql.fetch(
            f"SELECT t.tag, COUNT(*) AS n FROM polls_ballot_tag t WHERE t.poll = {{}} AND t.workspace = {{}} "
            f"AND {condition} GROUP BY t.tag",
            poll_id,
            ws.id,
            names,
        )
        for r in ballots:
            counts[r["tag"]][tally.BALLOTS] = int(r["n"])
    total = (await tally.read(kernel, ws, poll_id)).get(tally.BALLOTS, 0)
    return Breakdown(
        poll_id=poll_id,
        group=group,
        ballots=total,
        segments=[
            Segment(
                tag=tag,
                ballots=counts[tag].get(tally.BALLOTS, 0),
                questions=[question_result(q, counts[tag]) for q in poll.questions],
            )
            for tag in tags
        ],
    )


# --- CSV --------------------------------------------------------------------------------------------


def csv_file(text: str, name: str) -> Response[bytes]:
    """CSV as a download, with a byte-order mark so that spreadsheets read Chinese text right (the
    API's and the console's exports alike)."""
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(("\ufeff" + text).encode(), media_type="text/csv; charset=utf-8", headers=headers)


RESULT_HEADER = ["question", "kind", "title", "answer", "count", "percent"]


def results_csv(result: Results) -> str:
    """The results as CSV: one row per option or score, then NPS and mean rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(RESULT_HEADER)
    for q in result.questions:
        head = [q.position + 1, q.kind, _safe(q.title)]
        for o in q.options:
            writer.writerow([*head, _safe(o.label), o.count, o.percent])
        for s in q.scores:
            writer.writerow([*head, s.score, s.count, percent(s.count, q.answered)])
        if q.mean is not None:
            writer.writerow([*head, "mean", q.mean, ""])
        if q.nps is not None:
            writer.writerow([*head, "promoters", q.nps.promoters, q.nps.promoters_percent])
            writer.writerow([*head, "passives", q.nps.passives, q.nps.passives_percent])
            writer.writerow([*head, "detractors", q.nps.detractors, q.nps.detractors_percent])
            writer.writerow([*head, "nps", q.nps.score, ""])
        if q.kind == "text":
            writer.writerow([*head, "texts shown", q.texts, ""])
        writer.writerow([*head, "answered", q.answered, percent(q.answered, result.ballots)])
    return out.getvalue()


async def ballots_csv(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll_id: int) -> str:
    """Every ballot as one CSV row (a column per question: option labels joined by ``; ``, the
    score, or the text when it is shown); the member's id only in an attributed poll."""
    poll = await polls.get(kernel, ws, poll_id)
    labels = {o.id: o.label for q in poll.questions for o in q.options}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["ballot", *([] if poll.anonymous else ["member_id"]), "voted_at", *(_safe(q.title) for q in poll.questions)]
    )
    rows = await kernel.sql.fetch(
        "SELECT b.id, b.member_id, b.created_at, a.question, a.option_id, a.score, a.text, a.status "
        "FROM polls_ballot b LEFT JOIN polls_answer a ON a.ballot = b.id WHERE b.poll = {} AND b.workspace = {} "
        "ORDER BY b.id, a.id",
        poll_id,
        ws.id,
    )
    current: int | None = None
    cells: dict[int, list[str]] = {}
    head: list[object] = []

    def flush() -> None:
        if current is not None:
            writer.writerow([*head, *("; ".join(cells.get(q.id, [])) for q in poll.questions)])

    for r in rows:
        if r["id"] != current:
            flush()
            current, cells = r["id"], {}
            voted = scrm.as_datetime(r["created_at"]).isoformat()
            head = [r["id"], *([] if poll.anonymous else [r["member_id"] or ""]), voted]
        if r["question"] is None:
            continue
        if r["option_id"] is not None:
            cell = labels.get(r["option_id"], str(r["option_id"]))
        elif r["score"] is not None:
            cell = str(r["score"])
        else:
            cell = r["text"] if r["status"] == "visible" and r["text"] else ""
        cells.setdefault(int(r["question"]), []).append(_safe(cell))
    flush()
    return out.getvalue()


def _safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
