"""The lottery's tables. Every row carries its ``workspace``; members are core ids kept as plain
``BigInt`` (the core's tables are not part of the public API), and the tables' own ids are 64-bit
too (``BigSerial``). Lists such as tags and ticket rules are JSON text, decoded by
:mod:`scrm_lottery.campaigns`.

Rules piccolo cannot state — one entry per member and campaign, one winner per rank, one counter
per member and period, stock never below zero — are in the hand-written migration next to the
generated one."""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Campaign(Table, tablename="lottery_campaign"):
    id = BigSerial(primary_key=True)
    workspace = BigInt(index=True)
    name = Varchar(length=200)
    description = Text(default="")
    mode = Varchar(length=16)  # draw | instant
    entry_mode = Varchar(length=16)  # single | tickets
    state = Varchar(length=16)  # draft | open | closed | drawn | cancelled
    opens_at = Timestamptz()
    closes_at = Timestamptz()
    tags_required = Text(default="[]")
    tags_excluded = Text(default="[]")
    consent_purpose = Varchar(length=100, null=True, default=None)
    notify_purpose = Varchar(length=100)
    points_cost = Integer(default=0)
    ticket_rules = Text(default="[]")
    max_tickets = Integer(default=1)
    spin_limit = Integer(null=True, default=None)
    daily_spin_limit = Integer(null=True, default=None)
    seed = Varchar(length=64, null=True, default=None)  # hex; secret until drawn
    commitment = Varchar(length=64, null=True, default=None)
    public_source = Text(null=True, default=None)  # JSON {description, drand_round}: mixed into the draw
    public_value = Text(null=True, default=None)  # the source's published value the draw used
    entries_hash = Varchar(length=64, null=True, default=None)
    entry_count = BigInt(null=True, default=None)
    opened_at = Timestamptz(null=True, default=None)
    drawn_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Prize(Table, tablename="lottery_prize"):
    id = BigSerial(primary_key=True)
    workspace = BigInt(index=True)
    campaign = BigInt(index=True)
    position = Integer()
    name = Varchar(length=200)
    quantity = Integer()
    value = BigInt(default=0)
    odds_ppm = Integer(null=True, default=None)  # instant win: chance per spin, in millionths
    stock = Integer()  # instant win: what is left to win


class Entry(Table, tablename="lottery_entry"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    campaign = BigInt()
    member_id = BigInt()
    entered = Boolean(default=False)  # False: tickets earned by events, not entered (yet)
    tickets = Integer(default=1)
    points_spent = Integer(default=0)
    created_at = Timestamptz()


class TicketEvent(Table, tablename="lottery_ticket_event"):
    id = BigSerial(primary_key=True)
    workspace = BigInt(index=True)
    campaign = BigInt()
    event_id = BigInt()
    member_id = BigInt()


class TicketGrant(Table, tablename="lottery_ticket_grant"):
    """Tickets granted through the service (``scrm_lottery.grants``), once per reference."""

    id = BigSerial(primary_key=True)
    workspace = BigInt()
    campaign = BigInt()
    member_id = BigInt()
    reference = Varchar(length=200)
    tickets = Integer(default=0)  # what the grant added, after the cap
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class Winner(Table, tablename="lottery_winner"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    campaign = BigInt()
    prize = BigInt()
    member_id = BigInt()
    rank = Integer()
    contactable = Boolean(null=True, default=None)  # can_contact's answer when last checked
    reason = Varchar(length=200, null=True, default=None)  # why not
    notified_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class Spin(Table, tablename="lottery_spin"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    campaign = BigInt()
    member_id = BigInt()
    prize = BigInt(null=True, default=None)  # None: a losing spin
    contactable = Boolean(null=True, default=None)
    reason = Varchar(length=200, null=True, default=None)
    notified_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class SpinCount(Table, tablename="lottery_spin_count"):
    id = BigSerial(primary_key=True)
    workspace = BigInt(index=True)
    campaign = BigInt()
    member_id = BigInt()
    period = Varchar(length=10)  # "all", or the day (YYYY-MM-DD) in the workspace's time zone
    spins = Integer()


TABLES: list[type[Table]] = [Campaign, Prize, Entry, TicketEvent, TicketGrant, Winner, Spin, SpinCount]
