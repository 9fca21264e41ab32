"""Points issued and redeemed per day, for the console's chart: awards and positive adjustments are
issued, redemptions are what members spent on rewards. Days are the workspace's (``kernel.sql``'s
day buckets), the last ``days`` of them, every day listed (0 when nothing moved)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import scrm

DAYS = 30


@dataclass(frozen=True)
class DayFlow:
    day: date
    issued: int
    redeemed: int


async def per_day(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, days: int = DAYS) -> list[DayFlow]:
    zone = ZoneInfo(ws.time_zone)
    today = datetime.now(UTC).astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time(), zone)
    bucket, args = kernel.sql.day_bucket("created_at", ws.time_zone)
    rows = await kernel.sql.fetch(
        f"SELECT {bucket} AS bucket, "
        "SUM(CASE WHEN kind = 'award' OR (kind = 'adjust' AND amount > 0) THEN amount ELSE 0 END) AS issued, "
        "SUM(CASE WHEN kind = 'redeem' THEN -amount ELSE 0 END) AS redeemed "
        "FROM points_transaction WHERE workspace = {} AND created_at >= {} GROUP BY 1",
        *args,
        ws.id,
        start,
    )
    issued: Counter[date] = Counter()
    redeemed: Counter[date] = Counter()
    for row in rows:
        day = kernel.sql.bucket_day(row["bucket"], ws.time_zone)
        issued[day] += int(row["issued"] or 0)
        redeemed[day] += int(row["redeemed"] or 0)
    span = [first + timedelta(days=i) for i in range(days)]
    return [DayFlow(day, issued[day], redeemed[day]) for day in span]
