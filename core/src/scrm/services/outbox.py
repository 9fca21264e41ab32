"""The transactional outbox: how a stored event reaches plugins (``scrm_event_recorded``) although
the process, the worker or Redis may die at any moment.

Storing events writes one outbox row (naming their ids) in the same transaction. After the commit a
job ``scrm.deliver_events`` is queued to deliver it within ``KICK_WINDOW_S`` (one job serves every
write of that window); if that job is lost, the cron job ``scrm.sweep_outbox`` finds the row later. A deliverer *claims* rows by pushing their
``available_at`` forward by a lease, delivers their events, then deletes them; a deliverer that dies
leaves its rows to be claimed again when the lease runs out. Delivery is therefore at least once,
and plugins make their handlers idempotent with the event id.

On PostgreSQL the common case is cheaper: one transaction *takes* the oldest ready rows of a
workspace — deletes them, holding their row locks, and reads their events, in one statement — runs
the handlers and commits (:meth:`Outbox._deliver_taken`). A deliverer that dies rolls back, and the
rows are there again at once; a delivery that fails rolls back too, and its rows then go the careful
way above (claimed, delivered row by row, a failing row kept with its error and retried later).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from scrm.jobs import Cron, Job, JobContext
from scrm.problems import ServiceUnavailable
from scrm.schemas import EventOut
from scrm.services.context import WorkspaceRef
from scrm.services.events import to_event
from scrm.services.values import json_value, now, timestamp

if TYPE_CHECKING:
    from scrm.kernel import Kernel

log = logging.getLogger("scrm.outbox")
#: Outbox rows one claim takes; each holds the events of one write (up to a batch of 1,000).
CLAIM_SIZE = 50
#: Rows of one workspace are delivered together up to this many events.
GROUP_EVENTS = 1000
#: Writes within this many seconds share one delivery job.
KICK_WINDOW_S = 0.05
#: The longest a failed delivery waits before its next attempt.
MAX_BACKOFF_S = 3600
_encode = msgspec.json.Encoder()


@dataclass(frozen=True)
class OutboxStatus:
    """How far delivery is behind: what ``scrm outbox`` prints."""

    pending_rows: int
    pending_events: int
    oldest: datetime | None
    failing_rows: int
    last_error: str | None


class Outbox:
    """Writes, claims and delivers outbox rows (``kernel.outbox``)."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self._kicked_window: int | None = None  # the last window this process queued a job for

    async def add(self, workspace_id: int, event_ids: Sequence[int]) -> None:
        """Record events for delivery, inside the caller's transaction, and queue their delivery."""
        at = now()
        rows = await self.k.db.fetch(
            "INSERT INTO scrm_outbox (workspace, event_ids, available_at, attempts, created_at) "
            "VALUES ({}, {}, {}, 0, {}) RETURNING id",
            workspace_id,
            _encode.encode(list(event_ids)).decode(),
            at,
            at,
        )
        await self.queue(rows[0]["id"])

    async def queue(self, outbox_id: int) -> None:
        """Queue delivery of a written outbox row: after the commit, inside a transaction; else now."""
        if self.k.db.in_transaction():
            self.k.db.after_commit(self.kick)
        else:
            await self.kick()

    async def kick(self) -> None:
        """Queue a delivery job at the end of the current window of ``KICK_WINDOW_S``.

        Every write in a window, in every process, names the same job (its id is the window), which
        runs after the window closed and so finds all their rows: under load a few jobs a second
        deliver everything, and a process that already queued this window's job asks Redis nothing.
        If the queue is down, the sweeper delivers the rows later.
        """
        at = time.time()
        window = math.floor(at / KICK_WINDOW_S) + 1
        if window == self._kicked_window:
            return
        self._kicked_window = window
        try:
            await self.k.jobs.enqueue(
                "scrm.deliver_events", job_id=f"scrm.outbox.{window}", defer_s=max(0.0, window * KICK_WINDOW_S - at)
            )
        except ServiceUnavailable as exc:
            self._kicked_window = None
            log.warning("stored events wait for the outbox sweeper: %s", exc.detail)

    async def drain(self, max_rounds: int = 1000) -> int:
        """Claim and deliver ready rows until none is left (or ``max_rounds`` claims); returns the
        number of rows delivered."""
        delivered = 0
        for _ in range(max_rounds):
            if self.k.db.dialect.name == "postgres":
                taken = await self._deliver_taken()
                if taken == 0:
                    break
                if taken is not None:
                    delivered += taken
                    continue
            rows = await self._claim()
            if not rows:
                break
            for group in _groups(rows):
                delivered += await self._deliver_group(group)
        return delivered

    async def _deliver_taken(self) -> int | None:
        """PostgreSQL: take the oldest ready rows of one workspace (up to ``CLAIM_SIZE`` rows and
        ``GROUP_EVENTS`` events, or one larger row) and deliver them, in one transaction: the rows
        delivered, 0 when none was ready, None when the delivery failed (rolled back: its rows wait
        as they were, for :meth:`_claim`)."""
        try:
            async with self.k.db.transaction():
                rows = await self.k.db.fetch(_TAKE, now(), CLAIM_SIZE, GROUP_EVENTS)
                if not rows:
                    return 0
                ws = await self.k.workspace_ref(rows[0]["workspace"])
                events = [to_event(row) for row in rows if row["id"] is not None]
                await self.k.members.mark_active(ws, events, hold=bool(self._listening(ws)))
                await self._notify(ws, events)
                return len({row["outbox_id"] for row in rows})
        except Exception:
            log.info("a delivery of taken outbox rows failed; they are claimed and delivered row by row", exc_info=True)
            return None

    async def _deliver_group(self, rows: list[Any]) -> int:
        """Deliver rows of one workspace together (one transaction for many small writes); when that
        fails, row by row, so that one failing row holds back only itself."""
        if len(rows) > 1:
            try:
                await self._deliver(rows)
                return len(rows)
            except Exception:
                log.info("a delivery of %s outbox rows failed; delivering them one by one", len(rows))
        delivered = 0
        for row in rows:
            try:
                await self._deliver([row])
                delivered += 1
            except Exception as exc:
                await self._failed(row, exc)
        return delivered

    async def _claim(self) -> list[Any]:
        at = now()
        lease = at + timedelta(seconds=self.k.settings.outbox_lease_s)
        skip_locked = " FOR UPDATE SKIP LOCKED" if self.k.db.dialect.name == "postgres" else ""
        async with self.k.db.transaction():
            return await self.k.db.fetch(
                "UPDATE scrm_outbox SET available_at = {}, attempts = attempts + 1 WHERE id IN "
                f"(SELECT id FROM scrm_outbox WHERE available_at <= {{}} ORDER BY available_at, id LIMIT {{}}{skip_locked}) "
                "RETURNING id, workspace, event_ids, attempts",
                lease,
                at,
                CLAIM_SIZE,
            )

    async def _deliver(self, rows: list[Any]) -> None:
        """Deliver claimed rows of one workspace: the core's own handler, then the handlers of the
        plugins enabled there, in one transaction with the rows' deletion — so what the handlers
        write to the database commits with the delivery or not at all."""
        ws = await self.k.workspace_ref(rows[0]["workspace"])
        async with self.k.db.transaction():
            if self.k.db.dialect.name == "postgres" and not await self.k.db.fetch(_WORKSPACE, ws.id):
                return  # deleted meanwhile, and its rows with it
            event_ids = [event_id for row in rows for event_id in json_value(row["event_ids"])]
            events = await self.k.events.by_ids(ws, event_ids)
            await self.k.members.mark_active(ws, events, hold=bool(self._listening(ws)))
            await self._notify(ws, events)
            condition, arg = self.k.db.dialect.any_of("id", [row["id"] for row in rows], "bigint")
            await self.k.db.fetch(f"DELETE FROM scrm_outbox WHERE {condition}", arg)

    async def _failed(self, row: Any, exc: Exception) -> None:
        """Keep a row whose delivery failed, with its error, for a retry with exponential backoff."""
        attempts = int(row["attempts"])
        delay = min(2**attempts, MAX_BACKOFF_S)
        log.error(
            "delivering outbox row %s failed (attempt %s); retrying in %s s", row["id"], attempts, delay, exc_info=exc
        )
        await self.k.db.fetch(
            "UPDATE scrm_outbox SET available_at = {}, last_error = {} WHERE id = {}",
            now() + timedelta(seconds=delay),
            f"{type(exc).__name__}: {exc}"[:2000],
            row["id"],
        )

    def _listening(self, ws: WorkspaceRef) -> set[str]:
        """The plugins enabled in ``ws`` that handle delivered events."""
        plugins = self.k.plugins
        return set(
            ws.enabled_plugins
            & (plugins.implementers("scrm_event_batch_recorded") | plugins.implementers("scrm_event_recorded"))
        )

    async def _notify(self, ws: WorkspaceRef, events: Sequence[EventOut]) -> None:
        plugins = self.k.plugins
        listening = self._listening(ws)
        if not listening or not events:
            return
        batch = list(events)
        await plugins.call("scrm_event_batch_recorded", listening, workspace=ws, events=batch, kernel=self.k)
        for event in batch:
            await plugins.call("scrm_event_recorded", listening, workspace=ws, event=event, kernel=self.k)

    async def status(self) -> OutboxStatus:
        rows = await self.k.db.fetch(
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest, "
            "SUM(CASE WHEN last_error IS NOT NULL THEN 1 ELSE 0 END) AS failing FROM scrm_outbox"
        )
        events = await self.k.db.fetch(
            f"SELECT COALESCE(SUM({self.k.db.dialect.json_array_length('event_ids')}), 0) AS n FROM scrm_outbox"
        )
        last = await self.k.db.fetch(
            "SELECT last_error FROM scrm_outbox WHERE last_error IS NOT NULL ORDER BY id DESC LIMIT 1"
        )
        oldest = rows[0]["oldest"]
        return OutboxStatus(
            pending_rows=int(rows[0]["n"]),
            pending_events=int(events[0]["n"]),
            oldest=timestamp(oldest) if oldest is not None else None,
            failing_rows=int(rows[0]["failing"] or 0),
            last_error=last[0]["last_error"] if last else None,
        )

    async def retry_now(self) -> int:
        """Make every waiting row available at once (after fixing a failing plugin)."""
        rows = await self.k.db.fetch("UPDATE scrm_outbox SET available_at = {} RETURNING id", now())
        if rows:
            await self.kick()
        return len(rows)


