"""Lifecycle stages (PRODUCT §7): *new* (joined within N days), *active* (engaged within N days),
*silent* (no engagement for N days), *churned* (none for M days). Days are whole local days in the
workspace's time zone; idleness counts from the last engagement, or from joining for a member who
never engaged.

A stage moves two ways: an event arrives (delivery recomputes the members it touched, see
``profiles``), or time passes (the hourly cron ``segments.lifecycle`` asks the index for the members
of a stage whose reference time crossed that stage's boundary — never a scan of all members). Each
move is written with its stage tag (group ``lifecycle``: ``lifecycle:active``…) and a
``segments.stage_changed`` event, so points rules, lottery eligibility and journeys can use it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import scrm

from scrm_segments import clock, config, watch
from scrm_segments.config import SegmentsSettings

log = logging.getLogger("scrm_segments")
STAGES = ("new", "active", "silent", "churned")
TAG_GROUP = "lifecycle"
EVENT = "segments.stage_changed"


def tag(stage: str) -> str:
    return f"lifecycle:{stage}"


def stage_of(joined_at: datetime, ref_at: datetime, at: datetime, zone: str, s: SegmentsSettings) -> str:
    today = clock.local_day(at, zone)
    if clock.days_since(joined_at, today, zone) < s.n_days:
        return "new"
    idle = clock.days_since(ref_at, today, zone)
    if idle < s.n_days:
        return "active"
    return "silent" if idle < s.m_days else "churned"


@dataclass(frozen=True)
class Move:
    member_id: int
    before: str | None
    after: str


async def apply_moves(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, moves: Sequence[Move], at: datetime) -> None:
    """Write stage moves: the profile's stage, the stage tags, one event each (inside the caller's
    transaction; the event's idempotency key makes a repeated move one event)."""
    if not moves:
        return
    by_stage: dict[str, list[int]] = {}
    for m in moves:
        by_stage.setdefault(m.after, []).append(m.member_id)
    for stage, ids in by_stage.items():  # at most four statements, whatever the number of moves
        condition, arg = kernel.sql.any_of("member_id", ids)
        await kernel.sql.fetch(
            f"UPDATE segments_profile SET stage = {{}}, stage_since = {{}} WHERE workspace = {{}} AND {condition}",
            stage,
            at,
            ws.id,
            arg,
        )
    changes: dict[str, int] = {}
    for m in moves:
        changes[m.after] = changes.get(m.after, 0) + 1
        if m.before:
            changes[m.before] = changes.get(m.before, 0) - 1
    await count_stages(kernel, ws, changes)
    await _tags(kernel, ws, moves)
    day = clock.local_day(at, ws.time_zone).isoformat()
    await kernel.events.record(
        ws,
        [
            scrm.NewEvent(
                m.member_id,
                EVENT,
                {"from": m.before, "to": m.after},
                occurred_at=at,
                source="segments",
                idempotency_key=f"{EVENT}:{m.member_id}:{m.before}:{m.after}:{day}",
            )
            for m in moves
        ],
    )


async def count_stages(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, changes: dict[str, int]) -> None:
    """Add to the members counted per stage (``segments_stage_count``, the lifecycle funnel and a
    count's total): one upsert, rows in stage order so concurrent deliveries lock them alike."""
    rows = [{"stage": stage, "n": n} for stage, n in sorted(changes.items()) if n]
    if not rows:
        return
    sql = kernel.sql
    await sql.fetch(
        "INSERT INTO segments_stage_count (workspace, stage, n) "
        f"SELECT {{}}, x.stage, x.n FROM {sql.rows([('stage', 'text'), ('n', 'bigint')])} WHERE true ORDER BY x.stage "
        "ON CONFLICT (workspace, stage) DO UPDATE SET n = segments_stage_count.n + excluded.n",
        ws.id,
        sql.encode(rows),
    )


async def recount(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> None:
    """Count the members per stage again from the profiles (after profiles were loaded in bulk)."""
    await kernel.sql.fetch("DELETE FROM segments_stage_count WHERE workspace = {}", ws.id)
    await kernel.sql.fetch(
        "INSERT INTO segments_stage_count (workspace, stage, n) SELECT workspace, stage, COUNT(*) "
        "FROM segments_profile WHERE workspace = {} AND stage <> '' GROUP BY workspace, stage",
        ws.id,
    )


async def _tags(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, moves: Sequence[Move]) -> None:
    leaving: dict[str, list[int]] = {}
    reaching: dict[str, list[int]] = {}
    for m in moves:
        if m.before:
            leaving.setdefault(m.before, []).append(m.member_id)
        reaching.setdefault(m.after, []).append(m.member_id)
    for stage, ids in leaving.items():
        await kernel.tags.detach(ws, ids, [tag(stage)])
    known = await kernel.tags.ids(ws, [tag(s) for s in reaching])
    for stage in sorted(reaching):
        if tag(stage) not in known:  # first time: the tag, in the lifecycle group
            await kernel.tags.ensure(ws, [tag(stage)])
            await kernel.tags.update(ws, tag(stage), scrm.TagUpdate(group=TAG_GROUP))
    for stage, ids in reaching.items():
        await kernel.tags.attach(ws, ids, [tag(stage)])


async def advance(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, at: datetime | None = None) -> int:
    """Move the members whose stage time has changed (new → active/silent/churned, active →
    silent/churned, silent → churned); returns how many moved. Each query reads the stage index
    from the boundary back, so the cost follows the members that move, not the workspace's size."""
    at = at or clock.now()
    s = await config.load(kernel, ws.id)
    zone = ws.time_zone
    n_boundary = clock.since_boundary(s.n_days, at, zone)
    moved = 0
    async with kernel.db.transaction():
        rows = await kernel.sql.fetch(
            "SELECT member_id, joined_at, ref_at, stage FROM segments_profile WHERE workspace = {} AND ("
            "(stage = 'new' AND joined_at < {}) OR (stage = 'active' AND ref_at < {}) "
            f"OR (stage = 'silent' AND ref_at < {{}})) ORDER BY member_id{kernel.sql.for_update}",
            ws.id,
            n_boundary,
            n_boundary,
            clock.since_boundary(s.m_days, at, zone),
        )
        moves = []
        for r in rows:
            after = stage_of(scrm.as_datetime(r["joined_at"]), scrm.as_datetime(r["ref_at"]), at, zone, s)
            if after != r["stage"]:
                moves.append(Move(int(r["member_id"]), r["stage"], after))
        await apply_moves(kernel, ws, moves, at)
        moved += len(moves)
    return moved


async def run(ctx: scrm.JobContext) -> None:
    """Cron ``segments.lifecycle`` (hourly): time-driven stage moves in every workspace using segments,
    and the entries and exits of watched segments that time alone changes (see ``watch``)."""
    for workspace in await ctx.kernel.workspaces.list():
        ws = await ctx.kernel.workspace_ref(workspace.slug)
        if "segments" in ws.enabled_plugins:
            await tick(ctx.kernel, ws)


async def tick(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> tuple[int, int]:
    """One workspace's share of the hourly cron: (members moved to another stage, entries and exits
    of watched segments recorded)."""
    at = clock.now()
    moved = await advance(kernel, ws, at)
    if moved:
        log.info("segments.lifecycle: %s member(s) moved in %s", moved, ws.slug)
    crossed = await watch.recompute(kernel, ws, at, only_timed=True)
    if crossed:
        log.info("segments.lifecycle: %s segment entry/exit(s) in %s", crossed, ws.slug)
    return moved, crossed
