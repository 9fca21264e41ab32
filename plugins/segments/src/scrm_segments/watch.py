"""Segment entry and exit events (``segment.entered`` / ``segment.exited``) for *watched* segments.

Only a segment something listens to costs anything: a live journey with a segment trigger watches
its segment through the service (``watch`` / ``unwatch``, one watcher name per journey), and an
operator can watch one from the API or the console (watcher ``operator``). A segment nobody watches
adds one indexed read of ``segments_watch`` per delivered batch, and nothing else.

A watched segment's members are rows of ``segments_member``; an entry or an exit is a transition of
that row, made by the database: entering is an upsert that only changes a row that is outside
(``ON CONFLICT … DO UPDATE … WHERE NOT inside``), exiting an update of rows that are inside. Two
deliveries racing on PostgreSQL wait on the row's unique index and the second finds nothing to
change, and a redelivered batch (the outbox is at least once) finds the members where it left them:
one event per transition. Each event's idempotency key counts the row's transitions as well.

Membership is evaluated where it can change:

- **delivery** (``scrm_event_batch_recorded``, in its transaction): the members the batch names,
  after profiles and stages were brought up to date — tags, attributes, consent, events and stage
  changes all reach segments as events;
- **the clock**: the hourly ``segments.lifecycle`` cron re-evaluates the watched segments whose
  definition reads the time (``joined``, ``active``, ``events`` windows, ``rfm``), since "no
  engagement for 30 days" becomes true without an event — and a points balance (``points``), which
  the points plugin changes without an event of its own;
- **recompute**: ``scrm segments rebuild``, and saving a watched segment's definition.

When a segment gains its first watcher its current members are taken as they are, without events (a
journey published today does not fire for everyone already in its segment); when it loses its last
one they are forgotten."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import scrm

from scrm_segments import clock, config, definition

log = logging.getLogger("scrm_segments")
ENTERED = "segment.entered"
EXITED = "segment.exited"
#: the watcher name an operator's "watch" switch uses
OPERATOR = "operator"
#: clauses whose answer changes without an event of its own: with the clock, or (``points``) with a
#: balance the points plugin keeps without recording an event for each change
TIMED = frozenset({"joined", "active", "events", "rfm", "points"})


@dataclass(frozen=True)
class Watched:
    id: int
    name: str
    tree: dict[str, Any]


def timed(node: definition.Node) -> bool:
    """Whether a definition's answer can change with time alone (no event)."""
    if node.kind in ("all", "any", "not"):
        return any(timed(child) for child in node.value)
    return node.kind in TIMED


async def resolve(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, segment: str) -> int | None:
    """The id of the saved segment named by its id or its name (digits are an id), or None."""
    by = "id" if segment.isdecimal() else "name"
    rows = await kernel.sql.fetch(
        f"SELECT id FROM segments_segment WHERE {by} = {{}} AND workspace = {{}}",
        int(segment) if by == "id" else segment,
        ws.id,
    )
    return int(rows[0]["id"]) if rows else None


async def watched(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, segment_id: int | None = None) -> list[Watched]:
    """The workspace's watched segments (or the one given, if watched). Inside a transaction on
    PostgreSQL their rows are share-locked, so an evaluation waits for a definition being changed and
    reads the new one (SQLite's transactions take turns anyway): evaluating with a definition that is
    no longer current would undo the change's entries and exits."""
    only = "" if segment_id is None else " AND s.id = {}"
    lock = " FOR SHARE OF s" if kernel.sql.postgres and kernel.db.in_transaction() else ""
    rows = await kernel.sql.fetch(
        "SELECT s.id, s.name, s.definition FROM segments_segment s WHERE s.workspace = {} "
        f"AND s.id IN (SELECT w.segment FROM segments_watch w WHERE w.workspace = {{}}){only} ORDER BY s.id{lock}",
        ws.id,
        ws.id,
        *([] if segment_id is None else [segment_id]),
    )
    return [Watched(int(r["id"]), r["name"], msgspec.json.decode(r["definition"])) for r in rows]


