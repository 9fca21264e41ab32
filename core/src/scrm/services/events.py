"""The event log: append-only facts about members (``checkin``, ``order.paid``, ``member.created``…),
and about the workspace itself.

A *workspace event* has no member (``member_id`` is None): a fact about the workspace, such as the
audit plugin's ``audit.chain_broken`` alert. Only the server records one (the core or a plugin,
through :meth:`Events.record` with ``NewEvent(member_id=None, …)``); an API client always names a
member, so a receiver can trust that a member-less event came from the deployment itself. It is
delivered like any other event (``scrm_event_recorded``: handlers that act on a member skip it),
listed in the workspace's stream, and never part of a member's timeline, export or erasure — so
its properties must hold no personal data.

An event is stored once per idempotency key and workspace, also when two requests race: the unique
index ``(workspace, idempotency_key)`` decides, and the loser learns the id of the stored event.
Storing writes an outbox row in the same transaction; plugins hear of the event after the commit,
from the outbox (:mod:`scrm.services.outbox`), never in the request.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from scrm.groupcommit import GroupCommit
from scrm.pagination import MAX_LIMIT, Page
from scrm.problems import NotFound, ValidationFailed, field_error
from scrm.schemas import MAX_ATTRIBUTES_BYTES, MAX_BATCH, EventIn, EventOut, EventResult, MemberRef
from scrm.services.context import WorkspaceRef
from scrm.services.values import json_value, now, timestamp

if TYPE_CHECKING:
    from scrm.kernel import Kernel

#: Event types the core records itself; a client cannot post them.
CORE_TYPE_PREFIXES = ("member.", "tags.", "consent.")
#: How far in the future ``occurred_at`` may be (clock skew between a client and this server).
MAX_CLOCK_SKEW = timedelta(minutes=5)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_encode = msgspec.json.Encoder()


@dataclass(frozen=True)
class NewEvent:
    """An event for :meth:`Events.record`: what the core and plugins store."""

    member_id: int | None  # None: a workspace event (see the module's docstring)
    type: str
    properties: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None  # now, when omitted
    source: str = "core"
    idempotency_key: str | None = None


@dataclass(frozen=True)
class EventFilter:
    """What an event listing is narrowed by; every condition must hold."""

    type: str | None = None
    member_id: int | None = None
    has_member: bool | None = None  # False: workspace events only; True: members' events only
    after: datetime | None = None  # occurred_at >= after
    before: datetime | None = None  # occurred_at < before


class Events:
    """Record, read and list events of a workspace (``kernel.events``)."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.columns = "e.id, e.member, e.type, e.properties, e.occurred_at, e.recorded_at, e.source, e.idempotency_key"
        self._passive: tuple[str, ...] | None = None

    def is_engagement(self, event_type: str) -> bool:
        """Whether an event of this type is something the member did (engagement), not a fact recorded
        about them: the core's own types and the prefixes plugins declare with
        ``scrm_passive_event_types`` are not."""
        if self._passive is None:
            declared = self.k.plugins.answers(
                "scrm_passive_event_types", "a list of event type prefixes (strings)", _are_prefixes
            )
            self._passive = CORE_TYPE_PREFIXES + tuple(p for prefixes in declared.values() for p in prefixes)
        return not event_type.startswith(self._passive)

    async def post(self, ws: WorkspaceRef, items: Sequence[EventIn]) -> builtins.list[EventResult]:
        """Check and record events a client posted: all of them, or none with a 422 naming each bad one."""
        check_batch_size(items, "events")
        limit = now() + MAX_CLOCK_SKEW
        errors: builtins.list[dict[str, Any]] = []
        for index, item in enumerate(items):
            if item.type.startswith(CORE_TYPE_PREFIXES):
                errors.append(
                    _error(index, "type", f"types starting with {', '.join(CORE_TYPE_PREFIXES)} are the core's")
                )
            if item.occurred_at is not None and not EARLIEST <= item.occurred_at <= limit:
                errors.append(_error(index, "occurred_at", "must lie between 1970 and a few minutes from now"))
            if len(_encode.encode(item.properties)) > MAX_ATTRIBUTES_BYTES:
                errors.append(_error(index, "properties", f"larger than {MAX_ATTRIBUTES_BYTES} bytes of JSON"))
        if errors:
            raise ValidationFailed(f"{len(errors)} event(s) are not valid", errors=errors[:100])
        if all(item.member_id and item.external_id is None for item in items):
            member_ids = [item.member_id or 0 for item in items]  # record() checks them as it stores
        else:
            member_ids = await self.k.members.resolve(ws, items)
        return await self.record(
            ws,
            [
                NewEvent(
                    member_id=member_id,
                    type=item.type,
                    properties=item.properties,
                    occurred_at=item.occurred_at,
                    source=item.source,
                    idempotency_key=item.idempotency_key,
                )
                for member_id, item in zip(member_ids, items, strict=True)
            ],
        )

    async def record(
        self, ws: WorkspaceRef, events: Sequence[NewEvent], *, allow_erased: bool = False
    ) -> builtins.list[EventResult]:
        """Store events (joining the caller's transaction, if any) and queue their delivery.

        Returns, in order, each event's id and whether it was ``created`` or a ``duplicate`` of an
        event stored earlier with the same idempotency key. A member id not of this workspace (or of
        an erased member, unless ``allow_erased``: the core's ``member.erased``) is a 422 naming it
        (by its position among the events that name a member), and nothing is stored. An event
        whose ``member_id`` is None is a workspace event; the core's own types (``member.``…) are
        about a member, so a workspace event of one is a 422 too.
        """
        if not events:
            return []
        errors = [
            _error(index, "type", "a workspace event (no member) cannot be of the core's member types")
            for index, e in enumerate(events)
            if e.member_id is None and e.type.startswith(CORE_TYPE_PREFIXES)
        ]
        if errors:
            raise ValidationFailed(f"{len(errors)} event(s) are not valid", errors=errors[:100])
        if len(events) == 1 and not allow_erased and SINGLE_EVENTS.batching(self.k):
            return [await SINGLE_EVENTS.submit(self.k, (ws, events[0]))]
        at = now()
        if self.k.db.dialect.name == "postgres":
            return await self._insert_postgres(ws, events, at, allow_erased)
        member_ids = [e.member_id for e in events if e.member_id is not None]
        async with self.k.db.transaction():
            rows = await self.k.db.fetch(
                "SELECT count(*) AS found FROM json_each({}) AS j JOIN scrm_member m "
                "ON m.id = j.value AND m.workspace = {} AND (m.status <> 'erased' OR {})",
                _encode.encode(member_ids).decode(),
                ws.id,
                allow_erased,
            )
            if rows[0]["found"] < len(member_ids):
                await self._refuse(ws, events)
            results = await self._insert_sqlite(ws, events, at)
            created = [r.id for r in results if r.status == "created"]
            if created:
                await self.k.outbox.add(ws.id, created)
        return results

    async def _refuse(self, ws: WorkspaceRef, events: Sequence[NewEvent]) -> None:
        """Raise the 422 naming the events whose member is not usable here."""
        await self.k.members.resolve(ws, [MemberRef(member_id=e.member_id) for e in events if e.member_id is not None])
        raise NotFound("A member of these events is no longer in this workspace")  # vanished meanwhile

    async def _insert_postgres(
        self, ws: WorkspaceRef, events: Sequence[NewEvent], at: datetime, allow_erased: bool, *, batch: bool = False
    ) -> builtins.list[EventResult]:
        # One statement, whatever the batch size, atomic without a transaction of its own. It checks
        # the members named (and inserts nothing unless all are usable); ids are drawn first, so each input
        # row knows its id whether or not it was inserted; a keyed event goes in only if its key row
        # did (the partitioned log cannot hold a unique index without the month: scrm_event_key's
        # primary key is the uniqueness); it writes the outbox row naming the inserted ones.
        # ``batch``: a group commit's batch outside a transaction, whose audit records this statement
        # appends too, if the members were usable (after the events' keys went in), when it can.
        named = sum(1 for e in events if e.member_id is not None)
        appending = (
            self.k.audit.appending(
                ws.id, "(SELECT found FROM members) = {} AND (SELECT count(*) FROM inserted) >= 0", named
            )
            if batch
            else None
        )
        if batch and appending is None:
            async with self.k.db.transaction():  # its commit records the batch
                return await self._insert_postgres(ws, events, at, allow_erased)
        rows = await self.k.db.fetch(
            f"WITH {'RECURSIVE ' if appending else ''}input AS (SELECT nextval('scrm_event_id_seq') AS id, x.* FROM unnest("
            "{}::bigint[], {}::text[], {}::text[], {}::timestamptz[], {}::text[], {}::text[]) "
            "WITH ORDINALITY AS x(member, type, properties, occurred_at, source, key, ord)), "
            "members AS (SELECT count(*) AS found FROM input JOIN scrm_member m "
            "ON m.id = input.member AND m.workspace = {} AND (m.status <> 'erased' OR {})), "
            "keys AS (INSERT INTO scrm_event_key (workspace, idempotency_key, event_id) "
            "SELECT {}, key, id FROM input WHERE key IS NOT NULL AND (SELECT found FROM members) = {} "
            "ORDER BY ord ON CONFLICT DO NOTHING RETURNING event_id), "
            "inserted AS (INSERT INTO scrm_event "
            "(id, workspace, member, type, properties, occurred_at, recorded_at, source, idempotency_key) "
            "SELECT id, {}, member, type, properties::jsonb, occurred_at, {}, source, key FROM input "
            "WHERE (SELECT found FROM members) = {} AND (key IS NULL OR id IN (SELECT event_id FROM keys)) "
            "ORDER BY ord RETURNING id), "
            "outbox AS (INSERT INTO scrm_outbox (workspace, event_ids, available_at, attempts, created_at) "
            "SELECT {}, json_agg(id ORDER BY id)::text, {}, 0, {} FROM inserted HAVING count(*) > 0 RETURNING id) "
            f"{', ' + appending.ctes if appending else ''} "
            "SELECT input.id, input.key, inserted.id IS NOT NULL AS created, (SELECT id FROM outbox) AS outbox_id, "
            f"(SELECT found FROM members) AS members_found{', (SELECT count(*) FROM audit_moved) AS moved' if appending else ''} "
            "FROM input LEFT JOIN inserted ON inserted.id = input.id ORDER BY input.ord",
            [e.member_id for e in events],
            [e.type for e in events],
            [_encode.encode(e.properties).decode() for e in events],
            [e.occurred_at or at for e in events],
            [e.source for e in events],
            [e.idempotency_key for e in events],
            ws.id,
            allow_erased,
            ws.id,
            named,
            ws.id,
            at,
            named,
            ws.id,
            at,
            at,
            *(appending.args if appending else ()),
        )
        if appending is not None and rows[0]["members_found"] == named:
            await self.k.audit.appended(appending, rows[0]["moved"])
        if rows[0]["members_found"] < named:
            await self._refuse(ws, events)
        if rows[0]["outbox_id"] is not None:
            await self.k.outbox.queue(rows[0]["outbox_id"])
        duplicates = [row["key"] for row in rows if not row["created"]]
        stored = await self._ids_by_key(ws, duplicates) if duplicates else {}
        return [
            EventResult(id=row["id"], status="created")
            if row["created"]
            else EventResult(id=stored[row["key"]], status="duplicate")
            for row in rows
        ]

    async def _insert_sqlite(
        self, ws: WorkspaceRef, events: Sequence[NewEvent], at: datetime
    ) -> builtins.list[EventResult]:
        # SQLite holds the write lock for the whole transaction, so which keys exist cannot change
        # between this look-up and the insert.
        keys = [e.idempotency_key for e in events if e.idempotency_key is not None]
        known = await self._ids_by_key(ws, keys) if keys else {}
        fresh: builtins.list[NewEvent] = []
        pending: set[str] = set()
        for event in events:
            key = event.idempotency_key
            if key is None or (key not in known and key not in pending):
                fresh.append(event)
                if key is not None:
                    pending.add(key)
        rows = await self.k.db.fetch(
            "INSERT INTO scrm_event (workspace, member, type, properties, occurred_at, recorded_at, source, "
            "idempotency_key) SELECT {}, json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
            "json_extract(value, '$[2]'), json_extract(value, '$[3]'), {}, json_extract(value, '$[4]'), "
            "json_extract(value, '$[5]') FROM json_each({}) WHERE true ORDER BY key RETURNING id",
            ws.id,
            at,
            _encode.encode(
                [
                    [
                        e.member_id,
                        e.type,
                        e.properties,
                        str((e.occurred_at or at).astimezone(UTC)),
                        e.source,
                        e.idempotency_key,
                    ]
                    for e in fresh
                ]
            ).decode(),
        )
        new_ids = iter(sorted(row["id"] for row in rows))  # ids grow in insertion order under the lock
        results: builtins.list[EventResult] = []
        for event in events:
            key = event.idempotency_key
            if key is not None and key in known:
                results.append(EventResult(id=known[key], status="duplicate"))
                continue
            event_id = next(new_ids)
            if key is not None:
                known[key] = event_id
            results.append(EventResult(id=event_id, status="created"))
        return results

    async def _ids_by_key(self, ws: WorkspaceRef, keys: Iterable[str]) -> dict[str, int]:
        condition, arg = self.k.db.dialect.any_of("idempotency_key", set(keys), "text")
        source = (
            "event_id AS id, idempotency_key FROM scrm_event_key"
            if self._keys_apart
            else "id, idempotency_key FROM scrm_event"
        )
        rows = await self.k.db.fetch(f"SELECT {source} WHERE workspace = {{}} AND {condition}", ws.id, arg)
        return {row["idempotency_key"]: row["id"] for row in rows}

    @property
    def _keys_apart(self) -> bool:
        """Whether idempotency keys are unique through ``scrm_event_key`` (PostgreSQL, where the log
        is partitioned) rather than through a unique index of ``scrm_event`` (SQLite)."""
        return self.k.db.dialect.name == "postgres"

    async def forget_keys(self, ws: WorkspaceRef, condition: str, *args: Any) -> None:
        """Free the idempotency keys of the workspace's events matching ``condition`` (on ``e``, the
        event), in the caller's transaction, before they are deleted or their key cleared: a later
        request with such a key stores a new event, as it did before keys had their own table."""
        if self._keys_apart:
            await self.k.db.fetch(
                "DELETE FROM scrm_event_key k USING scrm_event e WHERE k.workspace = {} AND k.event_id = e.id "
                f"AND k.idempotency_key = e.idempotency_key AND {condition}",
                ws.id,
                *args,
            )

    async def get(self, ws: WorkspaceRef, event_id: int) -> EventOut:
        """One event by id. On PostgreSQL it is looked for first in the months its id makes likely
        (:meth:`EventPartitions.window`), then, if not there, in every month."""
        by_id = f"SELECT {self.columns} FROM scrm_event e WHERE e.id = {{}} AND e.workspace = {{}}"
        rows = []
        if window := await self.k.event_partitions.window(event_id):
            rows = await self.k.db.fetch(
                f"{by_id} AND e.occurred_at >= {{}} AND e.occurred_at < {{}}", event_id, ws.id, *window
            )
        if not rows:
            rows = await self.k.db.fetch(by_id, event_id, ws.id)
        if not rows:
            raise NotFound(f"No event {event_id} in this workspace")
        return to_event(rows[0])

    async def by_ids(self, ws: WorkspaceRef, event_ids: Iterable[int]) -> builtins.list[EventOut]:
        """The workspace's events with these ids, oldest id first (missing ids are left out)."""
        condition, arg = self.k.db.dialect.any_of("e.id", event_ids, "bigint")
        rows = await self.k.db.fetch(
            f"SELECT {self.columns} FROM scrm_event e WHERE e.workspace = {{}} AND {condition} ORDER BY e.id",
            ws.id,
            arg,
        )
        return [to_event(row) for row in rows]

    async def purge(
        self,
        ws: WorkspaceRef,
        before: datetime,
        *,
        since: datetime | None = None,
        erased_only: bool = False,
        dry_run: bool = False,
    ) -> int:
        """Delete the workspace's events that occurred before ``before`` (and at or after ``since``;
        only erased members' with ``erased_only``); returns how many — with ``dry_run``, how many it would delete, by the same
        condition, so a retention policy's dry run says exactly what applying it does. (An event still
        waiting for delivery when it is purged is skipped by its delivery: keep ``before`` days back.)
        On PostgreSQL a month's partition holding only this workspace's events, all in range, is
        dropped whole (:mod:`scrm.services.partitions`): the same events, gone without a row-by-row
        delete."""
        condition = "e.workspace = {} AND e.occurred_at < {}"
        args: builtins.list[Any] = [ws.id, before]
        if since is not None:
            condition += " AND e.occurred_at >= {}"
            args.append(since)
        if erased_only:
            condition += " AND e.member IN (SELECT id FROM scrm_member WHERE workspace = {} AND status = 'erased')"
            args.append(ws.id)
        if dry_run:
            rows = await self.k.db.fetch(f"SELECT count(*) AS n FROM scrm_event e WHERE {condition}", *args)
            return int(rows[0]["n"])
        async with self.k.db.transaction():
            purged = 0
            if not erased_only:  # months holding only this workspace's events: dropped, not deleted
                for month in await self.k.event_partitions.droppable(ws.id, before, since):
                    purged += await self.k.event_partitions.drop(month)
            await self.forget_keys(ws, condition, *args)
            rows = await self.k.db.fetch(f"DELETE FROM scrm_event AS e WHERE {condition} RETURNING id", *args)
            purged += len(rows)
            self.k.audit.note("events", "", {"purged": purged, "before": before.isoformat()}, action="events.purge")
        return purged

    async def list(self, ws: WorkspaceRef, filters: EventFilter, cursor: str | None, limit: int) -> Page[EventOut]:
        """Events newest first (by ``occurred_at``, then id), keyset-paginated."""
        position = self.k.cursors.decode_position("events", cursor)
        limit = max(1, min(limit, MAX_LIMIT))
        clauses = ["e.workspace = {}"]
        args: builtins.list[Any] = [ws.id]
        for clause, value in (
            ("e.type = {}", filters.type),
            ("e.member = {}", filters.member_id),
            ("e.occurred_at >= {}", filters.after),
            ("e.occurred_at < {}", filters.before),
        ):
            if value is not None:
                clauses.append(clause)
                args.append(value)
        if filters.has_member is not None:
            clauses.append(f"e.member IS {'NOT ' if filters.has_member else ''}NULL")
        if position is not None:
            clauses.append("(e.occurred_at, e.id) < ({}, {})")
            args += list(position)
        sql, args = await self.k.event_partitions.newest_first(self.columns, " AND ".join(clauses), args, limit + 1)
        items = [to_event(row) for row in await self.k.db.fetch(sql, *args)]
        if len(items) > limit:
            last = items[limit - 1]
            return Page(
                items=items[:limit], next_cursor=self.k.cursors.encode_position("events", last.occurred_at, last.id)
            )
        return Page(items=items, next_cursor=None)


