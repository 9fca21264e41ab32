"""The plugin's clock: every "now" of the points plugin comes from :func:`now`.

Tests replace it (``monkeypatch.setattr(scrm_points.clock, "now", ...)``) to check in at 23:59 and
00:01 of a workspace's day, or to run the expiry job months later, without waiting. Modules call
``clock.now()`` (never ``from clock import now``) so the replacement is seen everywhere.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def local_day(at: datetime, time_zone: str) -> date:
    """The calendar day ``at`` falls on in the workspace's time zone (what "a day" means for
    check-ins and daily caps)."""
    return at.astimezone(ZoneInfo(time_zone)).date()