async def watchers(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, segment_ids: Sequence[int]) -> dict[int, list[str]]:
    """Who watches each of these segments (segments nobody watches are left out)."""
    if not segment_ids:
        return {}
    condition, arg = kernel.sql.any_of("segment", segment_ids)
    rows = await kernel.sql.fetch(
        f"SELECT segment, watcher FROM segments_watch WHERE workspace = {{}} AND {condition} ORDER BY watcher",
        ws.id,
        arg,
    )
    found: dict[int, list[str]] = {}
    for r in rows:
        found.setdefault(int(r["segment"]), []).append(r["watcher"])
    return found


async def watch(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, segment_id: int, watcher: str) -> None:
    """Add a watcher to a segment (again is harmless); the first one takes the current members as
    they are, without events."""
    at = clock.now()
    async with kernel.db.transaction():
        before = await kernel.sql.fetch(
            f"SELECT id FROM segments_segment WHERE id = {{}} AND workspace = {{}}{kernel.sql.for_update}",
            segment_id,
            ws.id,
        )
        if not before:
            raise scrm.NotFound(f"No segment {segment_id} in this workspace")
        first = not await kernel.sql.fetch("SELECT 1 AS one FROM segments_watch WHERE segment = {} LIMIT 1", segment_id)
        await kernel.sql.fetch(
            "INSERT INTO segments_watch (workspace, segment, watcher, created_at) VALUES ({}, {}, {}, {}) "
            "ON CONFLICT (segment, watcher) DO NOTHING",
            ws.id,
            segment_id,
            watcher,
            at,
        )
        if first:
            for segment in await watched(kernel, ws, segment_id):
                where = await _condition(kernel, ws, segment, at)
                await _enter(kernel, ws, segment.id, where, None, at)


async def unwatch(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, watcher: str, segment_id: int | None = None) -> None:
    """Remove a watcher (from one segment, or from all); a segment left unwatched forgets its members."""
    only = "" if segment_id is None else " AND segment = {}"
    async with kernel.db.transaction():
        await kernel.sql.fetch(
            f"DELETE FROM segments_watch WHERE workspace = {{}} AND watcher = {{}}{only}",
            ws.id,
            watcher,
            *([] if segment_id is None else [segment_id]),
        )
        await kernel.sql.fetch(
            "DELETE FROM segments_member WHERE workspace = {} "
            "AND segment NOT IN (SELECT segment FROM segments_watch WHERE workspace = {})",
            ws.id,
            ws.id,
        )


async def on_events(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, events: Sequence[scrm.EventOut]) -> None:
    """Re-evaluate the watched segments for the members a delivered batch names (in its transaction).
    Entry and exit events are left out: they change nothing a definition reads; so are workspace
    events, which name no member."""
    members = sorted({e.member_id for e in events if e.member_id is not None and e.type not in (ENTERED, EXITED)})
    if not members:
        return
    segments = await watched(kernel, ws)
    if segments:
        await _evaluate(kernel, ws, segments, members, clock.now())


async def recompute(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    at: datetime | None = None,
    *,
    segment_id: int | None = None,
    only_timed: bool = False,
) -> int:
    """Re-evaluate watched segments over all members, recording the entries and exits; returns how
    many. ``only_timed``: just the segments whose answer changes with the clock (the hourly cron)."""
    at = at or clock.now()
    async with kernel.db.transaction():  # the definitions read in it, not before (see watched)
        segments = await watched(kernel, ws, segment_id)
        if only_timed:
            segments = [s for s in segments if timed(definition.parse(s.tree))]
        if not segments:
            return 0
        return await _evaluate(kernel, ws, segments, None, at)


async def _condition(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, segment: Watched, at: datetime, settings: Any = None
) -> scrm.MemberCondition:
    settings = settings or await config.load(kernel, ws.id)
    return definition.Compiler(kernel, ws, settings, at).condition(definition.parse(segment.tree))


