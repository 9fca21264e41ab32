"""Rollups kept by event delivery (``scrm_event_batch_recorded``), in the delivery's transaction.

A batch costs a few statements whatever its size: the event ids into ``analytics_applied`` (only
the ones never applied come back: a redelivery counts nothing), the touched members' join days, the
"active in this day / week / month" marks (each new mark counts one active member, and one for the
member's join cohort), the members' order counts (first and second orders make buyers and repeat
buyers), then one upsert of every daily number. The day of an event is its local day in the
workspace's time zone.

A workspace event (no member) counts for nothing. *Engagement* is any event but the core's own
(``member.*``, ``tags.*``, ``consent.*``) and the segments plugin's (``segments.*``, and its
``segment.entered`` / ``segment.exited``). ``order.paid`` is an order of ``properties.amount``; it
is a *community* order when ``properties.community`` is true (for the GMV share). A positive numeric
``properties.points`` on an engagement event counts as points issued; ``points.redeemed`` events'
``points`` as redeemed. Entries are ``lottery.entered`` and ``contests.submitted`` events; ballots are
``poll.voted`` and ``contests.voted``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import scrm

from scrm_analytics import periods

NOT_ENGAGEMENT = ("member.", "tags.", "consent.", "segments.", "segment.")
ENTRY_TYPES = ("lottery.entered", "contests.submitted")
BALLOT_TYPES = ("poll.voted", "contests.voted")
COHORT_GRAINS = ("week", "month")


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def counted(event_type: str) -> bool:
    """Whether an event of this type adds to any rollup."""
    return event_type in ("member.created", "member.erased") or not event_type.startswith(NOT_ENGAGEMENT)


class Batch:
    """The increments one batch of events makes."""

    def __init__(self) -> None:
        self.daily: dict[tuple[date, str, str], float] = defaultdict(float)
        self.active: set[tuple[int, str, date]] = set()
        self.orders: dict[int, list[date]] = defaultdict(list)  # member: the days of their orders

    def add(self, e: scrm.EventOut, zone: str) -> None:
        if e.member_id is None:  # a workspace event: no one joined, engaged or ordered
            return
        at = periods.local(e.occurred_at, zone)
        day = at.date()
        if e.type == "member.created":
            self.daily[day, "joined", ""] += 1
        elif e.type == "member.erased":
            self.daily[day, "erased", ""] += 1
        if e.type.startswith(NOT_ENGAGEMENT):
            return
        self.daily[day, "events", e.type] += 1
        self.daily[day, "hour", f"{at.weekday()}:{at.hour}"] += 1
        for grain in periods.GRAINS:
            self.active.add((e.member_id, grain, periods.start(day, grain)))
        props = e.properties
        if e.type == "order.paid":
            amount = _number(props.get("amount"))
            self.daily[day, "orders", ""] += 1
            self.daily[day, "gmv", ""] += amount
            if props.get("community") is True:
                self.daily[day, "community_orders", ""] += 1
                self.daily[day, "community_gmv", ""] += amount
            self.orders[e.member_id].append(day)
        points = _number(props.get("points"))
        if e.type == "points.redeemed":
            self.daily[day, "points_redeemed", ""] += abs(points)
        elif points > 0:
            self.daily[day, "points_issued", ""] += points
        if e.type in ENTRY_TYPES:
            self.daily[day, "entries", ""] += 1
        if e.type in BALLOT_TYPES:
            self.daily[day, "ballots", ""] += 1


async def unseen(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, events: Sequence[scrm.EventOut]) -> list[scrm.EventOut]:
    if not events:
        return []
    sql = kernel.sql
    rows = await sql.fetch(
        "INSERT INTO analytics_applied (workspace, event_id, applied_at) SELECT {}, x.id, {} "
        f"FROM {sql.rows([('id', 'bigint')])} WHERE true ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        ws.id,
        periods.now(),
        sql.encode({"id": e.id} for e in events),
    )
    fresh = {int(r["event_id"]) for r in rows}
    return [e for e in events if e.id in fresh]


async def apply(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, events: Sequence[scrm.EventOut]) -> None:
    """Apply a delivered batch to the rollups (inside the caller's transaction); events that count
    nothing (tags, consent, stage changes…) are not even marked."""
    fresh = await unseen(kernel, ws, [e for e in events if counted(e.type)])
    if not fresh:
        return
    batch = Batch()
    for e in fresh:
        batch.add(e, ws.time_zone)
    joined = await _join_days(kernel, ws, {member for member, _, _ in batch.active} | set(batch.orders))
    await _mark_active(kernel, ws, batch, joined)
    await _count_orders(kernel, ws, batch)
    await _upsert_daily(kernel, ws, batch.daily)
    if batch.orders:  # a buyer moved to an earlier day leaves a 0 behind: the same as no row
        await kernel.sql.fetch(
            "DELETE FROM analytics_daily WHERE workspace = {} AND metric IN ('buyers', 'repeat_buyers') AND n = 0",
            ws.id,
        )


async def _join_days(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, members: set[int]) -> dict[int, date]:
    """Each member's local join day, remembered in ``analytics_member`` from the core's
    ``created_at`` the first time the member is seen (members of other workspaces are left out)."""
    if not members:
        return {}
    sql = kernel.sql
    condition, arg = sql.any_of("member_id", sorted(members))
    rows = await sql.fetch(
        f"SELECT member_id, joined FROM analytics_member WHERE workspace = {{}} AND {condition}", ws.id, arg
    )
    known = {int(r["member_id"]): scrm.as_date(r["joined"]) for r in rows}
    missing = sorted(members - set(known))
    if missing:
        condition, arg = sql.any_of("id", missing)
        created = await sql.fetch(
            f"SELECT id, created_at FROM scrm_member WHERE workspace = {{}} AND {condition}", ws.id, arg
        )
        new = {int(r["id"]): periods.local(scrm.as_datetime(r["created_at"]), ws.time_zone).date() for r in created}
        if new:
            columns = [("member_id", "bigint"), ("joined", "date")]
            await sql.fetch(
                "INSERT INTO analytics_member (workspace, member_id, joined, orders) "
                f"SELECT {{}}, x.member_id, x.joined, 0 FROM {sql.rows(columns)} WHERE true "
                "ON CONFLICT (workspace, member_id) DO NOTHING",
                ws.id,
                sql.encode({"member_id": m, "joined": d} for m, d in sorted(new.items())),
            )
        known |= new
    return known


async def _mark_active(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, batch: Batch, joined: dict[int, date]) -> None:
    """Mark members active per day, then — only for the days first marked now — per week and month:
    a day's mark is written with its week's and month's, so a member already marked on that day is
    marked in its week and month too. A member active again the same day (the common case) costs
    one conflicting row, not three."""
    days = sorted((m, g, p) for m, g, p in batch.active if m in joined and g == "day")
    fresh = await _insert_marks(kernel, ws, days, batch, joined)
    wider = {(m, g, periods.start(day, g)) for m, _, day in fresh for g in periods.GRAINS if g != "day"}
    await _insert_marks(kernel, ws, sorted(wider), batch, joined)


async def _insert_marks(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    marks: list[tuple[int, str, date]],
    batch: Batch,
    joined: dict[int, date],
) -> list[tuple[int, str, date]]:
    """Insert "active in this period" marks; each one new counts an active member of its period
    (and of its join cohort); returns the new ones."""
    if not marks:
        return []
    sql = kernel.sql
    columns = [("member_id", "bigint"), ("grain", "text"), ("period", "date")]
    rows = await sql.fetch(
        "INSERT INTO analytics_active (workspace, member_id, grain, period) "
        f"SELECT {{}}, x.member_id, x.grain, x.period FROM {sql.rows(columns)} WHERE true "
        "ON CONFLICT (workspace, grain, period, member_id) DO NOTHING RETURNING member_id, grain, period",
        ws.id,
        sql.encode({"member_id": m, "grain": g, "period": p} for m, g, p in marks),
    )
    fresh = [(int(r["member_id"]), r["grain"], scrm.as_date(r["period"])) for r in rows]
    cohorts: dict[tuple[str, date, date], int] = defaultdict(int)
    for member, grain, period in fresh:
        batch.daily[period, f"active_{grain}", ""] += 1
        if grain in COHORT_GRAINS:
            cohorts[grain, periods.start(joined[member], grain), period] += 1
    if cohorts:
        columns = [("grain", "text"), ("cohort", "date"), ("period", "date"), ("n", "bigint")]
        await sql.fetch(
            "INSERT INTO analytics_cohort (workspace, grain, cohort, period, n) "
            f"SELECT {{}}, x.grain, x.cohort, x.period, x.n FROM {sql.rows(columns)} WHERE true "
            "ORDER BY x.grain, x.cohort, x.period "
            "ON CONFLICT (workspace, grain, cohort, period) DO UPDATE SET n = analytics_cohort.n + excluded.n",
            ws.id,
            sql.encode({"grain": g, "cohort": c, "period": p, "n": n} for (g, c, p), n in sorted(cohorts.items())),
        )
    return fresh


async def _count_orders(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, batch: Batch) -> None:
    """Each member's order count and first two order days; a buyer is counted on the day of their
    first order and a repeat buyer on the day of their second, so an earlier order arriving late
    moves the count to its day (one taken off the old day, one put on the new)."""
    if not batch.orders:
        return
    sql = kernel.sql
    condition, arg = sql.any_of("member_id", sorted(batch.orders))
    rows = await sql.fetch(
        "SELECT member_id, first_order, second_order FROM analytics_member "
        f"WHERE workspace = {{}} AND {condition} ORDER BY member_id{sql.for_update}",
        ws.id,
        arg,
    )
    changes = []
    for r in sorted(rows, key=lambda r: int(r["member_id"])):
        member = int(r["member_id"])
        before = [scrm.as_date(d) for d in (r["first_order"], r["second_order"]) if d is not None]
        after = sorted(before + batch.orders[member])[:2]
        for metric, old, new in zip(("buyers", "repeat_buyers"), before + [None] * 2, after + [None] * 2, strict=False):
            if old != new:
                if old is not None:
                    batch.daily[old, metric, ""] -= 1
                if new is not None:
                    batch.daily[new, metric, ""] += 1
        changes.append(
            {
                "member_id": member,
                "n": len(batch.orders[member]),
                "first_order": after[0],
                "second_order": after[1] if len(after) > 1 else None,
            }
        )
    columns = [("member_id", "bigint"), ("n", "bigint"), ("first_order", "date"), ("second_order", "date")]
    await sql.fetch(
        "UPDATE analytics_member SET orders = orders + x.n, first_order = x.first_order, second_order = x.second_order "
        f"FROM {sql.rows(columns)} WHERE analytics_member.workspace = {{}} AND analytics_member.member_id = x.member_id",
        sql.encode(changes),
        ws.id,
    )


async def _upsert_daily(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, daily: dict[tuple[date, str, str], float]) -> None:
    daily = {key: n for key, n in daily.items() if n}
    if not daily:
        return
    sql = kernel.sql
    columns = [("day", "date"), ("metric", "text"), ("key", "text"), ("n", "double precision")]
    await sql.fetch(
        "INSERT INTO analytics_daily (workspace, day, metric, key, n) "
        f"SELECT {{}}, x.day, x.metric, x.key, x.n FROM {sql.rows(columns)} WHERE true ORDER BY x.metric, x.day, x.key "
        "ON CONFLICT (workspace, metric, day, key) DO UPDATE SET n = analytics_daily.n + excluded.n",
        ws.id,
        sql.encode({"day": d, "metric": m, "key": k, "n": n} for (d, m, k), n in sorted(daily.items())),
    )


async def rebuild(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> int:
    """Recompute the workspace's rollups from the event log (``scrm analytics rebuild``): the rollups
    are emptied, then every stored event applied, a page at a time; returns how many were read."""
    async with kernel.db.transaction():
        for table in (
            "analytics_daily",
            "analytics_active",
            "analytics_cohort",
            "analytics_member",
            "analytics_applied",
        ):
            await kernel.sql.fetch(f"DELETE FROM {table} WHERE workspace = {{}}", ws.id)
    cursor: str | None = None
    read = 0
    while True:
        page = await kernel.events.list(ws, scrm.EventFilter(), cursor, scrm.MAX_LIMIT)
        async with kernel.db.transaction():
            await apply(kernel, ws, page.items)
        read += len(page.items)
        if page.next_cursor is None:
            return read
        cursor = page.next_cursor


async def job(ctx: scrm.JobContext, workspace_id: int) -> None:
    """Job ``analytics.rebuild`` (queued when analytics is switched on in a workspace)."""
    ws = await ctx.kernel.workspace_ref(workspace_id)
    if "analytics" in ws.enabled_plugins:
        await rebuild(ctx.kernel, ws)


async def prune(ctx: scrm.JobContext) -> None:
    """Cron ``analytics.prune`` (daily): forget applied event ids after a week."""
    await ctx.kernel.sql.fetch("DELETE FROM analytics_applied WHERE applied_at < {}", periods.now() - timedelta(days=7))
