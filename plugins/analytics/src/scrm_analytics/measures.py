"""The measures of PRODUCT §7, computed from the rollups only (never from the event log): each
request reads a few hundred rollup rows at most, however many members and events the workspace has.

Periods are calendar days, ISO weeks or months in the workspace's time zone, since active members
are counted distinct per such period when events are delivered. K comes from the referrals plugin's
service and NPS from the polls plugin's, the lifecycle from segments' — each only when that plugin is
installed and enabled in the workspace (and offers the method); otherwise the measure is "not
available" (``null``, named in ``not_available``)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import msgspec
import scrm

from scrm_analytics import config, periods
from scrm_analytics.schemas import CohortRow, Figures, Heatmap, Retention, Summary, TrendPoint


class KFigure(Protocol):
    k: float


class Referrals(Protocol):
    async def k(self, ws: scrm.WorkspaceRef, start: datetime, end: datetime) -> KFigure: ...


class Polls(Protocol):
    async def nps(self, ws: scrm.WorkspaceRef, start: datetime, end: datetime) -> float | None: ...


class StageCount(Protocol):
    stage: str
    members: int


class Segments(Protocol):
    async def stages(self, ws: scrm.WorkspaceRef) -> list[StageCount]: ...


def bounds(anchor: date, grain: str) -> tuple[date, date]:
    """The first and last day of the ``grain`` period holding ``anchor``."""
    first = periods.start(anchor, grain)
    return first, periods.following(first, grain) - timedelta(days=1)


#: what a period's figures add up (named, so each is one range of the rollups' index)
PERIOD_METRICS = (
    "joined",
    "active_day",
    "active_week",
    "active_month",
    "events",
    "orders",
    "gmv",
    "community_gmv",
    "points_issued",
    "points_redeemed",
    "entries",
    "ballots",
)


async def _sums(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, first: date, last: date) -> dict[str, float]:
    condition, arg = kernel.sql.any_of("metric", PERIOD_METRICS, "text")
    rows = await kernel.sql.fetch(
        f"SELECT metric, SUM(n) AS n FROM analytics_daily WHERE workspace = {{}} AND {condition} "
        "AND day >= {} AND day <= {} GROUP BY metric",
        ws.id,
        arg,
        first,
        last,
    )
    return defaultdict(float, {r["metric"]: float(r["n"]) for r in rows})


async def _until(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, last: date, metrics: Iterable[str]) -> dict[str, float]:
    """Metrics summed over all days up to ``last`` (cumulative: buyers, repeat buyers)."""
    wanted = list(metrics)
    condition, arg = kernel.sql.any_of("metric", wanted, "text")
    rows = await kernel.sql.fetch(
        f"SELECT metric, SUM(n) AS n FROM analytics_daily WHERE workspace = {{}} AND {condition} AND day <= {{}} "
        "GROUP BY metric",
        ws.id,
        arg,
        last,
    )
    return defaultdict(float, {r["metric"]: float(r["n"]) for r in rows})


def _instant(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


async def figures(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, first: date, last: date, grain: str) -> Figures:
    s = await config.load(kernel, ws.id)
    sums = await _sums(kernel, ws, first, last)
    upto = await _until(kernel, ws, last, ("joined", "erased", "buyers", "repeat_buyers"))
    members = max(0, int(upto["joined"] - upto["erased"]))  # from the rollups: no count over members
    active = int(sums[f"active_{grain}"]) if grain in periods.GRAINS else 0
    buyers = upto
    repurchase = _ratio(buyers["repeat_buyers"], buyers["buyers"])
    aov = _ratio(sums["gmv"], sums["orders"])
    cost = await _cost(kernel, ws, first, last)
    days = (last - first).days + 1
    missing: list[str] = []
    start_at, end_at = _instant(first, ws.time_zone), _instant(last + timedelta(days=1), ws.time_zone)
    k = await _k(kernel, ws, start_at, end_at)
    nps = await _nps(kernel, ws, start_at, end_at)
    missing += [name for name, value in (("k", k), ("nps", nps)) if value is None]
    if cost is None:
        missing.append("cost_per_member")
    events = int(sum(v for m, v in sums.items() if m == "events"))
    gmv_share = _ratio(sums["community_gmv"], sums["gmv"])
    cpm = round(cost / members, 4) if cost is not None and members else None
    value = round(members * repurchase * aov * s.lifetime, 2) if repurchase is not None and aov is not None else None
    indicators = {
        "daily_interactions": min(events / members / days / s.interactions_target, 1.0) if members else None,
        "reusable_content": None,  # not measured by scrm yet
        "nps": (nps + 100) / 200 if nps is not None else None,
        "k": min(k / s.k_target, 1.0) if k is not None else None,
        "gmv_share": gmv_share,
        "cost_per_member": 1 - min(cpm / s.cost_target, 1.0) if cpm is not None else None,
    }
    weights = msgspec.to_builtins(s.weights)
    used = {name: v for name, v in indicators.items() if v is not None and weights[name] > 0}
    total_weight = sum(weights[name] for name in used)
    index = round(100 * sum(weights[n] * v for n, v in used.items()) / total_weight, 2) if total_weight else None
    return Figures(
        start=first,
        end=last,
        members=members,
        joined=int(sums["joined"]),
        active=active,
        active_ratio=_ratio(active, members),
        events=events,
        orders=int(sums["orders"]),
        gmv=round(sums["gmv"], 2),
        average_order_value=aov,
        repurchase_rate=repurchase,
        gmv_share=gmv_share,
        cost=cost,
        cost_per_member=cpm,
        private_domain_value=value,
        k=k,
        nps=nps,
        points_issued=sums["points_issued"],
        points_redeemed=sums["points_redeemed"],
        entries=int(sums["entries"]),
        ballots=int(sums["ballots"]),
        index=index,
        not_available=sorted(
            set(missing) | {n for n, v in indicators.items() if v is None and n == "reusable_content"}
        ),
    )


async def _cost(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, first: date, last: date) -> float | None:
    """The operating cost of the period: each month's cost spread evenly over its days."""
    rows = await kernel.sql.fetch(
        "SELECT month, amount FROM analytics_cost WHERE workspace = {} AND month >= {} AND month <= {}",
        ws.id,
        first.replace(day=1),
        last,
    )
    if not rows:
        return None
    total = 0.0
    for r in rows:
        month = scrm.as_date(r["month"])
        end = periods.following(month, "month") - timedelta(days=1)
        overlap = (min(end, last) - max(month, first)).days + 1
        total += float(r["amount"]) * max(overlap, 0) / ((end - month).days + 1)
    return round(total, 2)


