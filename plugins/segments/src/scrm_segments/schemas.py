"""The segments API's bodies (msgspec structs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Description = Annotated[str, msgspec.Meta(max_length=2000)]


class SegmentIn(msgspec.Struct, forbid_unknown_fields=True):
    """A saved segment: its name (unique in the workspace) and its definition (see the docs).
    ``watch``: record ``segment.entered`` / ``segment.exited`` events as members enter and leave it
    (the operator's watch; a live journey with a segment trigger watches its segment by itself)."""

    name: Name
    definition: dict[str, Any]
    description: Description = ""
    watch: bool = False


class SegmentPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    definition: dict[str, Any] | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    watch: bool | UnsetType = UNSET


class SegmentOut(msgspec.Struct):
    id: int
    name: str
    description: str
    definition: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    #: who watches the segment (``operator``, ``journeys:12`` …): entries and exits are recorded as
    #: events while this is not empty
    watched_by: list[str] = msgspec.field(default_factory=list)


class PreviewIn(msgspec.Struct, forbid_unknown_fields=True):
    """A definition to count before saving it."""

    definition: dict[str, Any]


class CountOut(msgspec.Struct):
    """How many members (not erased) a definition matches now."""

    count: int
    members: int
    counted_at: datetime


class ProfileOut(msgspec.Struct):
    """A member as segments sees them: lifecycle stage, RFM scores, cluster."""

    member_id: int
    stage: str
    stage_since: datetime
    joined_at: datetime
    last_engaged_at: datetime | None
    engagement: int
    orders: int
    monetary: float
    last_order_at: datetime | None
    r: int
    f: int
    m: int
    cluster: int | None


class ClusterOut(msgspec.Struct):
    """One behavioural cluster: its size and its centre (the average member of it)."""

    cluster: int
    size: int
    recency_days: float
    orders: float
    monetary: float
    engagement: float
    computed_at: datetime


class StageCount(msgspec.Struct):
    stage: str
    members: int
