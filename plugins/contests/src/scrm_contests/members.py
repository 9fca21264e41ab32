"""What the contests hold about one member — submissions (with their files), votes, awards — for the
member panel, data-subject access (``scrm_export_member``) and erasure (``scrm_erase_member``).

Erasure deletes the member's submissions and their files — from storage too, once the erasure's
transaction has committed — their votes (taken off the submissions' counts), counters and signals.
Awards stay as the bare member id and rank, so a published result still adds up.
"""

from __future__ import annotations

from typing import Any

import msgspec
import scrm

from scrm_contests import storage, submissions

_PER_LIST = 100


async def member_submissions(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int, limit: int | None = None
) -> list[dict[str, Any]]:
    tail = f" LIMIT {int(limit)}" if limit else ""
    rows = await kernel.sql.fetch(
        f"SELECT {', '.join('s.' + c.strip() for c in submissions.COLUMNS.split(','))}, c.name AS contest_name, "
        "c.phase FROM contests_submission s JOIN contests_contest c ON c.id = s.contest WHERE s.workspace = {} "
        f"AND s.member_id = {{}} ORDER BY s.id DESC{tail}",
        ws.id,
        member_id,
    )
    outs = await submissions.with_media(kernel, ws, rows)
    return [
        {
            "contest": r["contest_name"],
            "phase": r["phase"],
            **msgspec.to_builtins(out),
        }
        for r, out in zip(rows, outs, strict=True)
    ]


async def votes(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> list[dict[str, Any]]:
    rows = await kernel.sql.fetch(
        "SELECT id, contest, submission, source, device, voided, created_at FROM contests_vote WHERE workspace = {} "
        "AND member_id = {} ORDER BY id",
        ws.id,
        member_id,
    )
    return [
        {
            "vote_id": r["id"],
            "contest_id": r["contest"],
            "submission_id": r["submission"],
            "source": r["source"],
            "device": r["device"],
            "voided": bool(r["voided"]),
            "voted_at": scrm.as_datetime(r["created_at"]),
        }
        for r in rows
    ]


async def awards(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> list[dict[str, Any]]:
    rows = await kernel.sql.fetch(
        "SELECT a.contest, c.name, a.rank, a.points, a.contactable, a.notified_at FROM contests_award a "
        "JOIN contests_contest c ON c.id = a.contest WHERE a.workspace = {} AND a.member_id = {} ORDER BY a.id DESC",
        ws.id,
        member_id,
    )
    return [
        {
            "contest_id": r["contest"],
            "contest": r["name"],
            "rank": r["rank"],
            "points": r["points"],
            "contactable": None if r["contactable"] is None else bool(r["contactable"]),
            "notified_at": scrm.as_datetime(r["notified_at"]),
        }
        for r in rows
    ]


async def export(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> dict[str, Any] | None:
    data = {
        "submissions": await member_submissions(kernel, ws, member_id),
        "votes": await votes(kernel, ws, member_id),
        "awards": await awards(kernel, ws, member_id),
    }
    return data if any(data.values()) else None


async def erase(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> None:
    """Runs inside the erasure's transaction; the files go once it has committed."""
    files = await kernel.sql.fetch(
        "SELECT m.storage_key, m.thumb_key FROM contests_media m JOIN contests_submission s ON s.id = m.submission "
        "WHERE s.workspace = {} AND s.member_id = {}",
        ws.id,
        member_id,
    )
    keys = submissions.stored_keys((r["storage_key"], r["thumb_key"]) for r in files)
    counted = await kernel.sql.fetch(
        "SELECT submission, COUNT(*) AS n FROM contests_vote WHERE workspace = {} AND member_id = {} AND voided = FALSE "
        "GROUP BY submission",
        ws.id,
        member_id,
    )
    for r in counted:
        await kernel.sql.fetch(
            "UPDATE contests_submission SET votes = votes - {} WHERE id = {} AND workspace = {}",
            int(r["n"]),
            r["submission"],
            ws.id,
        )
    mine = "SELECT id FROM contests_submission WHERE workspace = {} AND member_id = {}"
    for table, column in (("contests_media", "submission"), ("contests_score", "submission")):
        await kernel.sql.fetch(
            f"DELETE FROM {table} WHERE workspace = {{}} AND {column} IN ({mine})", ws.id, ws.id, member_id
        )
    for table in ("contests_signal", "contests_vote", "contests_counter", "contests_submission"):
        await kernel.sql.fetch(f"DELETE FROM {table} WHERE workspace = {{}} AND member_id = {{}}", ws.id, member_id)

    async def delete_files() -> None:
        await storage.of(kernel).delete(keys)

    if keys:
        kernel.db.after_commit(delete_files)


async def panel(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> dict[str, Any]:
    return {
        "submissions": await member_submissions(kernel, ws, member_id, _PER_LIST),
        "awards": await awards(kernel, ws, member_id),
    }


async def delete_workspace(kernel: scrm.Kernel, workspace_id: int) -> None:
    files = await kernel.sql.fetch(
        "SELECT storage_key, thumb_key FROM contests_media WHERE workspace = {}", workspace_id
    )
    for table in (
        "contests_award",
        "contests_score",
        "contests_signal",
        "contests_vote",
        "contests_counter",
        "contests_media",
        "contests_submission",
        "contests_phase_change",
        "contests_contest",
    ):
        await kernel.sql.fetch(f"DELETE FROM {table} WHERE workspace = {{}}", workspace_id)
    await storage.of(kernel).delete(submissions.stored_keys((r["storage_key"], r["thumb_key"]) for r in files))
