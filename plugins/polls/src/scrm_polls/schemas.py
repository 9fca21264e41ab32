"""What the polls API takes and returns (msgspec structs; bodies forbid unknown fields and bound every
string and list, so malformed input is a 422 naming the field). What a type cannot say — an option
that is not the question's, too many choices, a score out of range — is checked against the poll
and reported as a 422 naming the question (:mod:`scrm_polls.answers`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
import scrm
from msgspec import UNSET, Meta, UnsetType

TagName = Annotated[str, Meta(min_length=1, max_length=100)]
TagList = Annotated[list[TagName], Meta(max_length=50)]
Purpose = Annotated[str, Meta(min_length=1, max_length=100)]
Moment = Annotated[datetime, Meta(tz=True)]
Label = Annotated[str, Meta(min_length=1, max_length=200)]
Title = Annotated[str, Meta(min_length=1, max_length=500)]
Choices = Annotated[int, Meta(ge=0, le=50)]
TextLength = Annotated[int, Meta(ge=1, le=2000)]
Reward = Annotated[int, Meta(ge=0, le=1_000_000)]
#: a score as sent: bounded only loosely, so that an out-of-range score is refused naming its question
Score = Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]
Kind = Literal["single", "multiple", "rating", "nps", "text"]
State = Literal["draft", "scheduled", "open", "closed"]
TextStatus = Literal["visible", "held", "removed"]
Decision = Literal["release", "remove"]

CHOICE_KINDS = ("single", "multiple")
#: the scores a rating and an NPS question take
SCALES = {"rating": (1, 5), "nps": (0, 10)}
DEFAULT_TEXT_LENGTH = 500
MAX_QUESTIONS = 50
MAX_OPTIONS = 50


class QuestionIn(msgspec.Struct, forbid_unknown_fields=True):
    """A question. Choice questions (``single``, ``multiple``) list 2–50 ``options``; a ``multiple``
    question may bound the options chosen (``min_choices``, ``max_choices``); ``rating`` takes 1–5,
    ``nps`` 0–10, ``text`` up to ``max_length`` characters (passed through moderation)."""

    kind: Kind
    title: Title
    options: Annotated[list[Label], Meta(max_length=MAX_OPTIONS)] = msgspec.field(default_factory=list)
    required: bool = True
    min_choices: Choices | None = None
    max_choices: Choices | None = None
    max_length: TextLength = DEFAULT_TEXT_LENGTH


Questions = Annotated[list[QuestionIn], Meta(min_length=1, max_length=MAX_QUESTIONS)]


class PollIn(msgspec.Struct, forbid_unknown_fields=True):
    name: scrm.Name
    questions: Questions
    description: scrm.Text = ""
    opens_at: Moment | None = None
    closes_at: Moment | None = None
    anonymous: bool = False
    tags_required: TagList = msgspec.field(default_factory=list)
    tags_excluded: TagList = msgspec.field(default_factory=list)
    consent_purpose: Purpose | None = None
    points_reward: Reward = 0


class PollPatch(msgspec.Struct, forbid_unknown_fields=True):
    """A change to a poll: fields left out stay as they are. Once the poll is no longer a draft only
    ``name``, ``description`` and ``closes_at`` may change (the rest would change who votes on what)."""

    name: scrm.Name | UnsetType = UNSET
    questions: Questions | UnsetType = UNSET
    description: scrm.Text | UnsetType = UNSET
    opens_at: Moment | UnsetType | None = UNSET
    closes_at: Moment | UnsetType | None = UNSET
    anonymous: bool | UnsetType = UNSET
    tags_required: TagList | UnsetType = UNSET
    tags_excluded: TagList | UnsetType = UNSET
    consent_purpose: Purpose | UnsetType | None = UNSET
    points_reward: Reward | UnsetType = UNSET


#: What may still change once a poll is scheduled, open or closed.
CHANGEABLE_WHEN_LIVE = frozenset({"name", "description", "closes_at"})


class OptionOut(msgspec.Struct):
    id: int
    position: int
    label: str


class QuestionOut(msgspec.Struct):
    id: int
    position: int
    kind: Kind
    title: str
    required: bool
    options: list[OptionOut]
    min_choices: int | None
    max_choices: int | None
    max_length: int | None


class PollOut(msgspec.Struct):
    id: int
    name: str
    description: str
    state: State
    accepting: bool  # takes ballots now (open or scheduled, and inside its window)
    opens_at: datetime | None
    closes_at: datetime | None
    anonymous: bool
    tags_required: list[str]
    tags_excluded: list[str]
    consent_purpose: str | None
    points_reward: int
    questions: list[QuestionOut]
    opened_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AnswerIn(msgspec.Struct, forbid_unknown_fields=True):
    """An answer to one question: ``option_ids`` for a choice question, ``score`` for a rating or
    NPS, ``text`` for free text."""

    question_id: scrm.Id
    option_ids: Annotated[list[scrm.Id], Meta(max_length=MAX_OPTIONS)] | None = None
    score: Score | None = None
    text: scrm.Text | None = None


class BallotIn(msgspec.Struct, forbid_unknown_fields=True):
    """Who votes (``member_id`` or ``external_id``, exactly one) and their answers."""

    answers: Annotated[list[AnswerIn], Meta(max_length=MAX_QUESTIONS)]
    member_id: scrm.Id | None = None
    external_id: scrm.ExternalId | None = None


class AnswerOut(msgspec.Struct):
    question_id: int
    option_ids: list[int]
    score: int | None
    text: str | None
    text_status: TextStatus | None  # free text: visible, held for review, or removed


class BallotOut(msgspec.Struct):
    """A ballot. ``member_id`` is null in an anonymous poll's listings (and after an erasure)."""

    id: int
    poll_id: int
    member_id: int | None
    answers: list[AnswerOut]
    points_awarded: int
    created_at: datetime


class OptionResult(msgspec.Struct):
    option_id: int
    label: str
    count: int
    percent: float  # of those who answered the question


class ScoreCount(msgspec.Struct):
    score: int
    count: int


class NpsResult(msgspec.Struct):
    """Net Promoter Score: % promoters (9–10) − % detractors (0–6), with the three shares."""

    score: float
    promoters: int
    passives: int
    detractors: int
    promoters_percent: float
    passives_percent: float
    detractors_percent: float


class QuestionResult(msgspec.Struct):
    question_id: int
    position: int
    kind: Kind
    title: str
    answered: int
    options: list[OptionResult]  # choice questions
    scores: list[ScoreCount]  # rating and NPS: the count of every score of the scale
    mean: float | None  # rating and NPS
    nps: NpsResult | None  # NPS
    texts: int  # free text: visible texts (held ones wait for review)


class Results(msgspec.Struct):
    poll_id: int
    state: State
    ballots: int
    questions: list[QuestionResult]


class Segment(msgspec.Struct):
    """The results among the ballots of members who carried ``tag`` when they voted."""

    tag: str
    ballots: int
    questions: list[QuestionResult]


class Breakdown(msgspec.Struct):
    poll_id: int
    group: str
    ballots: int
    segments: list[Segment]


class TextOut(msgspec.Struct):
    answer_id: int
    ballot_id: int
    question_id: int
    member_id: int | None  # null in an anonymous poll
    text: str | None  # null once removed
    status: TextStatus
    findings: list[dict[str, object]]
    created_at: datetime


class ReviewIn(msgspec.Struct, forbid_unknown_fields=True):
    """What a reviewer decides about a held text: show it (``release``) or drop it (``remove``)."""

    decision: Decision
