"""A workspace's compliance policy (retention, request due dates) and applying its retention.

Retention deletes events older than ``events_days`` and an erased member's remaining events older
than ``erased_events_days``, through the core's ``kernel.events.purge``, whose dry run counts by the
very condition it deletes by: the dry run's report is what applying deletes. The audit trail is never
cut: ``trail_years`` is the legal minimum it is kept for, reported (its chain must verify from the
first record). An erased member's row itself stays, pseudonymised: the consent ledger refers to it
and must keep verifying.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import scrm
from scrm import as_datetime

from scrm_audit.schemas import PolicyIn, PolicyOut, RetentionReport

COLUMNS = (
    "events_days, erased_events_days, trail_years, dsr_due_days, dsr_due_months, updated_at, last_applied_at, "
    "last_deleted"
)


async def load(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> PolicyOut:
    rows = await kernel.db.fetch(f"SELECT {COLUMNS} FROM audit_policy WHERE workspace = {{}}", ws.id)
    if not rows:
        return PolicyOut()
    row: dict[str, Any] = dict(rows[0])
    row["updated_at"] = as_datetime(row["updated_at"])
    row["last_applied_at"] = as_datetime(row["last_applied_at"])
    return msgspec.convert(row, PolicyOut)


async def save(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: PolicyIn) -> PolicyOut:
    values = msgspec.to_builtins(data)
    names = list(values)
    async with kernel.db.transaction():
        await kernel.db.fetch(
            f"INSERT INTO audit_policy (workspace, {', '.join(names)}, updated_at, last_deleted) "
            f"VALUES ({', '.join(['{}'] * (len(names) + 2))}, 0) ON CONFLICT (workspace) DO UPDATE SET "
            + ", ".join(f"{n} = excluded.{n}" for n in [*names, "updated_at"]),
            ws.id,
            *values.values(),
            datetime.now(UTC),
        )
        kernel.audit.note("audit_policy", ws.id, values)
    return await load(kernel, ws)


async def retention(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, *, dry_run: bool) -> RetentionReport:
    """What the policy deletes now (``dry_run``), or delete it; both by the same conditions."""
    settings = await load(kernel, ws)
    at = datetime.now(UTC)
    events = erased = 0
    # two disjoint sets (an erased member's events older than both limits count once, as events),
    # so the dry run's counts add up to what applying deletes
    events_cutoff = at - timedelta(days=settings.events_days) if settings.events_days else None
    if events_cutoff is not None:
        events = await kernel.events.purge(ws, events_cutoff, dry_run=dry_run)
    if settings.erased_events_days:
        erased_cutoff = at - timedelta(days=settings.erased_events_days)
        if events_cutoff is None or erased_cutoff > events_cutoff:
            erased = await kernel.events.purge(
                ws, erased_cutoff, since=events_cutoff, erased_only=True, dry_run=dry_run
            )
    if not dry_run:
        await kernel.db.fetch(
            "UPDATE audit_policy SET last_applied_at = {}, last_deleted = {} WHERE workspace = {}",
            at,
            events + erased,
            ws.id,
        )
    return RetentionReport(
        dry_run=dry_run,
        events=events,
        erased_members_events=erased,
        trail_kept_since=at - timedelta(days=365 * settings.trail_years),
    )


async def apply_everywhere(ctx: scrm.JobContext) -> None:
    """Cron ``audit.retention`` (nightly): apply each workspace's policy where the plugin is enabled."""
    kernel = ctx.kernel
    rows = await kernel.db.fetch("SELECT workspace FROM audit_policy ORDER BY workspace")
    for row in rows:
        try:
            ws = await kernel.workspaces.ref(int(row["workspace"]))
        except scrm.NotFound:
            continue  # deleted meanwhile
        if "audit" in ws.enabled_plugins:
            await retention(kernel, ws, dry_run=False)
