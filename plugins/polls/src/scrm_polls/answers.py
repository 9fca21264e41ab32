"""Checking a ballot's answers against its poll. Every problem is reported at once, as one 422 whose
errors name the answer's field (``answers[2].option_ids``) and, in the message, the question (its
position and title): an option not of the question, too few or too many choices, a score outside
the scale, text too long, an answer of the wrong shape, a question answered twice, a required
question left out."""

from __future__ import annotations

from dataclasses import dataclass

import scrm

from scrm_polls.polls import Poll
from scrm_polls.schemas import CHOICE_KINDS, SCALES, AnswerIn, QuestionOut


@dataclass(frozen=True)
class Checked:
    """One answer as stored: a question with an option, a score or a text."""

    question: int
    option_id: int | None = None
    score: int | None = None
    text: str | None = None


def named(q: QuestionOut) -> str:
    return f"question {q.position + 1} ({q.title!r})"


def _one(i: int, q: QuestionOut, a: AnswerIn) -> tuple[list[Checked], list[dict[str, str]]]:
    at, who = f"answers[{i}]", named(q)
    wrong = [
        name
        for name, given in (("option_ids", a.option_ids), ("score", a.score), ("text", a.text))
        if given is not None and name != _field(q)
    ]
    if wrong:
        return [], [scrm.field_error(f"{at}.{wrong[0]}", f"{who} is a {q.kind} question: give {_field(q)} only")]
    if q.kind in CHOICE_KINDS:
        chosen = list(dict.fromkeys(a.option_ids or []))
        known = {o.id for o in q.options}
        unknown = [o for o in chosen if o not in known]
        if unknown:
            return [], [scrm.field_error(f"{at}.option_ids", f"{who} has no option {unknown[0]}")]
        low, high = q.min_choices or 0, q.max_choices if q.max_choices is not None else len(q.options)
        if q.kind == "single" and len(chosen) != 1:
            return [], [scrm.field_error(f"{at}.option_ids", f"{who} takes exactly one option")]
        if len(chosen) > high:
            return [], [scrm.field_error(f"{at}.option_ids", f"{who} takes at most {high} options")]
        if len(chosen) < max(low, 1):
            return [], [scrm.field_error(f"{at}.option_ids", f"{who} takes at least {max(low, 1)} options")]
        return [Checked(q.id, option_id=o) for o in chosen], []
    if q.kind in SCALES:
        low, high = SCALES[q.kind]
        if a.score is None or not low <= a.score <= high:
            return [], [scrm.field_error(f"{at}.score", f"{who} takes a score from {low} to {high}")]
        return [Checked(q.id, score=a.score)], []
    text = (a.text or "").strip()
    if not text:
        return [], [scrm.field_error(f"{at}.text", f"{who} takes some text")]
    if len(text) > (q.max_length or 0):
        return [], [scrm.field_error(f"{at}.text", f"{who} takes at most {q.max_length} characters")]
    return [Checked(q.id, text=text)], []


def _field(q: QuestionOut) -> str:
    return "option_ids" if q.kind in CHOICE_KINDS else "score" if q.kind in SCALES else "text"


def check(poll: Poll, answers: list[AnswerIn]) -> list[Checked]:
    """The answers as rows to store, or a 422 naming every question answered wrongly."""
    rows: list[Checked] = []
    errors: list[dict[str, str]] = []
    seen: set[int] = set()
    for i, a in enumerate(answers):
        q = poll.question(a.question_id)
        if q is None:
            errors.append(scrm.field_error(f"answers[{i}].question_id", f"the poll has no question {a.question_id}"))
            continue
        if q.id in seen:
            errors.append(scrm.field_error(f"answers[{i}].question_id", f"{named(q)} is answered twice"))
            continue
        seen.add(q.id)
        checked, wrong = _one(i, q, a)
        rows += checked
        errors += wrong
    for q in poll.questions:
        if q.required and q.id not in seen:
            errors.append(scrm.field_error("answers", f"{named(q)} is required (question_id {q.id})"))
    if not answers and not errors:
        errors.append(scrm.field_error("answers", "a ballot answers at least one question"))
    if errors:
        raise scrm.invalid_fields(errors)
    return rows
