"""Local days and the periods they fall in (weeks start on Monday, ISO)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

GRAINS = ("day", "week", "month")


def now() -> datetime:
    return datetime.now(UTC)


def local(at: datetime, zone: str) -> datetime:
    return at.astimezone(ZoneInfo(zone))


def start(day: date, grain: str) -> date:
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def following(period: date, grain: str) -> date:
    if grain == "week":
        return period + timedelta(days=7)
    if grain == "month":
        return (period.replace(day=28) + timedelta(days=4)).replace(day=1)
    return period + timedelta(days=1)


def index(cohort: date, period: date, grain: str) -> int:
    """How many periods after its cohort's ``period`` is (0: the join period itself)."""
    if grain == "week":
        return (period - cohort).days // 7
    if grain == "month":
        return (period.year - cohort.year) * 12 + period.month - cohort.month
    return (period - cohort).days