async def _k(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, start: datetime, end: datetime) -> float | None:
    referrals: Referrals | None = kernel.service("referrals", ws)
    if referrals is None or not hasattr(referrals, "k"):
        return None
    return round(float((await referrals.k(ws, start, end)).k), 4)


async def _nps(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, start: datetime, end: datetime) -> float | None:
    polls: Polls | None = kernel.service("polls", ws)
    if polls is None or not hasattr(polls, "nps"):
        return None
    found = await polls.nps(ws, start, end)
    return None if found is None else round(float(found), 2)


async def lifecycle(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> dict[str, int] | None:
    segments: Segments | None = kernel.service("segments", ws)
    if segments is None or not hasattr(segments, "stages"):
        return None
    return {s.stage: s.members for s in await segments.stages(ws)}


async def summary(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, grain: str, anchor: date | None = None, compare: date | None = None
) -> Summary:
    """The ``grain`` period holding ``anchor`` (default: today) beside the one holding ``compare``
    (default: the period just before) — the same length, so the figures compare like for like."""
    anchor = anchor or periods.local(periods.now(), ws.time_zone).date()
    first, last = bounds(anchor, grain)
    before = bounds(compare if compare is not None else first - timedelta(days=1), grain)
    return Summary(
        period=grain,
        current=await figures(kernel, ws, first, last, grain),
        previous=await figures(kernel, ws, *before, grain),
        lifecycle=await lifecycle(kernel, ws),
    )


async def trends(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, first: date, last: date) -> list[TrendPoint]:
    rows = await kernel.sql.fetch(
        "SELECT day, metric, SUM(n) AS n FROM analytics_daily WHERE workspace = {} AND day >= {} AND day <= {} "
        "AND metric IN ('joined', 'active_day', 'events', 'orders', 'gmv') GROUP BY day, metric",
        ws.id,
        first,
        last,
    )
    found: dict[date, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        found[scrm.as_date(r["day"])][r["metric"]] = float(r["n"])
    out = []
    day = first
    while day <= last:
        v = found.get(day, defaultdict(float))
        out.append(
            TrendPoint(
                day=day,
                joined=int(v["joined"]),
                active=int(v["active_day"]),
                events=int(v["events"]),
                orders=int(v["orders"]),
                gmv=round(v["gmv"], 2),
            )
        )
        day += timedelta(days=1)
    return out


async def heatmap(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, first: date, last: date) -> Heatmap:
    rows = await kernel.sql.fetch(
        "SELECT key, SUM(n) AS n FROM analytics_daily WHERE workspace = {} AND metric = 'hour' "
        "AND day >= {} AND day <= {} GROUP BY key",
        ws.id,
        first,
        last,
    )
    counts = [[0] * 24 for _ in range(7)]
    for r in rows:
        weekday, hour = (int(p) for p in r["key"].split(":"))
        counts[weekday][hour] = int(r["n"])
    best = max(((c, d, h) for d in range(7) for h in range(24) for c in [counts[d][h]]), default=(0, 0, 0))
    return Heatmap(
        start=first,
        end=last,
        counts=counts,
        best_weekday=best[1] if best[0] else None,
        best_hour=best[2] if best[0] else None,
    )


async def retention(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, grain: str, cohorts: int) -> Retention:
    """The retention triangle of the last ``cohorts`` join periods: each cohort's share active in
    each period since it joined (period 0 is the join period itself)."""
    today = periods.local(periods.now(), ws.time_zone).date()
    first = periods.start(today, grain)
    for _ in range(cohorts - 1):
        first = periods.start(first - timedelta(days=1), grain)
    joined = await kernel.sql.fetch(
        "SELECT day, n FROM analytics_daily WHERE workspace = {} AND metric = 'joined' AND day >= {}", ws.id, first
    )
    sizes: dict[date, int] = defaultdict(int)
    for r in joined:
        sizes[periods.start(scrm.as_date(r["day"]), grain)] += int(r["n"])
    rows = await kernel.sql.fetch(
        "SELECT cohort, period, n FROM analytics_cohort WHERE workspace = {} AND grain = {} AND cohort >= {}",
        ws.id,
        grain,
        first,
    )
    active: dict[tuple[date, int], int] = {}
    for r in rows:
        cohort = scrm.as_date(r["cohort"])
        active[cohort, periods.index(cohort, scrm.as_date(r["period"]), grain)] = int(r["n"])
    out = []
    cohort = first
    current = periods.start(today, grain)
    while cohort <= current:
        size = sizes.get(cohort, 0)
        span = periods.index(cohort, current, grain) + 1
        out.append(
            CohortRow(
                cohort=cohort,
                size=size,
                retained=[round(active.get((cohort, i), 0) / size, 4) if size else 0.0 for i in range(span)],
            )
        )
        cohort = periods.following(cohort, grain)
    return Retention(grain=grain, cohorts=out)


def as_csv(rows: Iterable[Any]) -> str:
    """Structs (or lists of them) as CSV with a header row of their fields."""
    items = [msgspec.to_builtins(r) for r in rows]
    out = io.StringIO()
    if items:
        writer = csv.DictWriter(out, fieldnames=list(items[0]), lineterminator="\n")
        writer.writeheader()
        for item in items:
            writer.writerow({k: ("|".join(map(str, v)) if isinstance(v, list) else v) for k, v in item.items()})
    return out.getvalue()
