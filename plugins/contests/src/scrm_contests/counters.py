"""Per-member counters with a limit, enforced by the database: one row per contest, member and
bucket (a unique index), bumped by a conditional upsert — ``… DO UPDATE SET n = n + 1 WHERE n <
limit`` — that returns no row at the limit. However many requests race, the count never passes it:
on PostgreSQL the row lock orders them, on SQLite the write lock does.

Buckets: ``submissions``; ``votes`` (in the contest); ``day:<YYYY-MM-DD>`` (votes that day, in the
workspace's time zone); ``sub:<submission id>`` (votes for one submission).
"""

from __future__ import annotations

import scrm


async def bump(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int, member_id: int, limits: list[tuple[str, int]]
) -> list[str]:
    """Count one more in each ``(bucket, limit)`` — one statement, inside the caller's transaction —
    and answer the buckets already at their limit (none: all counted; the caller rolls back
    otherwise). Each row keeps the limit it was counted against (``cap``), which is what lets one
    multi-row upsert apply a different limit per bucket. Rows are locked in bucket order, the order
    every writer of counters keeps (no two can wait on each other)."""
    if not limits:
        return []
    args: list[object] = []
    for bucket, limit in sorted(limits):
        args += [ws.id, contest_id, member_id, bucket, limit]
    counted = await kernel.sql.fetch(
        "INSERT INTO contests_counter (workspace, contest, member_id, bucket, n, cap) VALUES "
        + ", ".join("({}, {}, {}, {}, 1, {})" for _ in limits)
        + " ON CONFLICT (contest, member_id, bucket) DO UPDATE SET n = contests_counter.n + 1, cap = EXCLUDED.cap "
        "WHERE contests_counter.n < EXCLUDED.cap RETURNING bucket",
        *args,
    )
    done = {r["bucket"] for r in counted}
    return [bucket for bucket, _ in limits if bucket not in done]
