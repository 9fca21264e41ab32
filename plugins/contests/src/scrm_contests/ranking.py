"""The final ranking, as a pure function of exported data, so anyone can re-run it.

For each approved submission:

- its **judge score** is the mean, over the judges who scored it, of each judge's weighted rubric
  score ``Σ weightᵢ · markᵢ / maxᵢ ÷ Σ weightᵢ`` (0 to 1; no judge: 0);
- its **vote share** is its valid (unvoided) votes divided by the most votes any approved submission
  got (0 when nobody voted);
- its **final score** is ``judge_weight · judge score + (1 − judge_weight) · vote share``.

**Tie rule**: a higher final score ranks first; then a higher judge score; then more votes; then the
earlier submission (the smaller id). Every rank is distinct. Arithmetic is exact (fractions), so the
order never depends on floating-point rounding; scores are shown rounded to six places.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from scrm_contests.schemas import Criterion, RankedOut

TIE_RULE = "final score, then judge score, then votes (all higher first), then the earlier submission (smaller id)"


def judge_score(rubric: list[Criterion], marks: dict[str, int]) -> Fraction:
    """One judge's weighted rubric score of one submission, 0 to 1."""
    total = sum(c.weight for c in rubric)
    if not total:
        return Fraction(0)
    return sum((Fraction(c.weight * min(marks.get(c.name, 0), c.max), c.max) for c in rubric), Fraction(0)) / total


def rank(
    rubric: list[Criterion],
    judge_weight: Fraction,
    submissions: list[dict[str, Any]],
    scores: list[dict[str, Any]],
) -> list[RankedOut]:
    """The ranking of ``submissions`` (``id``, ``member_id``, ``title``, ``votes``) from the judges'
    ``scores`` (``submission_id``, ``marks``)."""
    by_submission: dict[int, list[Fraction]] = {}
    for s in scores:
        by_submission.setdefault(s["submission_id"], []).append(judge_score(rubric, s["marks"]))
    most = max((s["votes"] for s in submissions), default=0)
    rows = []
    for s in submissions:
        marks = by_submission.get(s["id"], [])
        judged = sum(marks, Fraction(0)) / len(marks) if marks else Fraction(0)
        share = Fraction(s["votes"], most) if most else Fraction(0)
        final = judge_weight * judged + (1 - judge_weight) * share
        rows.append((final, judged, share, len(marks), s))
    rows.sort(key=lambda r: (-r[0], -r[1], -r[4]["votes"], r[4]["id"]))
    return [
        RankedOut(
            rank=i,
            submission_id=s["id"],
            member_id=s["member_id"],
            title=s["title"],
            votes=s["votes"],
            judge_score=round(float(judged), 6),
            judges=judges,
            vote_share=round(float(share), 6),
            final=round(float(final), 6),
        )
        for i, (final, judged, share, judges, s) in enumerate(rows, 1)
    ]


def weight(pct: float) -> Fraction:
    """A contest's judge weight (as the API shows it) as an exact fraction of whole percents."""
    return Fraction(round(pct * 100), 100)
