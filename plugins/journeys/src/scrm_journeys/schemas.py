"""A journey's definition and the journeys API's bodies and answers (msgspec).

A definition is a trigger, a list of steps run top to bottom (the console shows them as a vertical
flow), and an optional goal::

    {"trigger": {"kind": "event", "event_type": "member.created"},
     "steps": [{"type": "wait", "seconds": 3600},
               {"type": "condition", "has_tag": "vip", "negate": true},
               {"type": "action", "action": "send", "template": "welcome", "purpose": "marketing.email"},
               {"type": "exit"}],
     "goal": {"event_type": "order.paid"}}

A condition that does not hold ends the run (``exited`` at that step); a goal event seen while the
run is in flight ends it as ``converted``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta
from scrm import Id

EventType = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=100)]
Purpose = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=64)]
TagName = Annotated[str, Meta(min_length=1, max_length=100)]
Ref = Annotated[str, Meta(min_length=1, max_length=100)]
ClockTime = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM")]
Scalar = str | float | bool  # a number is a float (JSON Schema: an integer is a number too)


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of the request bodies: unknown fields are an error."""


class Trigger(Input):
    """What starts a run for a member: an ``event`` of ``event_type`` whose properties equal
    ``where``; a ``tag`` added; entering a ``segment`` (a ``segment.entered`` event naming it, which
    the segments plugin records); or a ``date`` attribute (``attribute``, ``YYYY-MM-DD``: a
    birthday) falling on today in the workspace's time zone."""

    kind: Literal["event", "tag", "segment", "date"]
    event_type: EventType | None = None
    where: dict[str, Scalar] = msgspec.field(default_factory=dict)
    tag: TagName | None = None
    segment: Ref | None = None
    attribute: Annotated[str, Meta(min_length=1, max_length=100)] | None = None


class Wait(Input, tag="wait", tag_field="type"):
    """Wait ``seconds``, or until the next ``until`` (HH:MM in the workspace's time zone), or both
    (the duration first, then the time of day)."""

    seconds: Annotated[int, Meta(ge=0, le=366 * 24 * 3600)] | None = None
    until: ClockTime | None = None


class Condition(Input, tag="condition", tag_field="type"):
    """Go on only if the member has the tag ``has_tag``, has ``attribute`` equal to ``equals``, is in
    ``segment``, or had an event of ``event_since_entry`` since the run began — every given test
    must hold (``negate`` turns the answer round). Otherwise the run exits here."""

    has_tag: TagName | None = None
    attribute: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    equals: Scalar | None = None
    segment: Ref | None = None
    event_since_entry: EventType | None = None
    negate: bool = False


class Action(Input, tag="action", tag_field="type"):
    """Do one thing: ``send`` (``template`` for ``purpose``, through channels and its consent door),
    ``tag_add`` / ``tag_remove`` (``tag``), ``points`` (``amount``, through the points plugin),
    ``lottery`` (enter the draw ``campaign_id``, through the lottery plugin) or ``webhook`` (POST
    the run to ``url``)."""

    action: Literal["send", "tag_add", "tag_remove", "points", "lottery", "webhook"]
    template: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    purpose: Purpose | None = None
    tag: TagName | None = None
    amount: Annotated[int, Meta(ge=1, le=1_000_000)] | None = None
    url: Annotated[str, Meta(max_length=500)] | None = None
    campaign_id: Id | None = None


class Exit(Input, tag="exit", tag_field="type"):
    """End the run here."""


Step = Wait | Condition | Action | Exit


class Goal(Input):
    event_type: EventType


class Definition(Input):
    trigger: Trigger
    steps: Annotated[list[Step], Meta(max_length=50)] = msgspec.field(default_factory=list)
    goal: Goal | None = None


class JourneyIn(Input):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    definition: Definition
    reentry: bool = False


class JourneyPatch(Input):
    name: Annotated[str, Meta(min_length=1, max_length=200)] | msgspec.UnsetType = msgspec.UNSET
    definition: Definition | msgspec.UnsetType = msgspec.UNSET
    reentry: bool | msgspec.UnsetType = msgspec.UNSET


class JourneyOut(msgspec.Struct):
    """A journey: ``draft`` (edited in place), ``live`` (takes members; editing makes a new version
    that new runs follow while runs in flight finish on theirs) or ``paused`` (takes no new members;
    runs in flight go on)."""

    id: int
    name: str
    status: str
    version: int
    reentry: bool
    definition: Definition
    created_at: datetime
    updated_at: datetime


class StepCount(msgspec.Struct):
    """A step's counts: runs that reached it, are waiting at it, went past it, and ended at it."""

    position: int
    type: str
    entered: int
    waiting: int
    passed: int
    exited: int


class VersionStats(msgspec.Struct):
    version: int
    entered: int
    active: int
    completed: int
    exited: int
    converted: int
    conversion: float
    steps: list[StepCount]


class Stats(msgspec.Struct):
    journey_id: int
    versions: list[VersionStats]


class RunOut(msgspec.Struct):
    id: int
    journey_id: int
    version: int
    member_id: int | None
    position: int
    status: str
    due_at: datetime | None
    entered_at: datetime
    updated_at: datetime
    test: bool
    trail: list[dict[str, Any]] = msgspec.field(default_factory=list)


class TestRunIn(Input):
    member_id: Id


Status = Literal["draft", "live", "paused"]
RunStatus = Literal["active", "waiting", "completed", "exited", "converted", "failed"]
