"""``/api/v1/events`` and ``/api/v1/members/{id}/events``: record events, list them, a member's timeline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Body, PathParameter, QueryParameter

from scrm.api.batches import single_item_errors
from scrm.api.members import MemberId
from scrm.deps import KernelDep, WorkspaceDep
from scrm.pagination import DEFAULT_LIMIT, Page
from scrm.params import MAX_ID, Cursor, Limit
from scrm.schemas import EventBatch, EventBatchResult, EventIn, EventOut, EventResult
from scrm.services.events import EventFilter

READ = {"scope": "events:read"}
WRITE = {"scope": "events:write"}
EventId = Annotated[int, PathParameter(gt=0, le=MAX_ID, description="The event's id")]
Type = Annotated[str | None, QueryParameter(min_length=1, max_length=100, description="Only events of this type")]
NEW_EVENT = Example(
    summary="One purchase by a member known by external id, safe to retry",
    value={
        "external_id": "crm-1042",
        "type": "order.paid",
        "properties": {"amount": 129.5, "currency": "CNY"},
        "idempotency_key": "order-778812",
    },
)
After = Annotated[datetime | None, QueryParameter(description="occurred_at at or after (UTC when no zone is given)")]
Before = Annotated[datetime | None, QueryParameter(description="occurred_at before (UTC when no zone is given)")]


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class EventController(Controller):
    path = "/"
    tags = ["events"]

    @post(
        "/events",
        opt=WRITE,
        operation_id="recordEvents",
        # one new event answers 201 (the handler's Response says so); the 200 is a duplicate or a batch
        responses={201: ResponseSpec(data_container=EventResult, description="One event, stored now")},
        summary="Record events",
        status_code=200,
        description=(
            "Record one event (a JSON object: 201 when stored, 200 when its idempotency key was seen before) or "
            "a batch (a JSON array of up to 1,000: stored all or none; each item's result says created or "
            "duplicate). Each names a member: workspace events (no member) are recorded by the server only."
        ),
    )
    async def record_events(
        self, kernel: KernelDep, ws: WorkspaceDep, data: Annotated[EventIn | EventBatch, Body(examples=[NEW_EVENT])]
    ) -> Response[EventResult | EventBatchResult]:
        single = isinstance(data, EventIn)
        with single_item_errors(single):
            results = await kernel.events.post(ws, [data] if isinstance(data, EventIn) else data)
        if single:
            return Response(results[0], status_code=201 if results[0].status == "created" else 200)
        created = sum(1 for r in results if r.status == "created")
        return Response(EventBatchResult(items=results, created=created, duplicates=len(results) - created))

    @get("/events", opt=READ, operation_id="listEvents", summary="List events")
    async def list_events(
        self,
        kernel: KernelDep,
        ws: WorkspaceDep,
        type: Type = None,
        member_id: Annotated[int | None, QueryParameter(gt=0, le=MAX_ID, description="Only this member's")] = None,
        has_member: Annotated[
            bool | None,
            QueryParameter(
                description="false: only workspace events (no member, recorded by the server, such as the "
                "audit plugin's audit.chain_broken alert); true: only members' events"
            ),
        ] = None,
        after: After = None,
        before: Before = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[EventOut]:
        """Events newest first (by occurred_at): members' events and workspace events (member_id null)."""
        filters = EventFilter(
            type=type, member_id=member_id, has_member=has_member, after=_utc(after), before=_utc(before)
        )
        return await kernel.events.list(ws, filters, cursor, limit)

    @get("/events/{event_id:int}", opt=READ, operation_id="getEvent", summary="Get an event")
    async def get_event(self, kernel: KernelDep, ws: WorkspaceDep, event_id: EventId) -> EventOut:
        """One event by id."""
        return await kernel.events.get(ws, event_id)

    @get("/members/{member_id:int}/events", opt=READ, operation_id="listMemberEvents", summary="List a member's events")
    async def member_timeline(
        self,
        kernel: KernelDep,
        ws: WorkspaceDep,
        member_id: MemberId,
        type: Type = None,
        after: After = None,
        before: Before = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[EventOut]:
        """One member's events, newest first."""
        await kernel.members.get(ws, member_id)  # a 404 for a member of another workspace
        filters = EventFilter(type=type, member_id=member_id, after=_utc(after), before=_utc(before))
        return await kernel.events.list(ws, filters, cursor, limit)
