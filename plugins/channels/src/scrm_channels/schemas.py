"""The channels API's bodies and answers (msgspec)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

import msgspec
from msgspec import Meta
from scrm import Id

Kind = Literal["smtp", "sms", "wecom", "webhook"]
Channel = Literal["email", "sms", "wecom", "webhook"]
CHANNELS: frozenset[str] = frozenset(get_args(Channel))
MessageStatus = Literal["scheduled", "queued", "sending", "sent", "failed", "bounced", "cancelled"]
Slug = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9_.-]*$", min_length=1, max_length=100)]
Language = Annotated[str, Meta(pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$", max_length=16)]
Purpose = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=64)]
ClockTime = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM")]
Reference = Annotated[str, Meta(min_length=1, max_length=200)]
Data = dict[str, Any]


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of the request bodies: unknown fields are an error."""


class ProviderIn(Input):
    name: Slug
    kind: Kind
    config: dict[str, Any] = msgspec.field(default_factory=dict)
    secret: Annotated[str, Meta(max_length=4000, description="Password, token or signing key; write-only")] = ""
    rate_per_minute: Annotated[int, Meta(ge=1, le=100_000)] = 600
    enabled: bool = True


class ProviderPatch(Input):
    config: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    secret: Annotated[str, Meta(max_length=4000)] | msgspec.UnsetType = msgspec.UNSET
    rate_per_minute: Annotated[int, Meta(ge=1, le=100_000)] | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class ProviderOut(msgspec.Struct):
    """A provider; its secret is never shown (``has_secret`` says whether one is stored)."""

    id: int
    name: str
    kind: str
    channel: str
    config: dict[str, Any]
    has_secret: bool
    rate_per_minute: int
    enabled: bool
    created_at: datetime
    updated_at: datetime


class TemplateIn(Input):
    name: Slug
    body: Annotated[str, Meta(min_length=1, max_length=50_000)]
    language: Language = "en"
    channel: Channel = "email"
    subject: Annotated[str, Meta(max_length=500)] = ""


class TemplatePatch(Input):
    subject: Annotated[str, Meta(max_length=500)] | msgspec.UnsetType = msgspec.UNSET
    body: Annotated[str, Meta(min_length=1, max_length=50_000)] | msgspec.UnsetType = msgspec.UNSET


class FindingOut(msgspec.Struct):
    category: str
    severity: str
    term: str | None


class TemplateOut(msgspec.Struct):
    """A template in one language. ``held`` ones (moderation found something) cannot be sent."""

    id: int
    name: str
    language: str
    channel: str
    subject: str
    body: str
    status: str
    findings: list[FindingOut]
    created_at: datetime
    updated_at: datetime


class PreviewIn(Input):
    member_id: Id
    data: Data = msgspec.field(default_factory=dict)


class PreviewOut(msgspec.Struct):
    subject: str
    body: str
    recipient: str | None


class SendIn(Input):
    member_id: Id
    purpose: Purpose
    template: Slug
    data: Data = msgspec.field(default_factory=dict)
    reference: Reference | None = None


class SendOut(msgspec.Struct):
    """What a send came to: ``queued`` (on its way), ``scheduled`` (a quiet-hours or frequency veto
    delays it until ``next_at``), ``refused`` (the consent door said no: nothing is sent; ``reason``),
    or the state of the message an earlier send with the same (member, template, reference) made
    (``duplicate`` true)."""

    status: str
    message_id: int | None = None
    reason: str | None = None
    next_at: datetime | None = None
    duplicate: bool = False


class AttemptOut(msgspec.Struct):
    attempt: int
    status: str
    detail: str
    at: datetime


class MessageOut(msgspec.Struct):
    id: int
    member_id: int | None
    purpose: str
    template: str
    language: str
    reference: str
    channel: str
    provider_id: int | None
    recipient: str
    subject: str
    status: str
    attempts: int
    next_at: datetime
    detail: str
    created_at: datetime
    sent_at: datetime | None
    history: list[AttemptOut] = msgspec.field(default_factory=list)


class RuleIn(Input):
    quiet_from: ClockTime | None = None
    quiet_until: ClockTime | None = None
    cap: Annotated[int, Meta(ge=1, le=10_000)] | None = None
    cap_days: Annotated[int, Meta(ge=1, le=366)] = 7
    delay: bool = True


class RuleOut(msgspec.Struct):
    purpose: str
    quiet_from: str | None
    quiet_until: str | None
    cap: int | None
    cap_days: int
    delay: bool


class ChannelsRefusalCount(msgspec.Struct):
    purpose: str
    reason: str
    count: int


class Refusals(msgspec.Struct):
    """Sends refused on this plugin's channels — by the consent door, or for want of an address —
    counted by purpose and reason (nothing was sent for them); the core keeps the counts."""

    total: int
    counts: list[ChannelsRefusalCount]
