"""Profiles kept from delivered events, in the delivery's transaction (``scrm_event_batch_recorded``).

A batch costs a handful of statements whatever its size: the batch's runs of event ids read from
and written to ``segments_applied`` (only events never applied go on, so a redelivered event adds
nothing; see ``applied``), one upsert of the touched members' profiles (returning what the stage needs), one upsert of the
per-day counters, then the stage moves. An *engagement* event is any type but the core's own
(``member.*``, ``tags.*``, ``consent.*``) and this plugin's (``segments.*``, ``segment.*``); ``order.paid`` also counts as an order
with its ``amount`` (a number; anything else counts as 0)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import scrm

from scrm_segments import applied, clock, config, lifecycle

#: this plugin's own events (declared passive to the core: ``scrm_passive_event_types``)
NOT_ENGAGEMENT_OWN = ("segments.", "segment.")
NOT_ENGAGEMENT = ("member.", "tags.", "consent.", *NOT_ENGAGEMENT_OWN)
ORDER = "order.paid"


def is_engagement(event_type: str) -> bool:
    return not event_type.startswith(NOT_ENGAGEMENT)


def amount_of(properties: dict[str, Any]) -> float:
    value = properties.get("amount")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


@dataclass
class Touch:
    """What one batch does to one member."""

    joined_at: datetime | None = None
    seen_at: datetime | None = None
    engagement: int = 0
    orders: int = 0
    monetary: float = 0.0
    last_order_at: datetime | None = None
    days: dict[tuple[str, date], int] = field(default_factory=dict)


def _later(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


def touches(events: Sequence[scrm.EventOut], zone: str) -> dict[int, Touch]:
    """What the batch does to each member it names (a workspace event names none)."""
    found: dict[int, Touch] = {}
    for e in events:
        if e.member_id is None:
            continue
        t = found.setdefault(e.member_id, Touch())
        if e.type == "member.created":
            t.joined_at = e.occurred_at if t.joined_at is None else min(t.joined_at, e.occurred_at)
        if not is_engagement(e.type):
            continue
        t.seen_at = _later(t.seen_at, e.occurred_at)
        t.engagement += 1
        key = (e.type, clock.local_day(e.occurred_at, zone))
        t.days[key] = t.days.get(key, 0) + 1
        if e.type == ORDER:
            t.orders += 1
            t.monetary += amount_of(e.properties)
            t.last_order_at = _later(t.last_order_at, e.occurred_at)
    return {member: t for member, t in found.items() if t.joined_at is not None or t.engagement}


async def apply(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, events: Sequence[scrm.EventOut]) -> None:
    """Apply a delivered batch to the profiles, counters and stages."""
    fresh = await applied.fresh(kernel, ws, events)
    found = touches([e for e in fresh if e.type == "member.created" or is_engagement(e.type)], ws.time_zone)
    if not found:
        return
    at = clock.now()
    profiles = await _upsert(kernel, ws, found, at)
    await _count_days(kernel, ws, {int(r["member_id"]) for r in profiles}, found)
    settings = await config.load(kernel, ws.id)
    moves = []
    for r in profiles:
        after = lifecycle.stage_of(
            scrm.as_datetime(r["joined_at"]), scrm.as_datetime(r["ref_at"]), at, ws.time_zone, settings
        )
        before = r["stage"] if r["stage"] != "" else None
        if after != before:
            moves.append(lifecycle.Move(int(r["member_id"]), before, after))
    await lifecycle.apply_moves(kernel, ws, moves, at)


async def _upsert(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, found: dict[int, Touch], at: datetime) -> list[Any]:
    """One statement: create or advance each touched member's profile (a member of another
    workspace, or none, joins no ``scrm_member`` row and is left out; so is an erased member, whose
    stage event could not be recorded); returns the new values."""
    sql = kernel.sql
    columns = [
        ("member_id", "bigint"),
        ("joined_at", "timestamptz"),
        ("seen_at", "timestamptz"),
        ("engagement", "bigint"),
        ("orders", "bigint"),
        ("monetary", "double precision"),
        ("last_order_at", "timestamptz"),
    ]
    data = sql.encode(
        {
            "member_id": member,
            "joined_at": t.joined_at,
            "seen_at": t.seen_at,
            "engagement": t.engagement,
            "orders": t.orders,
            "monetary": t.monetary,
            "last_order_at": t.last_order_at,
        }
        for member, t in sorted(found.items())
    )

    def later(a: str, b: str) -> str:
        return sql.greatest(f"COALESCE({a}, {b})", f"COALESCE({b}, {a})")

    def earlier(a: str, b: str) -> str:
        return sql.least(f"COALESCE({a}, {b})", f"COALESCE({b}, {a})")

    p = "segments_profile"
    return await sql.fetch(
        "INSERT INTO segments_profile (workspace, member_id, joined_at, seen_at, ref_at, engagement, orders, "
        "monetary, last_order_at, stage, stage_since) "
        "SELECT m.workspace, m.id, COALESCE(x.joined_at, m.created_at), x.seen_at, "
        "COALESCE(x.seen_at, x.joined_at, m.created_at), x.engagement, x.orders, x.monetary, x.last_order_at, '', {} "
        f"FROM {sql.rows(columns)} JOIN scrm_member m ON m.id = x.member_id AND m.workspace = {{}} "
        "WHERE m.status <> 'erased' ORDER BY m.id "
        "ON CONFLICT (workspace, member_id) DO UPDATE SET "
        f"joined_at = {earlier(f'{p}.joined_at', 'excluded.joined_at')}, "
        f"seen_at = {later(f'{p}.seen_at', 'excluded.seen_at')}, "
        f"ref_at = COALESCE({later(f'{p}.seen_at', 'excluded.seen_at')}, "
        f"{earlier(f'{p}.joined_at', 'excluded.joined_at')}), "
        f"engagement = {p}.engagement + excluded.engagement, orders = {p}.orders + excluded.orders, "
        f"monetary = {p}.monetary + excluded.monetary, "
        f"last_order_at = {later(f'{p}.last_order_at', 'excluded.last_order_at')} "
        "RETURNING member_id, joined_at, ref_at, stage",
        at,
        data,
        ws.id,
    )


async def _count_days(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, members: set[int], found: dict[int, Touch]) -> None:
    """Add to the per-day counters of ``members`` (those whose profile was just upserted: members
    of this workspace, not erased — checked there already, so no join with ``scrm_member`` here)."""
    sql = kernel.sql
    rows = [
        {"member_id": member, "type": kind, "day": day, "n": n}
        for member, t in sorted(found.items())
        if member in members
        for (kind, day), n in sorted(t.days.items())
    ]
    if not rows:
        return
    columns = [("member_id", "bigint"), ("type", "text"), ("day", "date"), ("n", "bigint")]
    await sql.fetch(
        "INSERT INTO segments_daily (workspace, member_id, type, day, n) "
        f"SELECT {{}}, x.member_id, x.type, x.day, x.n FROM {sql.rows(columns)} WHERE true "
        "ORDER BY x.member_id, x.type, x.day "
        "ON CONFLICT (workspace, member_id, type, day) DO UPDATE SET n = segments_daily.n + excluded.n",
        ws.id,
        sql.encode(rows),
    )


async def prune(ctx: scrm.JobContext) -> None:
    """Cron ``segments.prune`` (daily): forget applied event ids after a week — a delivery is retried
    within its lease and backoff, and a failed one rolled its marks back with it."""
    await ctx.kernel.sql.fetch("DELETE FROM segments_applied WHERE applied_at < {}", clock.now() - timedelta(days=7))
