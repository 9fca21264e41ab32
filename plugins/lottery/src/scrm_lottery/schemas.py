"""What the lottery's API takes and returns (msgspec structs; bodies forbid unknown fields and bound
every string and number, so bad input is a 422 naming the field)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
import scrm
from msgspec import UNSET, Meta, UnsetType

from scrm_lottery import fairness

TagName = Annotated[str, Meta(min_length=1, max_length=100)]
TagList = Annotated[list[TagName], Meta(max_length=50)]
Purpose = Annotated[str, Meta(min_length=1, max_length=100)]
Moment = Annotated[datetime, Meta(tz=True)]
Quantity = Annotated[int, Meta(ge=1, le=100_000)]
Money = Annotated[int, Meta(ge=0, le=10**12)]
Odds = Annotated[float, Meta(ge=0.000001, le=1.0)]
Cost = Annotated[int, Meta(ge=0, le=1_000_000_000)]
Spins = Annotated[int, Meta(ge=1, le=1_000_000)]
MaxTickets = Annotated[int, Meta(ge=1, le=10_000)]
SourceText = Annotated[str, Meta(min_length=1, max_length=500)]
Mode = Literal["draw", "instant"]
EntryMode = Literal["single", "tickets"]
State = Literal["draft", "open", "closed", "drawn", "cancelled"]
DEFAULT_NOTIFY_PURPOSE = "marketing.wecom"
DEFAULT_MAX_TICKETS = 100


class PrizeIn(msgspec.Struct, forbid_unknown_fields=True):
    name: scrm.Name
    quantity: Quantity
    value: Money = 0  # in the brand's smallest currency unit (分)
    odds: Odds | None = None  # instant win only: the chance per spin


class TicketRule(msgspec.Struct, forbid_unknown_fields=True):
    """Each delivered event of ``event_type`` gives the member ``tickets`` more tickets."""

    event_type: Annotated[str, Meta(min_length=1, max_length=100)]
    tickets: Annotated[int, Meta(ge=1, le=1000)]


class PublicSource(msgspec.Struct, forbid_unknown_fields=True):
    """A public random value nobody knows while entries are taken, mixed into the draw's seed once
    it is published: a drand round (``drand_round``; its value is the round's ``randomness``, 64 hex
    digits), or any value the operator commits to publish (a future official lottery result).
    ``description`` says where and when it is published and how it is written. The commitment
    published at opening covers it, so it cannot be chosen after seeing the entries."""

    description: SourceText
    drand_round: scrm.Id | None = None

    def text(self) -> str:
        """What the campaign's commitment covers (:func:`fairness.source_text`)."""
        return fairness.source_text(self.description, self.drand_round)


#: the published value of a campaign's public source, given when drawing
PublicValue = Annotated[str, Meta(min_length=1, max_length=500)]


class OpenIn(msgspec.Struct, forbid_unknown_fields=True):
    """Opening a campaign may name its public randomness source (replacing the draft's)."""

    public_source: PublicSource | None = None


class DrawIn(msgspec.Struct, forbid_unknown_fields=True):
    """The draw of a campaign with a public source takes the source's published value."""

    public_value: PublicValue | None = None


class CampaignIn(msgspec.Struct, forbid_unknown_fields=True):
    name: scrm.Name
    opens_at: Moment
    closes_at: Moment
    prizes: Annotated[list[PrizeIn], Meta(min_length=1, max_length=50)]
    description: scrm.Text = ""
    mode: Mode = "draw"
    entry_mode: EntryMode = "single"
    tags_required: TagList = msgspec.field(default_factory=list)
    tags_excluded: TagList = msgspec.field(default_factory=list)
    consent_purpose: Purpose | None = None
    notify_purpose: Purpose = DEFAULT_NOTIFY_PURPOSE
    points_cost: Cost = 0
    ticket_rules: Annotated[list[TicketRule], Meta(max_length=20)] = msgspec.field(default_factory=list)
    max_tickets: MaxTickets = DEFAULT_MAX_TICKETS
    spin_limit: Spins | None = None
    daily_spin_limit: Spins | None = None
    public_source: PublicSource | None = None


