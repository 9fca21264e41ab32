"""What the referrals API takes and returns (msgspec structs; bodies forbid unknown fields and bound
every string and number, so malformed input is a 422 naming the field)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
import scrm
from msgspec import UNSET, Meta, UnsetType

Moment = Annotated[datetime, Meta(tz=True)]
Points = Annotated[int, Meta(ge=0, le=1_000_000)]
Cap = Annotated[int, Meta(ge=1, le=1_000_000)]
Tickets = Annotated[int, Meta(ge=0, le=1_000, description="Lottery tickets (the lottery plugin, when enabled)")]
Levels = Annotated[int, Meta(ge=1, le=2, description="1, or 2 to credit the inviter's own inviter too")]
Days = Annotated[int, Meta(ge=1, le=365)]
Limit = Annotated[int, Meta(ge=1, le=10_000)]
LandingUrl = Annotated[
    str, Meta(min_length=1, max_length=500, pattern=r"^https?://\S*\{code\}\S*$", description="Contains {code}")
]
Source = Annotated[str, Meta(min_length=1, max_length=100, description="The joining client's address")]
Device = Annotated[str, Meta(min_length=1, max_length=200, description="The joining client's device id")]
CodeText = Annotated[str, Meta(min_length=1, max_length=32)]
State = Literal["active", "ended"]
ReferralState = Literal["pending", "converted", "held", "void"]
Decision = Literal["approve", "void"]


class RewardRule(msgspec.Struct, forbid_unknown_fields=True):
    """What one party gets when a referral converts: ``points`` (the points plugin, when enabled), a
    ``tag``, and ``tickets`` in the campaign's ``lottery_campaign_id`` (the lottery plugin, when
    enabled). Every reward paid also records a ``referral.rewarded`` event."""

    points: Points = 0
    tag: scrm.TagName | None = None
    tickets: Tickets = 0


class ReferralCampaignIn(msgspec.Struct, forbid_unknown_fields=True):
    """A campaign. ``levels`` 2 credits the inviter's own inviter with ``second_reward`` (never
    deeper). Caps count an inviter's rewards (``daily_cap`` per UTC day, ``total_cap`` in all); a
    conversion past a cap still counts, unrewarded. ``conversion_event`` (such as ``order.paid``):
    the invitee converts on their first such event within ``conversion_days`` of joining; without
    it, joining converts. ``hold_suspicious`` holds the rewards of a referral with fraud signals
    for review; ``source_limit`` and ``burst_limit`` are the signals' thresholds.
    ``lottery_campaign_id``: the lottery draw campaign (``tickets`` entry mode) rewards' tickets go to."""

    name: scrm.Name
    description: scrm.Text = ""
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    inviter_reward: RewardRule = msgspec.field(default_factory=RewardRule)
    invitee_reward: RewardRule = msgspec.field(default_factory=RewardRule)
    levels: Levels = 1
    second_reward: RewardRule = msgspec.field(default_factory=RewardRule)
    daily_cap: Cap | None = None
    total_cap: Cap | None = None
    conversion_event: scrm.DottedName | None = None
    conversion_days: Days = 30
    hold_suspicious: bool = True
    source_limit: Limit = 3
    burst_limit: Limit = 20
    landing_url: LandingUrl | None = None
    lottery_campaign_id: scrm.Id | None = None


class ReferralCampaignPatch(msgspec.Struct, forbid_unknown_fields=True):
    """A change to a campaign; fields left out stay. ``state`` ``ended`` stops new codes and joins."""

    name: scrm.Name | UnsetType = UNSET
    description: scrm.Text | UnsetType = UNSET
    state: State | UnsetType = UNSET
    starts_at: Moment | UnsetType | None = UNSET
    ends_at: Moment | UnsetType | None = UNSET
    inviter_reward: RewardRule | UnsetType = UNSET
    invitee_reward: RewardRule | UnsetType = UNSET
    levels: Levels | UnsetType = UNSET
    second_reward: RewardRule | UnsetType = UNSET
    daily_cap: Cap | UnsetType | None = UNSET
    total_cap: Cap | UnsetType | None = UNSET
    conversion_event: scrm.DottedName | UnsetType | None = UNSET
    conversion_days: Days | UnsetType = UNSET
    hold_suspicious: bool | UnsetType = UNSET
    source_limit: Limit | UnsetType = UNSET
    burst_limit: Limit | UnsetType = UNSET
    landing_url: LandingUrl | UnsetType | None = UNSET
    lottery_campaign_id: scrm.Id | UnsetType | None = UNSET


