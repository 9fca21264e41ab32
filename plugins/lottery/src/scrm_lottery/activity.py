"""A campaign's activity per day, for the console's charts: entries of a draw, spins (and wins) of an
instant-win wheel, over the workspace's last ``days`` days (``kernel.sql``'s day buckets), every day
listed with 0 when nothing happened."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import scrm

DAYS = 30


def _span(ws: scrm.WorkspaceRef, days: int) -> tuple[list[date], datetime]:
    zone = ZoneInfo(ws.time_zone)
    first = datetime.now(UTC).astimezone(zone).date() - timedelta(days=days - 1)
    return [first + timedelta(days=i) for i in range(days)], datetime.combine(first, time(), zone)


async def per_day(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int, mode: str, days: int = DAYS
) -> list[tuple[date, int, int]]:
    """``(day, entries, 0)`` for a draw, ``(day, spins, wins)`` for a wheel."""
    span, start = _span(ws, days)
    bucket, args = kernel.sql.day_bucket("created_at", ws.time_zone)
    if mode == "instant":
        sql = (
            f"SELECT {bucket} AS bucket, COUNT(*) AS n, SUM(CASE WHEN prize IS NULL THEN 0 ELSE 1 END) AS won "
            "FROM lottery_spin WHERE workspace = {} AND campaign = {} AND created_at >= {} GROUP BY 1"
        )
    else:
        sql = (
            f"SELECT {bucket} AS bucket, COUNT(*) AS n, 0 AS won "
            "FROM lottery_entry WHERE workspace = {} AND campaign = {} AND entered AND created_at >= {} GROUP BY 1"
        )
    counts: Counter[date] = Counter()
    wins: Counter[date] = Counter()
    for row in await kernel.sql.fetch(sql, *args, ws.id, campaign_id, start):
        day = kernel.sql.bucket_day(row["bucket"], ws.time_zone)
        counts[day] += int(row["n"])
        wins[day] += int(row["won"] or 0)
    return [(day, counts[day], wins[day]) for day in span]
