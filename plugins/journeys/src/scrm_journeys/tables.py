"""The journeys plugin's tables. Every row carries its ``workspace``; members are core ids.

A journey's definition lives in versions: every change writes a new ``journeys_version`` row (they
are never changed afterwards), and a run keeps the version it entered on, so members in flight
finish on theirs. A run is one member's position in one journey — a durable row, unique per
(journey, member, entry key) so a member enters at most once (or once per triggering event when
re-entry is allowed). ``journeys_step`` logs each step's outcome per run, unique per (run, position,
outcome): the database refuses a step done twice. Unique rules and indexes are in the migration."""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Journey(Table, tablename="journeys_journey"):
    id = BigSerial(primary_key=True)
    workspace = BigInt(index=True)
    name = Varchar(length=200)
    status = Varchar(length=16)  # draft | live | paused
    version = Integer(default=1)  # the version new runs enter on
    reentry = Boolean(default=False)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Version(Table, tablename="journeys_version"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    journey = BigInt()
    version = Integer()
    definition = Text()  # JSON: trigger, steps, goal
    trigger_kind = Varchar(length=16)
    trigger_key = Varchar(length=200)  # the event type (or tags.changed / segment.entered) it listens to
    goal_event = Varchar(length=100, null=True, default=None)
    created_at = Timestamptz()


class Run(Table, tablename="journeys_run"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    journey = BigInt()
    version = Integer()
    member_id = BigInt(null=True, default=None)  # NULL once the member is erased
    entry_key = Varchar(length=100)
    position = Integer(default=0)
    status = Varchar(length=16)  # active | waiting | completed | exited | converted | failed
    due_at = Timestamptz(null=True, default=None)
    waited = Boolean(default=False)  # the wait step at ``position`` has been scheduled
    test = Boolean(default=False)
    detail = Text(default="")
    entered_at = Timestamptz()
    updated_at = Timestamptz()


class Step(Table, tablename="journeys_step"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    run = BigInt()
    journey = BigInt()
    version = Integer()
    position = Integer()
    outcome = Varchar(length=16)  # waiting | passed | exited | converted | failed
    detail = Text(default="")
    at = Timestamptz()


TABLES: list[type[Table]] = [Journey, Version, Run, Step]
