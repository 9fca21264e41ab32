"""The webhooks API's bodies (msgspec): subscriptions, deliveries and their attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

#: an event type a subscription wants: ``*`` (every one), an exact type, or a prefix ``member.*``
EventPattern = Annotated[
    str,
    Meta(
        pattern=r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$",
        max_length=100,
        description="An event type (order.paid), a prefix (member.*) or * for every event",
    ),
]
EventPatterns = Annotated[list[EventPattern], Meta(min_length=1, max_length=50)]
Url = Annotated[str, Meta(pattern=r"^https?://[^\s/?#]+", max_length=2000, description="The endpoint (http or https)")]
Description = Annotated[str, Meta(max_length=200)]
DeliveryState = Literal["pending", "succeeded", "failed"]
#: how long the secret being replaced stays valid after a rotation (a day at most)
KeepSeconds = Annotated[int, Meta(ge=0, le=86400)]


class SubscriptionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new subscription: where to send which events."""

    url: Url
    event_types: EventPatterns = msgspec.field(default_factory=lambda: ["*"])
    description: Description = ""
    active: bool = True


class SubscriptionPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A change to a subscription; fields left out stay."""

    url: Url | UnsetType = UNSET
    event_types: EventPatterns | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class Rotation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A secret rotation: the old secret keeps signing (next to the new one) for ``keep_previous_s``."""

    keep_previous_s: KeepSeconds = 86400


class SubscriptionOut(msgspec.Struct, kw_only=True):
    id: int
    url: str
    event_types: list[str]
    description: str
    active: bool
    #: until when the secret replaced by the last rotation still signs, or null
    previous_secret_until: datetime | None
    created_at: datetime
    updated_at: datetime


class SubscriptionSecret(SubscriptionOut, kw_only=True):
    """A subscription with its signing secret: shown when it is created and when it is rotated."""

    secret: str


class AttemptOut(msgspec.Struct, kw_only=True):
    at: datetime
    #: the receiver's HTTP status, or null when it did not answer (timeout, refused)
    status: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(msgspec.Struct, kw_only=True):
    id: int
    subscription_id: int
    event_id: int
    event_type: str
    state: DeliveryState
    attempts: int
    next_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class DeliveryDetail(DeliveryOut, kw_only=True):
    """A delivery with the payload sent and every attempt, oldest first."""

    payload: str
    attempt_log: list[AttemptOut]
