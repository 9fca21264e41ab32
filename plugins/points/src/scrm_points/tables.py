"""The points plugin's tables. Every row carries its ``workspace``; members are the core's ids.
Ids, like the core's, are 64-bit (``BigSerial``), so any id the API accepts fits a column.

Constraints piccolo cannot express — the unique keys behind idempotency, ``balance >= 0`` and the
listing indexes — are added by the hand-written migration next to the generated one.
"""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Config(Table, tablename="points_config"):
    """A workspace's points settings (expiry, check-in points, streak bonuses, tiers) as JSON."""

    id = BigSerial(primary_key=True)
    workspace = BigInt(unique=True)
    settings = Text()
    updated_at = Timestamptz()


class Account(Table, tablename="points_account"):
    """A member's materialised balance, lifetime earned points and tier, kept in the same
    transaction as every ledger row; unique per (workspace, member_id), balance never below 0."""

    id = BigSerial(primary_key=True)
    workspace = BigInt()
    member_id = BigInt()
    balance = BigInt(default=0)
    lifetime = BigInt(default=0)
    tier = Varchar(length=40, null=True, default=None)
    updated_at = Timestamptz()


class Entry(Table, tablename="points_transaction"):
    """The append-only ledger: one row per change of a balance, signed, with a reference unique
    per workspace (what makes awards, spends and reversals idempotent)."""

    id = BigSerial(primary_key=True)
    workspace = BigInt()
    member_id = BigInt()
    kind = Varchar(length=10)  # award, redeem, expire, adjust, reverse
    amount = BigInt()
    reason = Text()
    reference = Varchar(length=200)
    rule_id = BigInt(null=True, default=None)
    event_id = BigInt(null=True, default=None)
    reverses = BigInt(null=True, default=None)
    created_at = Timestamptz()


class Lot(Table, tablename="points_lot"):
    """Points earned together, which expire together; spending takes from the lot expiring first."""

    id = BigSerial(primary_key=True)
    workspace = BigInt()
    member_id = BigInt()
    transaction_id = BigInt()
    amount = BigInt()
    remaining = BigInt()
    earned_at = Timestamptz()
    expires_at = Timestamptz(null=True, default=None)


class Rule(Table, tablename="points_rule"):
    """Event type → points, with conditions on the event's properties, caps and an active window."""

    id = BigSerial(primary_key=True)
    workspace = BigInt(index=True)
    name = Varchar(length=200)
    event_type = Varchar(length=100)
    points = BigInt()
    conditions = Text()
    daily_cap = BigInt(null=True, default=None)
    total_cap = BigInt(null=True, default=None)
    starts_at = Timestamptz(null=True, default=None)
    ends_at = Timestamptz(null=True, default=None)
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class RuleUsage(Table, tablename="points_rule_usage"):
    """Points a rule gave a member on one day of the workspace (for the daily and total caps)."""

    id = BigSerial(primary_key=True)
    workspace = BigInt()
    rule_id = BigInt()
    member_id = BigInt()
    day = Date()
    points = BigInt()


class Checkin(Table, tablename="points_checkin"):
    """One check-in per member per day of the workspace's time zone, with the streak it made."""

    id = BigSerial(primary_key=True)
    workspace = BigInt()
    member_id = BigInt()
    day = Date()
    streak = Integer()
    points = BigInt()
    created_at = Timestamptz()


class Reward(Table, tablename="points_reward"):
    """The rewards catalogue; ``stock`` null means unlimited, never below 0."""

    id = BigSerial(primary_key=True)
    workspace = BigInt(index=True)
    name = Varchar(length=200)
    description = Text()
    cost = BigInt()
    stock = BigInt(null=True, default=None)
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Redemption(Table, tablename="points_redemption"):
    """A reward handed out for points (with the ledger row that paid for it)."""

    id = BigSerial(primary_key=True)
    workspace = BigInt()
    member_id = BigInt()
    reward_id = BigInt()
    reward_name = Varchar(length=200)
    cost = BigInt()
    transaction_id = BigInt()
    created_at = Timestamptz()


class TierChange(Table, tablename="points_tier_change"):
    """A member's tier moving, kept as history (written with the tier tag and the
    ``points.tier_changed`` event, whose idempotency key is this row's id)."""

    id = BigSerial(primary_key=True)
    workspace = BigInt()
    member_id = BigInt()
    from_tier = Varchar(length=40, null=True, default=None)
    to_tier = Varchar(length=40, null=True, default=None)
    lifetime = BigInt()
    created_at = Timestamptz()


TABLES: list[type[Table]] = [Config, Account, Entry, Lot, Rule, RuleUsage, Checkin, Reward, Redemption, TierChange]