#: The rows :meth:`Outbox._deliver_taken` takes, deleted (their locks held until its transaction
#: ends) and joined with their events, oldest event first: the ready rows are locked (others'
#: deliverers skip them), those of the oldest row's workspace kept up to the event budget (the first
#: always), deleted, and their events read — one round trip. Each event is looked up by its id alone
#: (a ``LIMIT 1`` lateral probe of every partition's primary key), its workspace checked after: joined
#: on ``(id, workspace)`` the planner, with statistics older than the log's growth (a bulk load, no
#: analyze yet), read all of the workspace's events once per event id — minutes for one delivery.
#: Their workspace's row is locked first (see :data:`_WORKSPACE`); rows of a workspace being deleted
#: are skipped, as rows another deliverer holds are.
_TAKE = (
    "WITH ready AS (SELECT o.id, o.workspace, o.event_ids, o.available_at FROM scrm_outbox o "
    "JOIN scrm_workspace w ON w.id = o.workspace WHERE o.available_at <= {} "
    "ORDER BY o.available_at, o.id LIMIT {} FOR KEY SHARE OF w SKIP LOCKED FOR UPDATE OF o SKIP LOCKED), "
    "mine AS (SELECT id, sum(json_array_length(event_ids::json)) OVER w AS upto, row_number() OVER w AS n "
    "FROM ready WHERE workspace = (SELECT workspace FROM ready ORDER BY available_at, id LIMIT 1) "
    "WINDOW w AS (ORDER BY available_at, id)), "
    "taken AS (DELETE FROM scrm_outbox o USING mine WHERE o.id = mine.id AND (mine.upto <= {} OR mine.n = 1) "
    "RETURNING o.id, o.workspace, o.event_ids) "
    "SELECT taken.id AS outbox_id, taken.workspace, e.id, e.member, e.type, e.properties, e.occurred_at, "
    "e.recorded_at, e.source, e.idempotency_key FROM taken "
    "LEFT JOIN LATERAL json_array_elements_text(taken.event_ids::json) AS x(id) ON true "
    "LEFT JOIN LATERAL (SELECT * FROM scrm_event e WHERE e.id = x.id::bigint LIMIT 1) e "
    "ON e.workspace = taken.workspace ORDER BY e.id"
)


