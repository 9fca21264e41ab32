"""Group commit: single writes arriving at the same moment in one process share one statement and one
transaction, instead of each paying its own round trips, ``BEGIN``, ``COMMIT`` and WAL flush.

This is how a one-event POST, a member's creation, a check-in, a lottery entry, a vote or a poll
ballot — each one row and one event — keeps up with 1,000+ requests a second on a few cores: the database does one
statement for a batch of them, and every request still gets its *own* answer (its id, ``created`` or
``duplicate``, its own 4xx for its own bad input).

How a batch forms: a write that arrives while fewer than ``in_flight`` batches of its lane are being
written starts a batch at once, so a lone request waits for nothing; otherwise it waits for the next
batch, which takes everything waiting (up to ``max_batch``). There is no timer: batches grow exactly
as far as the database is slower than the arrivals.

The contract of the two functions a :class:`GroupCommit` is made of:

- ``write_batch(kernel, items)`` writes many items in one transaction (the batch's, which it may open
  again: it joins; one statement, if it can) and returns one result per item, in order — or ``None`` for an item it did not write (refused
  by a constraint, say), which then goes to ``write_one`` for its own answer. If it raises, nothing of
  the batch may have been written (it is one transaction), and every item goes to ``write_one``.
- With ``transaction=False`` the batch opens no transaction: ``write_batch`` writes every item (no
  ``None``) and the batch's audit records atomically on its own — one statement holding
  :meth:`scrm.services.audit.Audit.appending`'s CTEs, or a transaction it opens, whose commit
  records them — which saves a batch whose write is one statement its ``BEGIN`` and ``COMMIT``.
- ``write_one(kernel, item)`` writes one item on its own and returns its result or raises its own
  problem (a 409, a 422…). It is also the whole path on SQLite (one writer at a time: batching gains
  nothing) and inside a caller's open transaction (a batch cannot join it).

Items whose ``conflict`` keys are equal are never in two batches being written at once (the later
waits), since two batches that insert the same unique keys in different orders can deadlock each
other; items of different ``lane`` keys (usually the workspace) never share a batch. A batch is
written in a task of its own, outside every request's context variables: whatever an item's write
needs (workspace, member) travels in the item. The audit trail is the exception the batch carries
for its items: each request's audit context rides with its item, and the batch's transaction
records one entry for each (:func:`scrm.services.audit.begin_batch`) — except the items
``write_batch`` answered ``None`` for: ``write_one`` records theirs, if it writes them.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from scrm.services import audit

if TYPE_CHECKING:
    from scrm.kernel import Kernel
    from scrm.services.audit import AuditContext

log = logging.getLogger("scrm.groupcommit")
T = TypeVar("T")
R = TypeVar("R")
if TYPE_CHECKING:
    #: an item waiting for its batch: the item, its request's future, its request's audit context
    _Entry = tuple[T, asyncio.Future[R], AuditContext | None]


def _no_key(item: Any) -> None:
    return None


@dataclass
class _Lane(Generic[T, R]):
    """The waiting items and running batches of one lane, in one event loop, for one kernel."""

    loop: asyncio.AbstractEventLoop
    kernel: Kernel
    waiting: list[_Entry[T, R]] = field(default_factory=list)
    running: int = 0
    busy: set[Hashable] = field(default_factory=set)  # conflict keys of the items being written
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


class GroupCommit(Generic[T, R]):
    """Coalesces concurrent single writes of one kind into batches (see the module's docstring).

    Make one per kind of write, at import time, and ``await group.submit(kernel, item)`` where a
    request would write its item::

        ENTRIES = scrm.GroupCommit("lottery.entries", write_entries, write_entry, lane=lambda e: e.ws.id)
        entry_id = await ENTRIES.submit(kernel, entry)
    """

    def __init__(
        self,
        name: str,
        write_batch: Callable[[Kernel, Sequence[T]], Awaitable[Sequence[R | None]]],
        write_one: Callable[[Kernel, T], Awaitable[R]],
        *,
        lane: Callable[[T], Hashable] = _no_key,
        conflict: Callable[[T], Hashable | None] = _no_key,
        max_batch: int = 100,
        in_flight: int = 4,
        transaction: bool = True,
    ) -> None:
        if max_batch < 1 or in_flight < 1:
            raise ValueError(f"{name}: max_batch and in_flight must be at least 1")
        self.name = name
        self.write_batch = write_batch
        self.write_one = write_one
        self.lane_of = lane
        self.conflict_of = conflict
        self.max_batch = max_batch
        self.in_flight = in_flight
        self.transaction = transaction
        self._lanes: dict[tuple[int, int, Hashable], _Lane[T, R]] = {}

    def batching(self, kernel: Kernel) -> bool:
        """Whether a write now would be batched: on PostgreSQL, outside an open transaction."""
        return kernel.db.dialect.name == "postgres" and not kernel.db.in_transaction()

    async def submit(self, kernel: Kernel, item: T) -> R:
        """Write ``item`` with whatever else of its lane is being written now; its own result, or its
        own problem raised."""
        if not self.batching(kernel):
            return await self.write_one(kernel, item)
        lane = self._lane(kernel, self.lane_of(item))
        future: asyncio.Future[R] = lane.loop.create_future()
        lane.waiting.append((item, future, audit.current()))
        if lane.running < self.in_flight:
            self._start(lane)
        return await future

    def _lane(self, kernel: Kernel, key: Hashable) -> _Lane[T, R]:
        loop = asyncio.get_running_loop()
        index = (id(loop), id(kernel), key)
        lane = self._lanes.get(index)
        if lane is None or lane.loop is not loop or lane.kernel is not kernel:
            lane = self._lanes[index] = _Lane(loop, kernel)
        return lane

    def _start(self, lane: _Lane[T, R]) -> None:
        batch: list[_Entry[T, R]] = []
        later: list[_Entry[T, R]] = []
        keys: set[Hashable] = set()
        for entry in lane.waiting:
            key = self.conflict_of(entry[0])
            if len(batch) < self.max_batch and (key is None or (key not in keys and key not in lane.busy)):
                if key is not None:
                    keys.add(key)
                batch.append(entry)
            else:
                later.append(entry)
        lane.waiting = later
        if not batch:
            return
        lane.running += 1
        lane.busy |= keys
        # a context of its own: the batch belongs to no one request
        task = lane.loop.create_task(self._write(lane, batch, keys), context=contextvars.Context())
        lane.tasks.add(task)
        task.add_done_callback(lane.tasks.discard)

    async def _write(self, lane: _Lane[T, R], batch: list[_Entry[T, R]], keys: set[Hashable]) -> None:
        try:
            await self._write_batch(lane.kernel, batch)
        finally:
            for _, future, _ in batch:  # cancelled (the process stopping): no request waits forever
                if not future.done():
                    future.cancel()
            lane.running -= 1
            lane.busy -= keys
            if lane.waiting:
                self._start(lane)

    async def _write_batch(self, kernel: Kernel, batch: list[_Entry[T, R]]) -> None:
        token = audit.begin_batch([context for _, _, context in batch])
        items = [item for item, _, _ in batch]
        try:
            if not self.transaction:  # write_batch is atomic and records the batch itself
                results: Sequence[R | None] = await self.write_batch(kernel, items)
            else:
                # the batch's transaction is opened here, so that the items it did not write can be
                # taken out of its audit records before it commits
                async with kernel.db.transaction():
                    results = await self.write_batch(kernel, items)
                    if len(results) != len(batch):
                        raise RuntimeError(
                            f"{self.name}: write_batch gave {len(results)} results for {len(batch)} items"
                        )
                    audit.not_written(i for i, result in enumerate(results) if result is None)
        except Exception:  # the batch failed as a whole (nothing of it written): each item on its own
            log.debug("%s: a batch of %s failed; writing it item by item", self.name, len(batch), exc_info=True)
            results = [None] * len(batch)
        finally:
            audit.end_batch(token)
        for (item, future, context), result in zip(batch, results, strict=True):
            if result is not None:
                if not future.done():
                    future.set_result(result)
                continue
            token = audit.begin_batch([context])
            try:
                await _settle(future, self.write_one(kernel, item))
            finally:
                audit.end_batch(token)


async def _settle(future: asyncio.Future[R], work: Awaitable[R]) -> None:
    """Run ``work`` (one item's own write) into ``future``: its result or its problem."""
    try:
        result = await work
    except Exception as exc:
        if not future.done():
            future.set_exception(exc)
        return
    if not future.done():
        future.set_result(result)
