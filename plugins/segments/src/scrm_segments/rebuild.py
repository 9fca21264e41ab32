"""Rebuilding profiles from history: for a workspace that had members and events before segments
was enabled (``scrm segments rebuild --workspace W``, and the job queued when segments is switched
on). It reads the event log once, a page at a time, through the same upkeep as delivery — the one
place this plugin scans events; the marks of applied events keep a rerun from counting twice."""

from __future__ import annotations

import logging

import scrm

from scrm_segments import profiles, watch

log = logging.getLogger("scrm_segments")


async def rebuild(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> int:
    """Apply every stored event of the workspace not applied yet, then re-evaluate the watched
    segments (their entries and exits recorded as events); returns how many events were read."""
    cursor: str | None = None
    read = 0
    while True:
        page = await kernel.events.list(ws, scrm.EventFilter(), cursor, scrm.MAX_LIMIT)
        async with kernel.db.transaction():
            await _hold_members(kernel, ws, page.items)
            await profiles.apply(kernel, ws, page.items)
        read += len(page.items)
        if page.next_cursor is None:
            await watch.recompute(kernel, ws)
            return read
        cursor = page.next_cursor


async def _hold_members(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, events: list[scrm.EventOut]) -> None:
    """Hold the page's members until its transaction ends, in id order (as a delivery does, and
    before the applied runs, as there): an erasure racing the rebuild then waits for it, or commits
    first and the upkeep sees the member erased — never a profile written for an erased member."""
    ids = sorted({e.member_id for e in events if e.member_id is not None})
    if not ids or not kernel.sql.postgres:
        return
    condition, arg = kernel.sql.any_of("id", ids)
    await kernel.sql.fetch(
        f"SELECT id FROM scrm_member WHERE workspace = {{}} AND {condition} ORDER BY id{kernel.sql.for_share}",
        ws.id,
        arg,
    )


async def job(ctx: scrm.JobContext, workspace_id: int) -> None:
    """Job ``segments.rebuild`` (queued when segments is enabled in a workspace)."""
    ws = await ctx.kernel.workspace_ref(workspace_id)
    if "segments" in ws.enabled_plugins:
        log.info("segments.rebuild: %s event(s) read in %s", await rebuild(ctx.kernel, ws), ws.slug)