class ReferralCampaignOut(msgspec.Struct):
    id: int
    name: str
    description: str
    state: State
    active: bool
    starts_at: datetime | None
    ends_at: datetime | None
    inviter_reward: RewardRule
    invitee_reward: RewardRule
    levels: int
    second_reward: RewardRule
    daily_cap: int | None
    total_cap: int | None
    conversion_event: str | None
    conversion_days: int
    hold_suspicious: bool
    source_limit: int
    burst_limit: int
    landing_url: str | None
    lottery_campaign_id: int | None
    created_at: datetime
    updated_at: datetime


class MemberRef(msgspec.Struct, forbid_unknown_fields=True):
    """A member by ``member_id`` or ``external_id`` (exactly one)."""

    member_id: scrm.Id | None = None
    external_id: scrm.ExternalId | None = None


class CodeOut(msgspec.Struct):
    code: str
    campaign_id: int
    member_id: int | None
    link: str
    created_at: datetime


class Landing(msgspec.Struct):
    """What a landing page shows for a code: the campaign, whether it takes joins now, the link."""

    code: str
    campaign_id: int
    campaign: str
    description: str
    active: bool
    inviter_name: str
    invitee_reward: RewardRule
    link: str


class JoinIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new member joining with a code (created and attributed in one transaction). ``source`` and
    ``device`` (the client's address and device id, as the brand's app saw them) feed the fraud
    signals and are removed when the invitee is erased."""

    code: CodeText
    member: scrm.MemberCreate
    source: Source | None = None
    device: Device | None = None


class AttributeIn(msgspec.Struct, forbid_unknown_fields=True):
    """A member created a moment ago elsewhere (the brand's app, an import) claiming a code."""

    code: CodeText
    member_id: scrm.Id
    source: Source | None = None
    device: Device | None = None


class ReferralOut(msgspec.Struct):
    id: int
    campaign_id: int
    code: str
    inviter_id: int | None
    invitee_id: int | None
    second_id: int | None
    state: ReferralState
    signals: list[str]
    joined_at: datetime
    converted_at: datetime | None
    reviewed_at: datetime | None
    note: str


class ReferralRewardOut(msgspec.Struct):
    id: int
    referral_id: int
    member_id: int | None
    role: str
    points: int
    tag: str | None
    tickets: int
    state: str
    created_at: datetime


class ReferralReviewIn(msgspec.Struct, forbid_unknown_fields=True):
    """``approve`` a held referral (its rewards are paid) or ``void`` a referral (its paid rewards
    are reversed: points and lottery tickets taken back, tags removed)."""

    decision: Decision
    note: scrm.Text = ""


class KFigure(msgspec.Struct):
    """The viral coefficient over ``[start, end)``: ``K = invitations_per_member × conversion_share``.

    ``inviters``: members holding a code by ``end``; ``invitations``: the greater of links opened
    (codes resolved) and joins with a code, in the period; ``conversions``: referrals converted in the
    period (voided ones left out). So K is conversions per inviter."""

    start: datetime
    end: datetime
    campaign_id: int | None
    inviters: int
    invitations: int
    joins: int
    conversions: int
    invitations_per_member: float
    conversion_share: float
    k: float


class KSeries(msgspec.Struct):
    campaign_id: int | None
    period: Literal["day", "week", "month"]
    points: list[KFigure]


class Inviter(msgspec.Struct):
    member_id: int
    display_name: str
    conversions: int
    joins: int
    points: int


class TreeNode(msgspec.Struct):
    member_id: int | None
    display_name: str
    state: str | None
    depth: int
    children: list[TreeNode]


class Tree(msgspec.Struct):
    """A member's invite tree: whom they invited, and so on down (``depth`` levels below the
    member, ``size`` members in all beneath them), and who invited them."""

    root: TreeNode
    depth: int
    size: int
    invited_by: int | None
    truncated: bool
