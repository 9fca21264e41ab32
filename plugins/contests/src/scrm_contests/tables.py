"""The contests' tables. Every row carries its ``workspace``; members are core ids kept as plain
``BigInt`` and the tables' own ids are ``BigSerial``. Lists (the rubric, points per rank, a
submission's findings, a judge's marks) are JSON text.

Rules piccolo cannot state — one counter per member, contest and bucket; one score per judge and
submission; one award per rank; counts never below zero — are in the hand-written migration next to
the generated one.
"""

from __future__ import annotations

from piccolo.columns import BigInt, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.columns.column_types import BigSerial
from piccolo.table import Table


class Contest(Table, tablename="contests_contest"):
    id = BigSerial(primary_key=True)
    workspace = BigInt(index=True)
    name = Varchar(length=200)
    description = Text(default="")
    phase = Varchar(length=16)  # draft | submission | moderation | voting | judging | results | cancelled
    submission_closes_at = Timestamptz()
    voting_opens_at = Timestamptz()
    voting_closes_at = Timestamptz()
    judging_closes_at = Timestamptz(null=True, default=None)
    moderate_all = Boolean(default=False)
    submissions_per_member = Integer(default=1)
    media_per_submission = Integer(default=4)
    max_file_bytes = Integer(default=5_000_000)
    allow_video = Boolean(default=False)
    max_video_bytes = Integer(default=20_000_000)
    votes_per_member = Integer(null=True, default=None)
    votes_per_submission = Integer(default=1)
    votes_per_day = Integer(null=True, default=None)
    rubric = Text(default="[]")
    judge_weight_pct = Integer(default=50)
    award_points = Text(default="[]")
    award_tag = Varchar(length=100, null=True, default=None)
    notify_purpose = Varchar(length=100)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class PhaseChange(Table, tablename="contests_phase_change"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    contest = BigInt()
    from_phase = Varchar(length=16)
    to_phase = Varchar(length=16)
    cause = Varchar(length=16)  # operator | schedule
    actor = Varchar(length=100, default="")
    at = Timestamptz()


class Submission(Table, tablename="contests_submission"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    contest = BigInt()
    member_id = BigInt()
    title = Varchar(length=200)
    body = Text(default="")
    status = Varchar(length=16)  # pending | approved | rejected
    findings = Text(default="[]")
    reason = Text(default="")
    votes = BigInt(default=0)
    created_at = Timestamptz()
    moderated_at = Timestamptz(null=True, default=None)
    moderated_by = Varchar(length=100, default="")


class Media(Table, tablename="contests_media"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    submission = BigInt()
    position = Integer()
    filename = Varchar(length=200)
    content_type = Varchar(length=64)
    size = BigInt()
    width = Integer()
    height = Integer()
    sha256 = Varchar(length=64)
    storage_key = Varchar(length=200)
    thumb_key = Varchar(length=200)


class Counter(Table, tablename="contests_counter"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    contest = BigInt()
    member_id = BigInt()
    bucket = Varchar(length=40)  # submissions | votes | day:YYYY-MM-DD | sub:<id>
    n = Integer()
    cap = Integer()  # the limit it was last counted against


class Vote(Table, tablename="contests_vote"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    contest = BigInt()
    submission = BigInt()
    member_id = BigInt()
    source = Varchar(length=64, default="")
    device = Varchar(length=100, default="")
    voided = Boolean(default=False)
    created_at = Timestamptz()


class Signal(Table, tablename="contests_signal"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    contest = BigInt()
    vote = BigInt()
    member_id = BigInt()
    kind = Varchar(length=32)  # new-member | burst-of-new-members | shared-source | shared-device
    detail = Text(default="")
    created_at = Timestamptz()


class Score(Table, tablename="contests_score"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    contest = BigInt()
    submission = BigInt()
    judge = Varchar(length=100)
    marks = Text(default="{}")
    total_ppm = Integer()  # the weighted rubric score, in millionths of the maximum
    comment = Text(default="")
    updated_at = Timestamptz()


class Award(Table, tablename="contests_award"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    contest = BigInt()
    rank = Integer()
    submission = BigInt()
    member_id = BigInt()
    points = Integer(default=0)
    contactable = Boolean(null=True, default=None)
    notified_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


TABLES: list[type[Table]] = [Contest, PhaseChange, Submission, Media, Counter, Vote, Signal, Score, Award]