async def _evaluate(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, segments: Sequence[Watched], members: list[int] | None, at: datetime
) -> int:
    """Move the members (these, or all when None) of each segment in or out; record the events."""
    settings = await config.load(kernel, ws.id)
    events: list[scrm.NewEvent] = []
    for segment in segments:
        try:
            where = await _condition(kernel, ws, segment, at, settings)
        except scrm.Problem as exc:  # e.g. a points clause once points is switched off: skip, never block delivery
            log.warning("segment %s of %s cannot be evaluated: %s", segment.id, ws.slug, exc.detail)
            continue
        props = {"segment": segment.name, "segment_id": segment.id}
        for kind, rows in (
            (ENTERED, await _enter(kernel, ws, segment.id, where, members, at)),
            (EXITED, await _exit(kernel, ws, segment.id, where, members, at)),
        ):
            events.extend(
                scrm.NewEvent(
                    int(r["member_id"]),
                    kind,
                    dict(props),
                    occurred_at=at,
                    source="segments",
                    idempotency_key=f"{kind}:{segment.id}:{r['member_id']}:{r['changes']}",
                )
                for r in rows
            )
    await kernel.events.record(ws, events)
    return len(events)


async def _enter(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    segment_id: int,
    where: scrm.MemberCondition,
    members: list[int] | None,
    at: datetime,
) -> list[Any]:
    """Members now in the segment whose row was outside (or absent): inserted or turned inside."""
    scope, scope_args = ("", []) if members is None else _scope(kernel, "m.id", members)
    return await kernel.sql.fetch(
        "INSERT INTO segments_member (workspace, segment, member_id, inside, changes, since) "
        "SELECT m.workspace, {}, m.id, TRUE, 1, {} FROM scrm_member m "
        f"WHERE m.workspace = {{}} AND m.status <> 'erased'{scope} AND ({where.sql}) ORDER BY m.id "
        "ON CONFLICT (segment, member_id) DO UPDATE SET inside = TRUE, changes = segments_member.changes + 1, "
        "since = excluded.since WHERE NOT segments_member.inside RETURNING member_id, changes",
        segment_id,
        at,
        ws.id,
        *scope_args,
        *where.args,
    )


async def _exit(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    segment_id: int,
    where: scrm.MemberCondition,
    members: list[int] | None,
    at: datetime,
) -> list[Any]:
    """Members inside whose row no longer matches (an erased member is forgotten, not exited)."""
    scope, scope_args = ("", []) if members is None else _scope(kernel, "member_id", members)
    return await kernel.sql.fetch(
        "UPDATE segments_member SET inside = FALSE, changes = changes + 1, since = {} "
        f"WHERE segment = {{}} AND inside{scope} AND EXISTS (SELECT 1 FROM scrm_member e "
        "WHERE e.id = segments_member.member_id AND e.status <> 'erased') "
        "AND NOT EXISTS (SELECT 1 FROM scrm_member m WHERE m.id = segments_member.member_id AND m.workspace = {} "
        f"AND ({where.sql})) RETURNING member_id, changes",
        at,
        segment_id,
        *scope_args,
        ws.id,
        *where.args,
    )


def _scope(kernel: scrm.Kernel, column: str, members: list[int]) -> tuple[str, list[Any]]:
    condition, arg = kernel.sql.any_of(column, members)
    return f" AND {condition}", [arg]


async def forget_member(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> None:
    """An erased member leaves every watched segment without an event."""
    await kernel.sql.fetch("DELETE FROM segments_member WHERE workspace = {} AND member_id = {}", ws.id, member_id)


async def forget_segment(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, segment_id: int) -> None:
    """A deleted segment's watchers and members go with it."""
    for table in ("segments_watch", "segments_member"):
        await kernel.sql.fetch(f"DELETE FROM {table} WHERE workspace = {{}} AND segment = {{}}", ws.id, segment_id)
