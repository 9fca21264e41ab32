"""The segments plugin's tables. Every row carries its ``workspace``; members are core ids kept as
plain ``BigInt``.

``segments_profile`` is one row per member, kept by event delivery: when they joined, their last
engagement, counts and order totals (RFM), their lifecycle stage and behavioural cluster; segment
counts read it, not ``scrm_member``. ``segments_stage_count`` counts the profiles per stage, kept
with each stage move.
``segments_daily`` counts each member's events of each type per local day, for "N events of a type
in the last D days" without reading the event log. ``segments_applied`` remembers which events were
applied (for a few days, as runs of consecutive ids), so a redelivered event adds nothing. ``segments_watch`` names who watches a
saved segment (a live journey, an operator) and ``segments_member`` holds the members of watched
segments, so entries and exits are transitions of a row (see ``watch``). Unique rules and indexes are
in the migrations."""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Boolean, Date, DoublePrecision, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Segment(Table, tablename="segments_segment"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    name = Varchar(length=200)
    description = Text(default="")
    definition = Text()  # JSON, validated (see definition.py)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Config(Table, tablename="segments_config"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    settings = Text()  # JSON of SegmentsSettings
    updated_at = Timestamptz()


class Profile(Table, tablename="segments_profile"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    member_id = BigInt()
    joined_at = Timestamptz()
    seen_at = Timestamptz(null=True, default=None)  # the last engagement event
    ref_at = Timestamptz()  # seen_at, else joined_at: what idleness is counted from
    engagement = BigInt(default=0)  # engagement events, all time
    orders = BigInt(default=0)  # order.paid events
    monetary = DoublePrecision(default=0)  # the sum of their amounts
    last_order_at = Timestamptz(null=True, default=None)
    stage = Varchar(length=16)  # new | active | silent | churned
    stage_since = Timestamptz()
    cluster = Integer(null=True, default=None)


class StageCount(Table, tablename="segments_stage_count"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    stage = Varchar(length=16)
    n = BigInt(default=0)  # the workspace's profiles in this stage


class Daily(Table, tablename="segments_daily"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    member_id = BigInt()
    type = Varchar(length=100)
    day = Date()
    n = BigInt(default=0)


class Applied(Table, tablename="segments_applied"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    event_id = BigInt()  # the first event of a run of consecutive ids applied together
    last_id = BigInt()  # and its last (see applied.py)
    applied_at = Timestamptz()


class Cluster(Table, tablename="segments_cluster"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    cluster = Integer()
    size = BigInt()
    centroid = Text()  # JSON: {"recency_days": …, "orders": …, "monetary": …, "engagement": …}
    computed_at = Timestamptz()


class Watch(Table, tablename="segments_watch"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    segment = BigInt()
    watcher = Varchar(length=100)  # "operator", "journeys:12" …
    created_at = Timestamptz()


class Member(Table, tablename="segments_member"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    segment = BigInt()
    member_id = BigInt()
    inside = Boolean(default=True)
    changes = BigInt(default=1)  # entries and exits so far: odd while inside
    since = Timestamptz()


TABLES: list[type[Table]] = [Segment, Config, Profile, StageCount, Daily, Applied, Cluster, Watch, Member]
