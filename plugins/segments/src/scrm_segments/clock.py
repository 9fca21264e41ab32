"""Time in a workspace's time zone: "within the last N days" counts whole local days, today
included, so a boundary is the start of a local day converted to an instant (the same instant for
both engines' SQL, which then compare timestamps only)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def now() -> datetime:
    return datetime.now(UTC)


def local_day(at: datetime, zone: str) -> date:
    return at.astimezone(ZoneInfo(zone)).date()


def day_start(day: date, zone: str) -> datetime:
    """The instant ``day`` begins in ``zone`` (in UTC)."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def days_since(at: datetime, today: date, zone: str) -> int:
    """Whole local days from ``at`` to ``today``: 0 on the same local day."""
    return (today - local_day(at, zone)).days


def since_boundary(days: int, at: datetime, zone: str) -> datetime:
    """The instant from which a timestamp is less than ``days`` local days before ``at``:
    ``days_since(ts) < days`` exactly when ``ts >= since_boundary(days)``."""
    today = local_day(at, zone)
    return day_start(today - timedelta(days=days - 1), zone)
