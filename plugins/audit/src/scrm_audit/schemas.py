"""The audit plugin's API bodies (msgspec)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
import scrm
from msgspec import Meta

Kind = Literal["access", "rectification", "erasure", "withdrawal"]
Status = Literal["open", "done", "rejected"]
Days = Annotated[int, Meta(ge=0, le=36500)]
Note = Annotated[str, Meta(max_length=2000)]
Draft = Annotated[str, Meta(min_length=1, max_length=20000, description="The copy to review")]


class RequestIn(msgspec.Struct, forbid_unknown_fields=True):
    """A data-subject request received for a member (``member_id`` or ``external_id``)."""

    kind: Kind
    member_id: scrm.Id | None = None
    external_id: scrm.ExternalId | None = None
    received_at: Annotated[datetime, Meta(tz=True)] | None = None
    note: Note = ""


class RequestClose(msgspec.Struct, forbid_unknown_fields=True):
    """Closing a request by hand: done (after a rectification made on the member) or rejected."""

    status: Literal["done", "rejected"]
    result: Note = ""


class RequestOut(msgspec.Struct):
    id: int
    member_id: int
    kind: str
    status: str
    received_at: datetime
    due_at: datetime
    closed_at: datetime | None
    overdue: bool
    handled_by: str
    result: str
    note: str


class ExecuteOut(msgspec.Struct):
    """A carried-out request, and for an access request the archive: the member's data, the core's
    and every plugin's share."""

    request: RequestOut
    archive: dict[str, Any] | None = None


class PolicyIn(msgspec.Struct, forbid_unknown_fields=True):
    """The workspace's policy. ``events_days`` and ``erased_events_days`` 0 keep those events for good; ``trail_years`` is the audit
    trail's legal minimum (at least 1). A request falls due ``dsr_due_months`` calendar months after
    receipt when that is set, else ``dsr_due_days`` days."""

    events_days: Days = 0
    erased_events_days: Days = 30
    trail_years: Annotated[int, Meta(ge=1, le=100)] = 3
    dsr_due_days: Annotated[int, Meta(ge=1, le=365)] = 15
    dsr_due_months: Annotated[int, Meta(ge=0, le=12)] = 0


class PolicyOut(PolicyIn, kw_only=True):
    updated_at: datetime | None = None
    last_applied_at: datetime | None = None
    last_deleted: int = 0


class RetentionReport(msgspec.Struct):
    """What applying the policy deletes (a dry run) or deleted: the same counts."""

    dry_run: bool
    events: int
    erased_members_events: int
    trail_kept_since: datetime


class CopyIn(msgspec.Struct, forbid_unknown_fields=True):
    text: Draft


class CopyFinding(msgspec.Struct):
    """A term of the word list found in the draft: ``text[start:end]`` is the match."""

    category: str
    severity: str
    start: int
    end: int
    term: str


class CopyReport(msgspec.Struct):
    ok: bool
    findings: list[CopyFinding]


class StarterIn(msgspec.Struct, forbid_unknown_fields=True):
    language: Literal["zh", "en"]


class CheckOut(msgspec.Struct):
    id: int
    checked_at: datetime
    consent_ok: bool
    trail_ok: bool
    detail: str


class Report(msgspec.Struct):
    """A workspace's compliance report for a period. ``refused``/``refusals``: contact attempts the
    consent door refused, per purpose, channel and reason (counted per UTC day: the days the period
    touches). ``contacts_checked``: the messages sent in the period that were checked against the
    consent ledger, and ``contacted_without_consent`` how many of them had no grant in force when sent
    (must be 0); both null when no plugin that sends (channels) is enabled in the workspace."""

    workspace: str
    since: datetime
    until: datetime
    members: int
    consent_coverage: dict[str, float]
    requests: dict[str, int]
    requests_on_time: int
    requests_late: int
    requests_open_overdue: int
    consent_chain_ok: bool
    trail_ok: bool
    trail_records: int
    writes_by_channel: dict[str, int]
    refused: int
    refusals: list[scrm.RefusalCount]
    contacts_checked: int | None
    contacted_without_consent: int | None
