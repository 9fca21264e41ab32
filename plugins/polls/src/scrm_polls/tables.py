"""The polls plugin's tables. Every row carries its ``workspace``; members are core ids kept as plain
``BigInt``, and the tables' own ids are 64-bit (``BigSerial``).

A poll has questions, a choice question has options; a ballot is one member's answers to one poll
(one ballot per member and poll: a unique index), each answer one row (a multiple choice gives one
row per option chosen). ``polls_ballot_tag`` keeps the member's tags as they were when the ballot was
cast, for breakdowns by tag group. ``polls_tally`` holds the live counts, updated in each ballot's
transaction and spread over a few ``slot`` rows per count so that concurrent ballots do not queue
on one row (the results add the slots up). Unique rules and indexes are in the migration."""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Poll(Table, tablename="polls_poll"):
    id = BigSerial(primary_key=True)
    workspace = BigInt(index=True)
    name = Varchar(length=200)
    description = Text(default="")
    state = Varchar(length=16)  # draft | scheduled | open | closed
    opens_at = Timestamptz(null=True, default=None)
    closes_at = Timestamptz(null=True, default=None)
    anonymous = Boolean(default=False)
    tags_required = Text(default="[]")
    tags_excluded = Text(default="[]")
    consent_purpose = Varchar(length=100, null=True, default=None)
    points_reward = Integer(default=0)
    opened_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Question(Table, tablename="polls_question"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    poll = BigInt()
    position = Integer()
    kind = Varchar(length=16)  # single | multiple | rating | nps | text
    title = Text()
    required = Boolean(default=True)
    min_choices = Integer(null=True, default=None)
    max_choices = Integer(null=True, default=None)
    max_length = Integer(default=500)


class Option(Table, tablename="polls_option"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    poll = BigInt()
    question = BigInt()
    position = Integer()
    label = Varchar(length=200)


class Ballot(Table, tablename="polls_ballot"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    poll = BigInt()
    member_id = BigInt(null=True, default=None)  # NULL: unlinked by erasure (anonymous polls)
    points = Integer(default=0)  # the reward given for it
    created_at = Timestamptz()


class Answer(Table, tablename="polls_answer"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    poll = BigInt()
    ballot = BigInt()
    question = BigInt()
    option_id = BigInt(null=True, default=None)
    score = Integer(null=True, default=None)
    text = Text(null=True, default=None)
    status = Varchar(length=16, null=True, default=None)  # free text: visible | held | removed
    findings = Text(null=True, default=None)  # JSON: what moderation found in the text


class BallotTag(Table, tablename="polls_ballot_tag"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    poll = BigInt()
    ballot = BigInt()
    tag = Varchar(length=100)


class Tally(Table, tablename="polls_tally"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    poll = BigInt()
    question = BigInt()  # 0: the poll's ballots
    value = BigInt()  # an option id, a score, or -1: answers to the question
    slot = Integer()
    n = BigInt(default=0)


TABLES: list[type[Table]] = [Poll, Question, Option, Ballot, Answer, BallotTag, Tally]
