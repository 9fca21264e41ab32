"""The event log's monthly partitions on PostgreSQL (``kernel.event_partitions``).

On PostgreSQL ``scrm_event`` is range-partitioned by ``occurred_at``: one partition per calendar
month (UTC), named ``scrm_event_YYYY_MM``, and ``scrm_event_default`` for any time no month
partition covers, so an insert never fails for lack of a partition. The cron
``scrm.event_partitions`` creates the current month's and the next ``AHEAD_MONTHS``' partitions
ahead of time and moves rows that landed in the default partition (a backfill of old history) into
their own months. Retention drops a month that lies wholly past its cutoff instead of deleting its
rows one by one (:meth:`droppable`). SQLite keeps one plain table; everything here is a no-op there.

Why by time: a single write touches one month's (small, cached) indexes and a member's timeline
reads the newest months first, whatever the size of the whole log; dropping a month is instant
where a ``DELETE`` of millions of rows is hours of I/O and bloat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scrm.jobs import Cron, Job, JobContext
from scrm.services.values import now

if TYPE_CHECKING:
    from scrm.kernel import Kernel

#: Months created ahead of the current one by the cron.
AHEAD_MONTHS = 3
DEFAULT_PARTITION = "scrm_event_default"
_NAME = re.compile(r"^scrm_event_(\d{4})_(\d{2})$")
#: Serialises partition changes (two processes' crons, retention): pg_advisory_xact_lock's key.
_LOCK = 0x5C7E_0E47


@dataclass(frozen=True, order=True)
class Month:
    """One calendar month (UTC) and its partition."""

    year: int
    month: int

    @classmethod
    def of(cls, at: datetime) -> Month:
        at = at.astimezone(UTC)
        return cls(at.year, at.month)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.plus(1).start

    @property
    def name(self) -> str:
        return f"scrm_event_{self.year:04d}_{self.month:02d}"

    def plus(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)


class EventPartitions:
    """Create, list and drop the event log's monthly partitions (PostgreSQL only)."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    @property
    def enabled(self) -> bool:
        return self.k.db.dialect.name == "postgres"

    async def months(self) -> list[Month]:
        """The months that have a partition, oldest first."""
        if not self.enabled:
            return []
        rows = await self.k.db.fetch(
            "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'scrm_event'::regclass"
        )
        found = (_NAME.match(row["name"]) for row in rows)
        return sorted(Month(int(m.group(1)), int(m.group(2))) for m in found if m)

    async def ensure(self, first: datetime, last: datetime) -> list[Month]:
        """Give every month from ``first``'s to ``last``'s its partition; returns those it created."""
        if not self.enabled:
            return []
        wanted, month = [], Month.of(first)
        while month <= Month.of(last):
            wanted.append(month)
            month = month.plus(1)
        existing = set(await self.months())
        return [month for month in wanted if month not in existing and await self._create(month)]

    async def _create(self, month: Month) -> bool:
        """Create ``month``'s partition, moving into it the rows the default partition holds for it
        (attaching a partition fails while the default one has rows in its range)."""
        async with self.k.db.transaction():
            await self.k.db.fetch("SELECT pg_advisory_xact_lock({})", _LOCK)
            if month in await self.months():
                return False  # another process made it meanwhile
            start, end = _literal(month.start), _literal(month.end)
            await self.k.db.fetch(f"CREATE TABLE {month.name} (LIKE scrm_event INCLUDING DEFAULTS)")
            await self.k.db.fetch(
                f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE occurred_at >= {start} "
                f"AND occurred_at < {end} RETURNING *) INSERT INTO {month.name} SELECT * FROM moved"
            )
            await self.k.db.fetch(
                f"ALTER TABLE scrm_event ATTACH PARTITION {month.name} FOR VALUES FROM ({start}) TO ({end})"
            )
        return True

    async def maintain(self) -> list[Month]:
        """The cron's work: this month and the next ``AHEAD_MONTHS`` exist, and every month with rows
        in the default partition gets its own partition (they move there)."""
        if not self.enabled:
            return []
        at = now()
        created = await self.ensure(at, Month.of(at).plus(AHEAD_MONTHS).start)
        rows = await self.k.db.fetch(
            f"SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC') AS month FROM {DEFAULT_PARTITION}"
        )
        for row in rows:
            month = Month(row["month"].year, row["month"].month)
            created += await self.ensure(month.start, month.start)
        return created

    async def droppable(self, workspace_id: int, before: datetime, since: datetime | None) -> list[Month]:
        """Months lying wholly in ``[since, before)`` whose partition holds no other workspace's
        events (checked by two index probes): deleting this workspace's events there empties them,
        so retention may drop them instead. Call it in a transaction and :meth:`drop` them in the
        same one: it locks each against inserts, so the answer holds until the drop."""
        months = [
            m for m in await self.months() if m.end <= before and (since is None or m.start >= since.astimezone(UTC))
        ]
        result = []
        for month in months:
            await self.k.db.fetch(f"LOCK TABLE {month.name} IN SHARE MODE")
            others = await self.k.db.fetch(
                f"SELECT (SELECT 1 FROM {month.name} WHERE workspace < {{}} LIMIT 1) AS below, "
                f"(SELECT 1 FROM {month.name} WHERE workspace > {{}} LIMIT 1) AS above",
                workspace_id,
                workspace_id,
            )
            if others[0]["below"] is None and others[0]["above"] is None:
                result.append(month)
        return result

    async def drop(self, month: Month) -> int:
        """Drop ``month``'s partition (in the caller's transaction) with its events' idempotency
        keys; returns how many events it held."""
        rows = await self.k.db.fetch(f"SELECT count(*) AS n FROM {month.name}")
        await self.k.db.fetch(
            f"DELETE FROM scrm_event_key k USING {month.name} e WHERE k.workspace = e.workspace "
            "AND k.idempotency_key = e.idempotency_key AND k.event_id = e.id"
        )
        await self.k.db.fetch(f"DROP TABLE {month.name}")
        return int(rows[0]["n"])


def _literal(at: datetime) -> str:
    """A timestamptz literal (partition bounds are DDL, which takes no parameters)."""
    return f"'{at.astimezone(UTC).isoformat()}'::timestamptz"


async def maintain_partitions(ctx: JobContext) -> None:
    """Cron: months ahead exist; rows in the default partition move to their month's."""
    await ctx.kernel.event_partitions.maintain()


#: Hourly (the migration made this month's and the next ones; a missed run costs nothing but rows
#: in the default partition until the next).
PARTITION_JOBS: list[Job | Cron] = [Cron("scrm.event_partitions", maintain_partitions, minute=23)]
