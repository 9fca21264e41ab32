"""What the contests' API takes and returns (msgspec structs; bodies forbid unknown fields and bound
every string and number, so bad input is a 422 naming the field)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
import scrm
from msgspec import UNSET, Meta, UnsetType

Phase = Literal["draft", "submission", "moderation", "voting", "judging", "results", "cancelled"]
#: the phases in their order (cancelled aside)
PHASES: tuple[str, ...] = ("draft", "submission", "moderation", "voting", "judging", "results")
Status = Literal["pending", "approved", "rejected"]
MediaKind = Literal["image", "video"]
Moment = Annotated[datetime, Meta(tz=True)]
Limit = Annotated[int, Meta(ge=1, le=1_000_000)]
Points = Annotated[int, Meta(ge=1, le=1_000_000_000)]
Weight = Annotated[float, Meta(ge=0.0, le=1.0)]
TagName = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^\s,|][^,|]*$")]
Purpose = Annotated[str, Meta(min_length=1, max_length=100)]
Reason = Annotated[str, Meta(max_length=500)]
Title = Annotated[str, Meta(min_length=1, max_length=200)]
Body = Annotated[str, Meta(max_length=10_000)]
FileName = Annotated[str, Meta(min_length=1, max_length=200)]
#: a file's bytes, base64 in JSON (the limit here is the transport's: each contest sets its own)
FileData = Annotated[bytes, Meta(max_length=20_000_000)]
Source = Annotated[str, Meta(max_length=64)]
Device = Annotated[str, Meta(max_length=100)]
DEFAULT_NOTIFY_PURPOSE = "marketing.wecom"
MAX_MEDIA = 9
MAX_FILE_BYTES = 20_000_000


class Criterion(msgspec.Struct, forbid_unknown_fields=True):
    """One line of the rubric: judges mark it from 0 to ``max``; it counts for ``weight`` of the
    judge score (weights are relative: 2 and 1 make two thirds and one third)."""

    name: Annotated[str, Meta(min_length=1, max_length=100)]
    weight: Annotated[int, Meta(ge=1, le=100)] = 1
    max: Annotated[int, Meta(ge=1, le=100)] = 10


class ContestIn(msgspec.Struct, forbid_unknown_fields=True):
    name: scrm.Name
    submission_closes_at: Moment
    voting_opens_at: Moment
    voting_closes_at: Moment
    judging_closes_at: Moment | None = None
    description: scrm.Text = ""
    moderate_all: bool = False
    submissions_per_member: Annotated[int, Meta(ge=1, le=100)] = 1
    media_per_submission: Annotated[int, Meta(ge=0, le=MAX_MEDIA)] = 4
    max_file_bytes: Annotated[int, Meta(ge=1_000, le=MAX_FILE_BYTES)] = 5_000_000
    allow_video: bool = False
    max_video_bytes: Annotated[int, Meta(ge=1_000, le=MAX_FILE_BYTES)] = MAX_FILE_BYTES
    votes_per_member: Limit | None = None
    votes_per_submission: Limit = 1
    votes_per_day: Limit | None = None
    rubric: Annotated[list[Criterion], Meta(max_length=20)] = msgspec.field(default_factory=list)
    judge_weight: Weight = 0.5
    award_points: Annotated[list[Points], Meta(max_length=100)] = msgspec.field(default_factory=list)
    award_tag: TagName | None = None
    notify_purpose: Purpose = DEFAULT_NOTIFY_PURPOSE


class ContestPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: scrm.Name | UnsetType = UNSET
    description: scrm.Text | UnsetType = UNSET
    submission_closes_at: Moment | UnsetType = UNSET
    voting_opens_at: Moment | UnsetType = UNSET
    voting_closes_at: Moment | UnsetType = UNSET
    judging_closes_at: Moment | UnsetType | None = UNSET
    moderate_all: bool | UnsetType = UNSET
    submissions_per_member: Annotated[int, Meta(ge=1, le=100)] | UnsetType = UNSET
    media_per_submission: Annotated[int, Meta(ge=0, le=MAX_MEDIA)] | UnsetType = UNSET
    max_file_bytes: Annotated[int, Meta(ge=1_000, le=MAX_FILE_BYTES)] | UnsetType = UNSET
    allow_video: bool | UnsetType = UNSET
    max_video_bytes: Annotated[int, Meta(ge=1_000, le=MAX_FILE_BYTES)] | UnsetType = UNSET
    votes_per_member: Limit | UnsetType | None = UNSET
    votes_per_submission: Limit | UnsetType = UNSET
    votes_per_day: Limit | UnsetType | None = UNSET
    rubric: Annotated[list[Criterion], Meta(max_length=20)] | UnsetType = UNSET
    judge_weight: Weight | UnsetType = UNSET
    award_points: Annotated[list[Points], Meta(max_length=100)] | UnsetType = UNSET
    award_tag: TagName | UnsetType | None = UNSET
    notify_purpose: Purpose | UnsetType = UNSET


#: what may change once submissions opened: what cannot change what members did or how they rank
CHANGEABLE_WHEN_OPEN = frozenset(
    {"name", "description", "submission_closes_at", "voting_opens_at", "voting_closes_at", "judging_closes_at"}
)


class ContestOut(msgspec.Struct):
    id: int
    name: str
    description: str
    phase: Phase
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


class PhaseIn(msgspec.Struct, forbid_unknown_fields=True):
    """Move the contest to ``phase``: forward only (or ``cancelled``), however early."""

    phase: Phase


class PhaseChangeOut(msgspec.Struct):
    id: int
    from_phase: str
    to_phase: str
    cause: Literal["operator", "schedule"]
    actor: str
    at: datetime


class MediaIn(msgspec.Struct, forbid_unknown_fields=True):
    filename: FileName
    data: FileData


class SubmissionIn(msgspec.Struct, forbid_unknown_fields=True):
    """A member's entry: ``member_id`` or ``external_id``, a title, text and up to the contest's
    ``media_per_submission`` images, or videos where it ``allow_video`` (each ``data`` base64; the
    type is read from the bytes, never from ``filename``)."""

    title: Title
    member_id: scrm.Id | None = None
    external_id: scrm.ExternalId | None = None
    body: Body = ""
    media: Annotated[list[MediaIn], Meta(max_length=MAX_MEDIA)] = msgspec.field(default_factory=list)


class FindingOut(msgspec.Struct):
    category: str
    severity: str
    start: int | None = None
    end: int | None = None
    term: str | None = None
    source: str = ""
    field: str = ""  # title | body | media[<i>]


class MediaOut(msgspec.Struct):
    id: int
    position: int
    kind: MediaKind
    filename: str
    content_type: str  # identified from the content: image/jpeg … or video/mp4, video/webm
    size: int
    width: int  # 0 for a video (videos are not decoded)
    height: int
    sha256: str
    url: str  # a signed, expiring link to the file
    thumbnail_url: str | None  # the same for its thumbnail; None for a video


class SubmissionOut(msgspec.Struct):
    id: int
    contest_id: int
    member_id: int
    title: str
    body: str
    status: Status
    reason: str
    findings: list[FindingOut]
    votes: int
    media: list[MediaOut]
    created_at: datetime
    moderated_at: datetime | None


class ModerateIn(msgspec.Struct, forbid_unknown_fields=True):
    decision: Literal["approve", "reject"]
    reason: Reason = ""


class VoteIn(msgspec.Struct, forbid_unknown_fields=True):
    """A member's vote; ``source`` (the client's address) and ``device`` (its device id), when the
    app knows them, feed the fraud signals."""

    member_id: scrm.Id | None = None
    external_id: scrm.ExternalId | None = None
    source: Source = ""
    device: Device = ""


class VoteOut(msgspec.Struct):
    id: int
    contest_id: int
    submission_id: int
    member_id: int
    voided: bool
    created_at: datetime
    signals: list[str] = msgspec.field(default_factory=list)


class SignalOut(msgspec.Struct):
    id: int
    vote_id: int
    member_id: int
    submission_id: int
    kind: str
    detail: str
    voided: bool
    created_at: datetime


class VoidIn(msgspec.Struct, forbid_unknown_fields=True):
    vote_ids: Annotated[list[scrm.Id], Meta(min_length=1, max_length=1000)]


class VoidOut(msgspec.Struct):
    voided: int


class ScoreIn(msgspec.Struct, forbid_unknown_fields=True):
    """A judge's marks, one per rubric criterion by name."""

    marks: Annotated[
        dict[Annotated[str, Meta(max_length=100)], Annotated[int, Meta(ge=0, le=100)]], Meta(max_length=20)
    ]
    comment: Reason = ""


class ScoreOut(msgspec.Struct):
    submission_id: int
    judge: str
    marks: dict[str, int]
    score: float  # 0..1: the weighted rubric score
    comment: str
    updated_at: datetime


class RankedOut(msgspec.Struct):
    rank: int
    submission_id: int
    member_id: int
    title: str
    votes: int
    judge_score: float  # mean of the judges' scores, 0..1
    judges: int
    vote_share: float  # votes / the most votes any entry got, 0..1
    final: float


class ResultsOut(msgspec.Struct):
    contest_id: int
    phase: Phase
    judge_weight: float
    tie_rule: str
    ranking: list[RankedOut]


class AwardOut(msgspec.Struct):
    rank: int
    submission_id: int
    member_id: int
    points: int
    contactable: bool | None
    notified_at: datetime | None


class MemberIn(msgspec.Struct, forbid_unknown_fields=True):
    member_id: scrm.Id | None = None
    external_id: scrm.ExternalId | None = None