async def _write_single_events(
    kernel: Kernel, items: Sequence[tuple[WorkspaceRef, NewEvent]]
) -> builtins.list[EventResult]:
    """Single events of one workspace, posted at once, in one statement (their batch's: a member
    not usable here fails it as a whole, and each event is then written on its own)."""
    return await kernel.events._insert_postgres(items[0][0], [event for _, event in items], now(), False, batch=True)


async def _write_single_event(kernel: Kernel, item: tuple[WorkspaceRef, NewEvent]) -> EventResult:
    ws, event = item
    [result] = await kernel.events._insert_postgres(ws, [event], now(), False)
    return result


#: One event recorded outside a transaction on PostgreSQL (the API's single POST, a plugin's single
#: write): concurrent ones of a workspace share a statement (:mod:`scrm.groupcommit`). Two events
#: with one idempotency key are never in two batches at once (their inserts could deadlock).
SINGLE_EVENTS: GroupCommit[tuple[WorkspaceRef, NewEvent], EventResult] = GroupCommit(
    "scrm.events",
    _write_single_events,
    _write_single_event,
    lane=lambda item: item[0].id,
    conflict=lambda item: item[1].idempotency_key,
    transaction=False,  # one statement: the events, their outbox row and the batch's audit records
)


def check_batch_size(items: Sequence[Any], noun: str) -> None:
    """A batch holds 1 to ``MAX_BATCH`` items; otherwise a 422 about the body as a whole."""
    if not 1 <= len(items) <= MAX_BATCH:
        raise ValidationFailed(
            f"A batch holds 1 to {MAX_BATCH} {noun} (got {len(items)})",
            errors=[field_error("", f"1 to {MAX_BATCH} items")],
        )


def _error(index: int, field: str, message: str) -> dict[str, Any]:
    return field_error(f"[{index}].{field}", message)


def to_event(row: Any) -> EventOut:
    return EventOut(
        id=row["id"],
        member_id=row["member"],
        type=row["type"],
        properties=json_value(row["properties"]),
        occurred_at=timestamp(row["occurred_at"]),
        recorded_at=timestamp(row["recorded_at"]),
        source=row["source"],
        idempotency_key=row["idempotency_key"],
    )


def _are_prefixes(answer: Any) -> bool:
    return isinstance(answer, list) and all(isinstance(p, str) and p for p in answer)
