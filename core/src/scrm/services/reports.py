"""Reports: the figures of a workspace's dashboard — its members and their growth, its events per day,
and how many of its members consent to each purpose (``kernel.reports``).

Each figure is one aggregate statement scoped by workspace, over a range of the indexes that lead with
``workspace`` (members by ``created_at`` and ``last_active_at``, events by ``occurred_at``), so the cost
grows with the period asked for, not with the other workspaces in the database. Days are the
workspace's days: a period of 30 days is today and the 29 before it in the workspace's time zone.
Erased members are left out of every count; the people a brand can still reach are what it asks about.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from scrm.problems import ValidationFailed, field_error
from scrm.services.context import WorkspaceRef
from scrm.services.values import now

if TYPE_CHECKING:
    from scrm.kernel import Kernel

#: the longest period a per-day report covers
MAX_DAYS = 366
#: a member is active with an engagement event in this many days (the active ratio's period)
ACTIVE_DAYS = 30
#: the headline's count of recent events covers this many days
RECENT_EVENT_DAYS = 7


@dataclass(frozen=True)
class DayCount:
    day: date
    count: int


@dataclass(frozen=True)
class Growth:
    """Members who joined on each day of a period, and how many had joined before it: where a
    cumulative line of the membership starts."""

    before: int
    days: list[DayCount]

    @property
    def total(self) -> int:
        return self.before + sum(d.count for d in self.days)


@dataclass(frozen=True)
class Headline:
    """The workspace at a glance: its members, those active in the last :data:`ACTIVE_DAYS` days
    (an engagement event: any type but the core's own), and its events of the last
    :data:`RECENT_EVENT_DAYS` days. It names those periods, so whoever shows the figures says what
    they cover without reaching into this module."""

    members: int
    active: int
    recent_events: int
    active_days: int = ACTIVE_DAYS
    recent_event_days: int = RECENT_EVENT_DAYS

    @property
    def active_ratio(self) -> float:
        """Active members ÷ members (the community's AR; a healthy one is at 0.35 or more)."""
        return self.active / self.members if self.members else 0.0


@dataclass(frozen=True)
class Coverage:
    """A purpose and how many active members currently grant it (their latest record says granted)."""

    purpose: str
    description: str
    granted: int
    members: int

    @property
    def share(self) -> float:
        return self.granted / self.members if self.members else 0.0


@dataclass(frozen=True)
class _Period:
    """The last ``days`` days of a workspace as instants (``start`` inclusive, ``end`` exclusive)."""

    zone: ZoneInfo
    days: list[date]
    start: datetime
    end: datetime

    @classmethod
    def of(cls, ws: WorkspaceRef, days: int) -> _Period:
        if not 1 <= days <= MAX_DAYS:
            raise ValidationFailed(
                f"days: 1 to {MAX_DAYS}",
                errors=[field_error("days", f"must be 1 to {MAX_DAYS}", "query")],
            )
        zone = ZoneInfo(ws.time_zone)
        today = now().astimezone(zone).date()
        first = today - timedelta(days=days - 1)

        def midnight(day: date) -> datetime:
            return datetime.combine(day, time(), zone).astimezone(UTC)

        return cls(
            zone, [first + timedelta(days=i) for i in range(days)], midnight(first), midnight(today + timedelta(1))
        )


class Reports:
    """The dashboard's figures of a workspace."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    async def headline(self, ws: WorkspaceRef) -> Headline:
        at = now()
        rows = await self.k.db.fetch(
            "SELECT (SELECT COUNT(*) FROM scrm_member WHERE workspace = {} AND status <> 'erased') AS members, "
            "(SELECT COUNT(*) FROM scrm_member WHERE workspace = {} AND last_active_at >= {} "
            "AND status <> 'erased') AS active, "
            "(SELECT COUNT(*) FROM scrm_event WHERE workspace = {} AND occurred_at >= {} AND occurred_at <= {}) "
            "AS recent_events",
            ws.id,
            ws.id,
            at - timedelta(days=ACTIVE_DAYS),
            ws.id,
            at - timedelta(days=RECENT_EVENT_DAYS),
            at,
        )
        row = rows[0]
        return Headline(members=int(row["members"]), active=int(row["active"]), recent_events=int(row["recent_events"]))

    async def member_growth(self, ws: WorkspaceRef, days: int = 30) -> Growth:
        """New members per day of the last ``days`` days, and the members who joined before."""
        period = _Period.of(ws, days)
        rows = await self.k.db.fetch(
            "SELECT COUNT(*) AS n FROM scrm_member WHERE workspace = {} AND created_at < {} AND status <> 'erased'",
            ws.id,
            period.start,
        )
        per_day = await self._per_day(ws, period, "scrm_member", "created_at", " AND status <> 'erased'", [])
        return Growth(before=int(rows[0]["n"]), days=per_day)

    async def events_per_day(self, ws: WorkspaceRef, days: int = 30, type: str | None = None) -> list[DayCount]:
        """Events per day (by when they occurred) of the last ``days`` days, of one ``type`` if given."""
        period = _Period.of(ws, days)
        where, args = (" AND type = {}", [type]) if type is not None else ("", [])
        return await self._per_day(ws, period, "scrm_event", "occurred_at", where, args)

    async def event_types(self, ws: WorkspaceRef, days: int = 90) -> list[tuple[str, int]]:
        """The event types of the last ``days`` days with how many of each, the most frequent first
        (a filter offers them, with their weight)."""
        period = _Period.of(ws, days)
        rows = await self.k.db.fetch(
            "SELECT type, COUNT(*) AS n FROM scrm_event WHERE workspace = {} AND occurred_at >= {} "
            "GROUP BY type ORDER BY COUNT(*) DESC, type LIMIT 200",
            ws.id,
            period.start,
        )
        return [(r["type"], int(r["n"])) for r in rows]

    async def consent_coverage(self, ws: WorkspaceRef) -> list[Coverage]:
        """Per purpose (by name), the active members whose latest record for it is a grant, out of all
        active members: those a message for that purpose may reach (before plugins' vetoes)."""
        purposes = await self.k.consents.purposes.list(ws)
        active = await self.k.db.fetch(
            "SELECT COUNT(*) AS n FROM scrm_member WHERE workspace = {} AND status = 'active'", ws.id
        )
        rows = await self.k.db.fetch(
            "SELECT c.purpose, COUNT(*) AS granted FROM scrm_consent c JOIN ("
            "SELECT member, purpose, MAX(seq) AS seq FROM scrm_consent WHERE workspace = {} GROUP BY member, purpose"
            ") latest ON c.workspace = {} AND c.seq = latest.seq "
            "JOIN scrm_member m ON m.id = c.member AND m.workspace = {} "
            "WHERE c.status = 'granted' AND m.status = 'active' GROUP BY c.purpose",
            ws.id,
            ws.id,
            ws.id,
        )
        granted = {r["purpose"]: int(r["granted"]) for r in rows}
        members = int(active[0]["n"])
        return [Coverage(p.name, p.description, granted.get(p.name, 0), members) for p in purposes]

    async def _per_day(
        self, ws: WorkspaceRef, period: _Period, table: str, column: str, where: str, args: list[Any]
    ) -> list[DayCount]:
        """Rows of ``table`` counted per day of ``period`` by the timestamp ``column`` (every day
        listed, with 0 when none); ``where`` narrows them further."""
        d = self.k.db.dialect
        bucket, bucket_args = d.day_bucket(column, ws.time_zone)
        rows = await self.k.db.fetch(
            f"SELECT {bucket} AS bucket, COUNT(*) AS n FROM {table} "
            f"WHERE workspace = {{}} AND {column} >= {{}} AND {column} < {{}}{where} GROUP BY 1",
            *bucket_args,
            ws.id,
            period.start,
            period.end,
            *args,
        )
        counts: Counter[date] = Counter()
        for row in rows:
            counts[d.bucket_day(row["bucket"], period.zone)] += int(row["n"])
        return [DayCount(day, counts[day]) for day in period.days]