#: A delivery's first lock, on PostgreSQL: its workspace's row, ``FOR KEY SHARE`` (what any insert
#: referencing the workspace takes). Deleting the workspace locks that row first and then cascades
#: through its members, events and outbox rows, which a delivery locks too; with the workspace's row
#: first on both sides, a deletion waits for the deliveries under way and a delivery for a deletion,
#: instead of each holding what the other needs (a deadlock, which failed the deletion).
_WORKSPACE = "SELECT id FROM scrm_workspace WHERE id = {} FOR KEY SHARE"


def _groups(rows: list[Any]) -> list[list[Any]]:
    """Claimed rows by workspace, in claim order, each group up to ``GROUP_EVENTS`` events (a row
    larger than that is a group of its own)."""
    groups: list[list[Any]] = []
    open_groups: dict[int, tuple[list[Any], int]] = {}
    for row in rows:
        size = len(json_value(row["event_ids"]))
        group, events = open_groups.get(row["workspace"], ([], 0))
        if group and events + size > GROUP_EVENTS:
            group, events = [], 0
        if not group:
            groups.append(group)
        group.append(row)
        open_groups[row["workspace"]] = (group, events + size)
    return groups


async def deliver_events(ctx: JobContext) -> None:
    """Job: deliver whatever the outbox holds that is ready (queued after every write)."""
    await ctx.kernel.outbox.drain()


async def sweep_outbox(ctx: JobContext) -> None:
    """Cron: deliver rows whose job was lost (Redis restarted, worker killed) or whose retry is due."""
    delivered = await ctx.kernel.outbox.drain()
    if delivered:
        log.info("outbox sweeper delivered %s row(s)", delivered)


#: The core's jobs: registered before any plugin's.
CORE_JOBS: list[Job | Cron] = [
    Job("scrm.deliver_events", deliver_events),
    Cron("scrm.sweep_outbox", sweep_outbox, second=set(range(0, 60, 5)), run_at_startup=True),
]
