"""The event stream: a workspace's events, newest first, narrowed by type, member and dates, a page
at a time (keyset cursors, as in the API). Dates are days in the workspace's time zone. The first
page can refresh itself every few seconds, to watch events arrive during a campaign."""

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
from scrm import MAX_ID, EventFilter, EventOut, KernelDep, NavLink, ValidationFailed, WorkspaceDep

from scrm_web.auth import console_of
from scrm_web.forms import decode, field_errors, values
from scrm_web.i18n import N_
from scrm_web.respond import form_status, page

PAGE_SIZE = 50
#: properties longer than this (as compact JSON) show their start and expand on demand
SHORT_PROPERTIES = 80


class EventQuery(msgspec.Struct):
    """The stream's filters, as the filter form submits them (blank fields are absent)."""

    type: Annotated[str, Meta(max_length=100)] | None = None
    member_id: Annotated[int, Meta(gt=0, le=MAX_ID)] | None = None
    after: date | None = None  # on or after this day
    before: date | None = None  # before this day
    cursor: str | None = None
    live: bool = False


@dataclass(frozen=True)
class EventRow:
    event: EventOut
    properties: str  # compact JSON
    pretty: str  # indented JSON, for the expanded view


@get("/events", opt={"scope": "events:read"})
async def events(request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep) -> Template:
    typed = values(request.query_params)
    base = console_of(request).base
    url = f"{base}/events"
    kept = {k: v for k, v in typed.items() if v and k in ("type", "member_id", "after", "before", "live")}
    context: dict[str, Any] = {
        "base": base,
        "url": url,
        "values": typed,
        "errors": {},
        "rows": [],
        "short": SHORT_PROPERTIES,
        "first_url": f"{url}?{urlencode(kept)}" if kept else url,
        "next_url": None,
        "paged": False,
        "live": False,
    }
    status = 200
    try:
        query = _checked(decode(request.query_params, EventQuery))
    except ValidationFailed as exc:
        context["errors"] = field_errors(exc)
        status = form_status(exc)
    else:
        zone = ZoneInfo(ws.time_zone)
        filters = EventFilter(
            type=query.type,
            member_id=query.member_id,
            after=_midnight(query.after, zone),
            before=_midnight(query.before, zone),
        )
        found = await kernel.events.list(ws, filters, query.cursor, PAGE_SIZE)
        context["rows"] = [_row(e) for e in found.items]
        if found.next_cursor:
            context["next_url"] = f"{url}?{urlencode({**kept, 'cursor': found.next_cursor})}"
        context["paged"] = query.cursor is not None
        context["live"] = query.live and query.cursor is None
    return page(request, "events", context, status)


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
    return EventRow(
        event=event,
        properties=json.dumps(event.properties, ensure_ascii=False, separators=(",", ":")),
        pretty=json.dumps(event.properties, ensure_ascii=False, indent=2),
    )


routes = [events]
nav = [NavLink(N_("Events"), "/events", "events:read")]