class CampaignPatch(msgspec.Struct, forbid_unknown_fields=True):
    """A change to a campaign: fields left out stay as they are. Once the campaign is open only
    ``name``, ``description``, ``notify_purpose`` and ``closes_at`` may change (the rest would change
    who can win)."""

    name: scrm.Name | UnsetType = UNSET
    opens_at: Moment | UnsetType = UNSET
    closes_at: Moment | UnsetType = UNSET
    prizes: Annotated[list[PrizeIn], Meta(min_length=1, max_length=50)] | UnsetType = UNSET
    description: scrm.Text | UnsetType = UNSET
    mode: Mode | UnsetType = UNSET
    entry_mode: EntryMode | UnsetType = UNSET
    tags_required: TagList | UnsetType = UNSET
    tags_excluded: TagList | UnsetType = UNSET
    consent_purpose: Purpose | UnsetType | None = UNSET
    notify_purpose: Purpose | UnsetType = UNSET
    points_cost: Cost | UnsetType = UNSET
    ticket_rules: Annotated[list[TicketRule], Meta(max_length=20)] | UnsetType = UNSET
    max_tickets: MaxTickets | UnsetType = UNSET
    spin_limit: Spins | UnsetType | None = UNSET
    daily_spin_limit: Spins | UnsetType | None = UNSET
    public_source: PublicSource | UnsetType | None = UNSET


#: What may still change once a campaign is open: nothing that decides who can win or what.
CHANGEABLE_WHEN_OPEN = frozenset({"name", "description", "notify_purpose", "closes_at"})


class PrizeOut(msgspec.Struct):
    id: int
    position: int
    name: str
    quantity: int
    value: int
    odds: float | None
    stock: int | None  # instant win: what is left


class CampaignOut(msgspec.Struct):
    id: int
    name: str
    description: str
    mode: Mode
    entry_mode: EntryMode
    state: State
    accepting: bool  # open, and now inside the entry window
    opens_at: datetime
    closes_at: datetime
    prizes: list[PrizeOut]
    tags_required: list[str]
    tags_excluded: list[str]
    consent_purpose: str | None
    notify_purpose: str
    points_cost: int
    ticket_rules: list[TicketRule]
    max_tickets: int
    spin_limit: int | None
    daily_spin_limit: int | None
    public_source: PublicSource | None  # mixed into the draw's seed once published
    commitment: str | None  # sha256 of the seed (and public source), published when the campaign opens
    seed: str | None  # revealed by the draw
    public_value: str | None  # the public source's value the draw used
    entries_hash: str | None
    entry_count: int | None
    opened_at: datetime | None
    drawn_at: datetime | None
    created_at: datetime
    updated_at: datetime


class MemberIn(msgspec.Struct, forbid_unknown_fields=True):
    """Who enters or spins: ``member_id`` or ``external_id`` (exactly one)."""

    member_id: scrm.Id | None = None
    external_id: scrm.ExternalId | None = None


class EntryOut(msgspec.Struct):
    id: int
    campaign_id: int
    member_id: int
    tickets: int
    points_spent: int
    created_at: datetime


class TicketGrant(msgspec.Struct):
    """Tickets another plugin granted a member through the lottery's service (see
    :mod:`scrm_lottery.grants`): ``tickets`` is what the grant added, after the campaign's cap."""

    campaign_id: int
    member_id: int
    reference: str
    tickets: int
    created_at: datetime
    revoked_at: datetime | None


class EntryCount(msgspec.Struct):
    campaign_id: int
    entries: int
    tickets: int


class WinnerOut(msgspec.Struct):
    """A winner of a draw (``rank``) or of a spin (``spin_id``). ``contactable`` is what
    ``can_contact`` answered for the campaign's ``notify_purpose`` when the winner was last checked
    (None: not checked yet); ``reason`` says why not."""

    campaign_id: int
    member_id: int
    prize_id: int
    prize: str
    value: int
    rank: int | None
    spin_id: int | None
    won_at: datetime
    contactable: bool | None
    reason: str | None
    notified_at: datetime | None


class DrawResult(msgspec.Struct):
    """Everything needed to check a draw: re-run it from ``seed`` and the exported entries."""

    campaign_id: int
    commitment: str
    seed: str
    public_source: PublicSource | None
    public_value: str | None
    entries_hash: str
    entry_count: int
    drawn_at: datetime
    prizes: list[PrizeOut]
    winners: list[WinnerOut]
    unreachable: list[WinnerOut]


class SpinOut(msgspec.Struct):
    id: int
    campaign_id: int
    member_id: int
    won: bool
    prize_id: int | None
    prize: str | None
    value: int | None
    created_at: datetime


class NotifyResult(msgspec.Struct):
    checked: int
    notified: int
    unreachable: int
