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

Reads are shaped by a picture of the partitions each process keeps (:class:`Layout`, read again
after ``LAYOUT_TTL_S``): a listing newest first (:meth:`EventPartitions.newest_first`) and a
look-up by id (:meth:`EventPartitions.window`). A stale picture makes a read slower, never wrong:
what it bounds is only where PostgreSQL looks first.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

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
#: How long a process trusts its :class:`Layout` before reading it again (two cheap statements).
LAYOUT_TTL_S = 60.0


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


@dataclass(frozen=True)
class Layout:
    """What a process knew of the partitions at ``taken`` (monotonic seconds): enough to tell
    PostgreSQL where to look, never to decide what exists."""

    taken: float
    #: ``[start, end)`` of the newest unbroken run of month partitions (None: no month partition).
    run: tuple[datetime, datetime] | None
    #: Each month partition holding rows, with its smallest and largest event id.
    ids: tuple[tuple[Month, int, int], ...]
    #: The default partition's smallest and largest id (None: it was empty).
    default_ids: tuple[int, int] | None
    #: The largest id stored anywhere then (0: none): a larger one was recorded after ``taken``.
    top: int


class EventPartitions:
    """Create, list and drop the event log's monthly partitions (PostgreSQL only)."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self._layout: Layout | None = None

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
        self._layout = None
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
        self._layout = None
        return int(rows[0]["n"])

    async def layout(self) -> Layout | None:
        """This process's picture of the partitions, read again when older than ``LAYOUT_TTL_S``
        (None on SQLite). Reading it names no partition (each month's ids are found through the
        parent, pruned to the month), so a partition dropped meanwhile cannot make it fail."""
        if not self.enabled:
            return None
        if self._layout is not None and time.monotonic() - self._layout.taken < LAYOUT_TTL_S:
            return self._layout
        taken, months = time.monotonic(), await self.months()
        rows = await self.k.db.fetch(
            "SELECT b.start, (SELECT min(id) FROM scrm_event WHERE occurred_at >= b.start AND occurred_at < b.stop) "
            "AS low, (SELECT max(id) FROM scrm_event WHERE occurred_at >= b.start AND occurred_at < b.stop) AS high "
            "FROM unnest({}::timestamptz[], {}::timestamptz[]) AS b(start, stop) UNION ALL "
            f"SELECT NULL, min(id), max(id) FROM {DEFAULT_PARTITION}",
            [m.start for m in months],
            [m.end for m in months],
        )
        ids = tuple(
            (Month.of(r["start"]), r["low"], r["high"]) for r in rows if r["start"] is not None and r["low"] is not None
        )
        default = next((r["low"], r["high"]) for r in rows if r["start"] is None)
        run = None
        if months:
            first = len(months) - 1
            while first > 0 and months[first - 1].plus(1) == months[first]:
                first -= 1
            run = (months[first].start, months[-1].end)
        top = max([high for _, _, high in ids] + [default[1] or 0])
        self._layout = Layout(taken, run, ids, default if default[0] is not None else None, top)
        return self._layout

    async def newest_first(self, columns: str, where: str, args: Sequence[Any], limit: int) -> tuple[str, list[Any]]:
        """A listing of ``scrm_event e`` newest first (``occurred_at``, then id) and its arguments.

        PostgreSQL reads a range-partitioned table's partitions one after another, newest first,
        stopping at ``limit`` rows, only when the range it reads has no default partition in it;
        otherwise it merges an index scan of every month (one descent and one row each, whatever
        the limit). So on PostgreSQL the listing reads the newest unbroken run of months (whose
        bounds, written into the statement, prune the default partition even from a generic plan)
        and, apart, whatever lies outside it (the default partition, usually empty), and merges the
        two. The same rows as one plain query, whatever the layout."""
        order = "ORDER BY e.occurred_at DESC, e.id DESC LIMIT {}"
        layout = await self.layout()
        if layout is None or layout.run is None:
            return f"SELECT {columns} FROM scrm_event e WHERE {where} {order}", [*args, limit]
        start, end = (_literal(bound) for bound in layout.run)
        inside = f"e.occurred_at >= {start} AND e.occurred_at < {end}"
        outside = f"(e.occurred_at < {start} OR e.occurred_at >= {end})"
        return (
            f"SELECT * FROM ((SELECT {columns} FROM scrm_event e WHERE {where} AND {inside} {order}) UNION ALL "
            f"(SELECT {columns} FROM scrm_event e WHERE {where} AND {outside} {order})) e {order}",
            [*args, limit, *args, limit, limit],
        )

    async def window(self, event_id: int) -> tuple[datetime, datetime] | None:
        """Where the event with this id most likely lies: an ``occurred_at`` range of a few months
        to look in first (None: no good guess; look everywhere). A look-up by id alone probes every
        month's primary key; ids grow with time of recording, and most events occur when they are
        recorded, so the months whose ids span this one are the likely ones, and an id newer than
        the layout belongs to the last month or so. A guess that misses (a backfill, an id that does
        not exist) costs the caller a second look everywhere."""
        layout = await self.layout()
        if layout is None or layout.run is None:
            return None
        if layout.default_ids is not None and layout.default_ids[0] <= event_id <= layout.default_ids[1]:
            return None
        if event_id > layout.top:
            return max(layout.run[0], Month.of(now()).plus(-1).start), layout.run[1]
        months = [month for month, low, high in layout.ids if low <= event_id <= high]
        if not months:
            return None
        return min(months).start, max(months).end


def _literal(at: datetime) -> str:
    """A timestamptz literal (partition bounds are DDL, which takes no parameters)."""
    return f"'{at.astimezone(UTC).isoformat()}'::timestamptz"


async def maintain_partitions(ctx: JobContext) -> None:
    """Cron: months ahead exist; rows in the default partition move to their month's."""
    await ctx.kernel.event_partitions.maintain()


#: Hourly (the migration made this month's and the next ones; a missed run costs nothing but rows
#: in the default partition until the next).
PARTITION_JOBS: list[Job | Cron] = [Cron("scrm.event_partitions", maintain_partitions, minute=23)]
