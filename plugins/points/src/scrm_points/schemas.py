"""What the points API takes and returns (msgspec structs: validated input, typed OpenAPI)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
import scrm
from msgspec import Meta

from scrm_points.config import MAX_POINTS, Points

Reason = Annotated[str, Meta(min_length=1, max_length=500)]
Reference = Annotated[str, Meta(min_length=1, max_length=200)]
EventType = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")]
PropertyName = Annotated[str, Meta(min_length=1, max_length=64)]
Signed = Annotated[int, Meta(ge=-MAX_POINTS, le=MAX_POINTS)]
Cap = Annotated[int, Meta(ge=1, le=MAX_POINTS)]
Stock = Annotated[int, Meta(ge=0, le=MAX_POINTS)]


class AtLeast(msgspec.Struct, forbid_unknown_fields=True):
    """A condition on a numeric property: its value is at least ``min``."""

    min: float


#: What one property must be: equal to a string, number or boolean, or at least ``{"min": n}``. A number
#: is a ``float`` (which takes integers too): a union naming ``int`` as well is described in OpenAPI as
#: ``oneOf`` integer and number, which an integer matches twice, so answers would violate the schema.
Condition = str | float | bool | AtLeast
#: property name → its condition.
Conditions = Annotated[dict[PropertyName, Condition], Meta(max_length=20)]


class RuleIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A rule: each event of ``event_type`` whose properties meet ``conditions`` earns ``points``."""

    name: scrm.Name
    event_type: EventType
    points: Points
    conditions: Conditions = msgspec.field(default_factory=dict)
    daily_cap: Cap | None = None  # points this rule gives one member per day (workspace time zone)
    total_cap: Cap | None = None  # points this rule gives one member ever
    starts_at: datetime | None = None  # events that occurred from then on (None: always)
    ends_at: datetime | None = None  # until then (exclusive; None: no end)
    active: bool = True


class RulePatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """Fields to change; a field left out keeps its value (send null to clear a cap or a bound)."""

    name: scrm.Name | msgspec.UnsetType = msgspec.UNSET
    event_type: EventType | msgspec.UnsetType = msgspec.UNSET
    points: Points | msgspec.UnsetType = msgspec.UNSET
    conditions: Conditions | msgspec.UnsetType = msgspec.UNSET
    daily_cap: Cap | msgspec.UnsetType | None = msgspec.UNSET
    total_cap: Cap | msgspec.UnsetType | None = msgspec.UNSET
    starts_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    ends_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class RuleOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    event_type: str
    points: int
    conditions: dict[str, Condition]
    daily_cap: int | None
    total_cap: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    active: bool
    created_at: datetime
    updated_at: datetime


class RewardIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: scrm.Name
    description: scrm.Text = ""
    cost: Points
    stock: Stock | None = None  # None: unlimited
    active: bool = True


class RewardPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    name: scrm.Name | msgspec.UnsetType = msgspec.UNSET
    description: scrm.Text | msgspec.UnsetType = msgspec.UNSET
    cost: Points | msgspec.UnsetType = msgspec.UNSET
    stock: Stock | msgspec.UnsetType | None = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class RewardOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    description: str
    cost: int
    stock: int | None
    active: bool
    created_at: datetime
    updated_at: datetime


class MemberRef(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The member, by scrm id or by the brand's external id (exactly one)."""

    member_id: scrm.Id | None = None
    external_id: scrm.ExternalId | None = None


class RedemptionIn(MemberRef, forbid_unknown_fields=True, kw_only=True):
    pass


class CheckinIn(MemberRef, forbid_unknown_fields=True, kw_only=True):
    pass


class RedemptionOut(msgspec.Struct, kw_only=True):
    id: int
    member_id: int
    reward_id: int
    reward_name: str
    cost: int
    transaction_id: int
    balance: int | None = None  # the member's balance after it (in the answer to a redemption)
    created_at: datetime


class CheckinOut(msgspec.Struct, kw_only=True):
    member_id: int
    day: date  # in the workspace's time zone
    streak: int  # consecutive days, this one included
    points: int  # awarded for this check-in (base points plus any streak bonus)
    bonus: int  # the streak bonus part of it
    balance: int


class AdjustmentIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    amount: Annotated[Signed, Meta(description="points to add (positive) or take away (negative); not 0")]
    reason: Reason
    reference: Reference | None = None  # makes a retry safe: the same reference adjusts once


class ReversalIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Reason


class TransactionOut(msgspec.Struct, kw_only=True):
    id: int
    member_id: int
    kind: Literal["award", "redeem", "expire", "adjust", "reverse"]
    amount: int
    reason: str
    reference: str
    rule_id: int | None
    event_id: int | None
    reverses: int | None
    created_at: datetime


class PostedOut(msgspec.Struct, kw_only=True):
    """A transaction written, and the member's balance after it."""

    transaction: TransactionOut
    balance: int


class AccountOut(msgspec.Struct, kw_only=True):
    member_id: int
    balance: int
    lifetime: int  # points ever earned (awards and positive adjustments, less reversed ones)
    tier: str | None
    expiring_points: int  # of the balance, points that expire within ``expiring_days``
    expiring_days: int
    next_expiry: datetime | None  # when the next lot expires


class LeaderboardEntry(msgspec.Struct, kw_only=True):
    rank: int
    member_id: int
    points: int
    tier: str | None


class Leaderboard(msgspec.Struct, kw_only=True):
    by: Literal["balance", "lifetime", "earned"]
    since: datetime | None
    until: datetime | None
    entries: list[LeaderboardEntry]
