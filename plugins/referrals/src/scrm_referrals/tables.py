"""The referrals plugin's tables. Every row carries its ``workspace``; members are core ids kept as
plain ``BigInt`` (NULL once an erasure unlinked the person), the tables' own ids are 64-bit.

A campaign hands each member one **code**; a friend who joins with it is an **invitee**, and their
**referral** row is the attribution (one per invitee and workspace: a unique index — the first valid
code wins). A referral converts once (``pending`` → ``converted`` or ``held``, a conditional update)
and its **rewards** are one row per (referral, role) — the unique index that makes paying them
exactly once a database rule, whatever the redelivery or concurrency. ``referrals_quota`` counts an
inviter's rewards per day and in total (a conditional upsert keeps a cap under concurrency);
``referrals_landing`` counts resolved links per campaign and day over a few slot rows (invitations);
``referrals_identity`` keeps keyed digests of invitees' identities, so a person erased and joining
again with the same identity is not rewarded twice. Unique rules and indexes are in the migration."""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Campaign(Table, tablename="referrals_campaign"):
    id = BigSerial(primary_key=True)
    workspace = BigInt(index=True)
    name = Varchar(length=200)
    description = Text(default="")
    state = Varchar(length=16)  # active | ended
    starts_at = Timestamptz(null=True, default=None)
    ends_at = Timestamptz(null=True, default=None)
    inviter_points = Integer(default=0)
    inviter_tag = Varchar(length=100, null=True, default=None)
    invitee_points = Integer(default=0)
    invitee_tag = Varchar(length=100, null=True, default=None)
    levels = Integer(default=1)  # 1, or 2: the inviter's own inviter is credited too
    second_points = Integer(default=0)
    second_tag = Varchar(length=100, null=True, default=None)
    daily_cap = Integer(null=True, default=None)
    total_cap = Integer(null=True, default=None)
    conversion_event = Varchar(length=100, null=True, default=None)  # NULL: joining converts
    conversion_days = Integer(default=30)
    hold_suspicious = Boolean(default=True)
    source_limit = Integer(default=3)
    burst_limit = Integer(default=20)
    landing_url = Varchar(length=500, null=True, default=None)
    lottery_campaign = BigInt(null=True, default=None)  # where rewards' tickets go (the lottery plugin)
    inviter_tickets = Integer(default=0)
    invitee_tickets = Integer(default=0)
    second_tickets = Integer(default=0)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Code(Table, tablename="referrals_code"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    campaign = BigInt()
    member_id = BigInt(null=True, default=None)
    code = Varchar(length=32)
    created_at = Timestamptz()


class Referral(Table, tablename="referrals_referral"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    campaign = BigInt()
    code = BigInt()
    inviter_id = BigInt(null=True, default=None)
    invitee_id = BigInt(null=True, default=None)
    second_id = BigInt(null=True, default=None)  # the inviter's own inviter (level 2), when credited
    state = Varchar(length=16)  # pending | converted | held | void
    signals = Text(default="[]")  # JSON: fraud signals found at attribution
    source = Varchar(length=100, null=True, default=None)
    device = Varchar(length=200, null=True, default=None)
    joined_at = Timestamptz()
    converted_at = Timestamptz(null=True, default=None)
    event_id = BigInt(null=True, default=None)  # the delivered event that converted it
    reviewed_at = Timestamptz(null=True, default=None)
    acted_at = Timestamptz(null=True, default=None)  # the invitee's first own event after joining
    note = Text(default="")


class Reward(Table, tablename="referrals_reward"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    campaign = BigInt()
    referral = BigInt()
    member_id = BigInt(null=True, default=None)
    role = Varchar(length=16)  # inviter | invitee | second
    points = Integer(default=0)
    tag = Varchar(length=100, null=True, default=None)
    tickets = Integer(default=0)  # lottery tickets: the rule's, or 0 when the lottery refused them
    state = Varchar(length=16)  # paid | held | capped | void
    created_at = Timestamptz()


class Quota(Table, tablename="referrals_quota"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    campaign = BigInt()
    member_id = BigInt()
    day = Date()  # the UTC day; 1970-01-01 holds the total
    n = Integer(default=0)


class Landing(Table, tablename="referrals_landing"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    campaign = BigInt()
    day = Date()
    slot = Integer()
    n = BigInt(default=0)


class Identity(Table, tablename="referrals_identity"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    digest = Varchar(length=64)
    referral = BigInt()


TABLES: list[type[Table]] = [Campaign, Code, Referral, Reward, Quota, Landing, Identity]
