"""The event stream: a workspace's events, newest first, narrowed by type, member and dates, a page
at a time (keyset cursors, as in the API). Dates are days in the workspace's time zone. The first
page can refresh itself every few seconds, to watch events arrive during a campaign.

Made to be read: members by name (one look-up per page; a workspace event, such as the audit
plugin's ``audit.chain_broken`` alert, shows the workspace instead), properties as key/value pairs with long
values folded, the types of the last 90 days offered with their counts, a member found by name,
external id or id, and a run of the same event (a bulk tier change, an import) folded into one row
that opens, so it does not push everything else off the page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import msgspec
import scrm
from litestar import Request, get
from litestar.response import Template
from msgspec import Meta
from scrm import (
    MAX_ID,
    EventFilter,
    EventOut,
    Kernel,
    KernelDep,
    MemberFilter,
    NavLink,
    ValidationFailed,
    WorkspaceDep,
    WorkspaceRef,
)

from scrm_web.auth import console_of
from scrm_web.forms import decode, field_errors, values
from scrm_web.i18n import N_
from scrm_web.respond import form_status, page

PAGE_SIZE = 50
#: property values longer than this show their start and open on demand
SHORT_VALUE = 80
#: this many events in a row of one type and source fold into one row
RUN = 4
#: a folded run shows this many of its events when opened (the rest: filter by its type)
RUN_SHOWN = 20
#: events read per round trip while filling a page, and at most this many rounds: a page shows
#: PAGE_SIZE rows, a folded run counting as two, so a burst of one event does not fill it alone
FETCH, ROUNDS = 200, 5
#: the period whose event types the filter offers
TYPE_DAYS = 90


class EventQuery(msgspec.Struct):
    """The stream's filters, as the filter form submits them (blank fields are absent)."""

    type: Annotated[str, Meta(max_length=100)] | None = None
    member_id: Annotated[int, Meta(gt=0, le=MAX_ID)] | None = None
    member: Annotated[str, Meta(max_length=320)] | None = None  # a name, external id or id
    after: date | None = None  # on or after this day
    before: date | None = None  # before this day
    cursor: str | None = None
    live: bool = False


@dataclass(frozen=True)
class Property:
    key: str
    text: str  # the value: text as it is, anything else as compact JSON

    @property
    def long(self) -> bool:
        return len(self.text) > SHORT_VALUE


@dataclass(frozen=True)
class EventRow:
    event: EventOut
    properties: list[Property]


@dataclass(frozen=True)
class Run:
    """Events next to each other in the stream; more than :data:`RUN` of one type and source show
    as their first and a folded row holding the rest."""

    rows: list[EventRow]

    @property
    def folded(self) -> bool:
        return len(self.rows) >= RUN

    @property
    def shown(self) -> list[EventRow]:
        """The folded events shown when the run is opened (after its first)."""
        return self.rows[1 : 1 + RUN_SHOWN]

    @property
    def hidden(self) -> int:
        return max(len(self.rows) - 1 - RUN_SHOWN, 0)


@get("/events", opt={"scope": "events:read"})
async def events(request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep) -> Template:
    typed = values(request.query_params)
    base = console_of(request).base
    url = f"{base}/events"
    kept = {k: v for k, v in typed.items() if v and k in ("type", "member_id", "member", "after", "before", "live")}
    context: dict[str, Any] = {
        "base": base,
        "url": url,
        "values": typed,
        "errors": {},
        "runs": [],
        "names": {},
        "types": await kernel.reports.event_types(ws, TYPE_DAYS),
        "member_name": "",
        "first_url": f"{url}?{urlencode(kept)}" if kept else url,
        "next_url": None,
        "paged": False,
        "live": False,
    }
    status = 200
    try:
        query = _checked(decode(request.query_params, EventQuery))
        member_id = query.member_id or await _member(kernel, ws, query.member)
    except ValidationFailed as exc:
        context["errors"] = field_errors(exc)
        status = form_status(exc)
    else:
        zone = ZoneInfo(ws.time_zone)
        filters = EventFilter(
            type=query.type,
            member_id=member_id,
            after=_midnight(query.after, zone),
            before=_midnight(query.before, zone),
        )
        fold = query.type is None  # filtered by type, every row is of one type: nothing to fold
        items, next_cursor = await _fill(kernel, ws, filters, query.cursor, fold)
        context["runs"] = runs([_row(e) for e in items], fold)
        named = [e.member_id for e in items if e.member_id is not None]  # a workspace event names no one
        context["names"] = await kernel.members.names(ws, [*named, member_id or 0])
        context["member_name"] = context["names"].get(member_id, "") if member_id else ""
        if next_cursor:
            context["next_url"] = f"{url}?{urlencode({**kept, 'cursor': next_cursor})}"
        context["paged"] = query.cursor is not None
        context["live"] = query.live and query.cursor is None
    return page(request, "events", context, status)


async def _member(kernel: Kernel, ws: WorkspaceRef, text: str | None) -> int | None:
    """The member a filter names by id, external id or name (the one that matches; an error
    naming the field when none or several do)."""
    if not text:
        return None
    if text.isdecimal() and 0 < int(text) <= MAX_ID:
        return int(text)
    found = await kernel.members.list(ws, MemberFilter(q=text), None, 2)
    if len(found.items) == 1:
        return found.items[0].id
    message = (
        N_("no member matches") if not found.items else N_("several members match: type more of the name, or the id")
    )
    raise ValidationFailed(f"member: {message}", errors=[scrm.field_error("member", message, "query")])


async def _fill(
    kernel: Kernel, ws: WorkspaceRef, filters: EventFilter, cursor: str | None, fold: bool
) -> tuple[list[EventOut], str | None]:
    """A page's events: :data:`PAGE_SIZE` of them, or more when runs fold (a run shows as two rows),
    so that a thousand tier changes seeded at once fold away and the events before them still show."""
    items: list[EventOut] = []
    for _ in range(ROUNDS):
        found = await kernel.events.list(ws, filters, cursor, FETCH if items else PAGE_SIZE)
        items += found.items
        cursor = found.next_cursor
        shown = sum(2 if run.folded else len(run.rows) for run in runs([EventRow(e, []) for e in items], fold))
        if cursor is None or shown >= PAGE_SIZE:
            break
    return items, cursor


def runs(rows: list[EventRow], fold: bool = True) -> list[Run]:
    """The page's rows, consecutive ones of the same type and source together (each on its own
    unless ``fold``)."""
    if not fold:
        return [Run([row]) for row in rows]
    grouped: list[Run] = []
    for row in rows:
        last = grouped[-1].rows if grouped else None
        if last and (last[0].event.type, last[0].event.source) == (row.event.type, row.event.source):
            last.append(row)
        else:
            grouped.append(Run([row]))
    return grouped


def _checked(query: EventQuery) -> EventQuery:
    """The query, if its dates leave room for an event (``before`` after ``after``)."""
    if query.after is not None and query.before is not None and query.before <= query.after:
        raise ValidationFailed(
            "before: must be a later day than after",
            errors=[scrm.field_error("before", N_("must be a later day than the first one"), "query")],
        )
    return query


def _midnight(day: date | None, zone: ZoneInfo) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), zone)


def _row(event: EventOut) -> EventRow:
    properties = [
        Property(key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":")))
        for key, value in sorted(event.properties.items())
    ]
    return EventRow(event=event, properties=properties)


routes = [events]
nav = [NavLink(N_("Events"), "/events", "events:read")]
