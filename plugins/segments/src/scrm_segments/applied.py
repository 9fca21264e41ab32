"""Which delivered events were applied already (``segments_applied``), kept as *runs* of
consecutive event ids: a delivered batch is one or a few rows, not one row per event.

A row covers the ids ``event_id`` to ``last_id``; rows never overlap (on PostgreSQL an exclusion
constraint over their ranges makes that so, and SQLite's writers take turns). A batch's runs are
inserted in one statement, each only where it overlaps no run already there (an index range of
``(workspace, event_id)``, and the one run starting before it); those that come back are fresh. A
run that did not — a redelivery, or a run overlapping one a concurrent delivery inserted, which
waits for that delivery's commit (``ON CONFLICT DO NOTHING``) — has its ids checked against the
runs now there, and the ids none covers are inserted as runs again. So, as with one row per event,
a redelivered or racing event is applied exactly once, and the common case is one statement.

The runs are of the whole batch, the events the upkeep ignores included (marking them applied
changes nothing, and keeps the runs long); event ids are global, so a run never spans another
workspace's event unless that event was in the batch, which it cannot be."""

from __future__ import annotations

from collections.abc import Sequence

import scrm

from scrm_segments import clock


def runs(ids: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted distinct ids as runs of consecutive ids: ``[1, 2, 3, 7]`` → ``[(1, 3), (7, 7)]``."""
    found: list[tuple[int, int]] = []
    for i in ids:
        if found and found[-1][1] == i - 1:
            found[-1] = (found[-1][0], i)
        else:
            found.append((i, i))
    return found


async def _covered(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, low: int, high: int) -> list[tuple[int, int]]:
    """The workspace's runs overlapping ``low``–``high``: those starting in it, and the one starting
    before it if it reaches in (runs never overlap, so there is at most one). Another workspace's
    runs hold only its own events, so they are not read."""
    rows = await kernel.sql.run(
        "SELECT event_id, last_id FROM segments_applied WHERE workspace = {ws} AND event_id >= {low} "
        "AND event_id <= {high} UNION ALL SELECT event_id, last_id FROM (SELECT event_id, last_id "
        "FROM segments_applied WHERE workspace = {ws} AND event_id < {low} ORDER BY event_id DESC LIMIT 1) b "
        "WHERE last_id >= {low}",
        ws=ws.id,
        low=low,
        high=high,
    )
    return [(int(r["event_id"]), int(r["last_id"])) for r in rows]


async def _insert(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, todo: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Insert the runs that overlap no run of the workspace (the one starting in them, or the one
    starting before them and reaching in); returns those inserted. On PostgreSQL a run overlapping
    one a concurrent delivery has not committed yet waits for it (the exclusion constraint), then
    is left out if that one committed."""
    sql = kernel.sql
    rows = await sql.fetch(
        "INSERT INTO segments_applied (workspace, event_id, last_id, applied_at) "
        f"SELECT {{}}, x.lo, x.hi, {{}} FROM {sql.rows([('lo', 'bigint'), ('hi', 'bigint')])} "
        "WHERE NOT EXISTS (SELECT 1 FROM segments_applied a WHERE a.workspace = {} AND a.event_id >= x.lo "
        "AND a.event_id <= x.hi) AND COALESCE((SELECT a.last_id FROM segments_applied a WHERE a.workspace = {} "
        "AND a.event_id < x.lo ORDER BY a.event_id DESC LIMIT 1), x.lo - 1) < x.lo "
        "ORDER BY x.lo ON CONFLICT DO NOTHING RETURNING event_id, last_id",
        ws.id,
        clock.now(),
        sql.encode({"lo": lo, "hi": hi} for lo, hi in todo),
        ws.id,
        ws.id,
    )
    return {(int(r["event_id"]), int(r["last_id"])) for r in rows}


async def fresh(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, events: Sequence[scrm.EventOut]) -> list[scrm.EventOut]:
    """The events never applied before, marked applied now (in the caller's transaction): the
    batch's runs inserted in one statement, and — only for runs that overlapped an applied one
    (a redelivery, a race) — their ids looked at one by one against the runs there."""
    new: set[int] = set()
    todo = runs(sorted({e.id for e in events}))
    while todo:
        inserted = await _insert(kernel, ws, todo)
        for low, high in inserted:
            new.update(range(low, high + 1))
        pending = [i for low, high in todo if (low, high) not in inserted for i in range(low, high + 1)]
        if not pending:
            break
        done: set[int] = set()
        for low, high in await _covered(kernel, ws, pending[0], pending[-1]):
            done.update(i for i in pending if low <= i <= high)
        if not done:  # a conflict with no run to show for it: never loop on it
            raise RuntimeError(f"segments_applied: runs {todo[:3]}… conflict with no run of workspace {ws.id}")
        todo = runs([i for i in pending if i not in done])
    return [e for e in events if e.id in new]
