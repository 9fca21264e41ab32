"""Verifying the hash chains on a schedule, and the alert when one breaks.

Cron ``audit.verify`` (hourly) recomputes, in every workspace where the plugin is enabled, the
consent ledger's chain and the audit trail's, and stores the outcome. A broken chain raises the alert:

- an ``audit.chain_broken`` record in the workspace's audit trail (``kernel.audit.record``, actor
  ``system``, target ``chain:consent`` or ``chain:trail``, the first bad record's seq, id and reason in
  its summary), committed with the check that found it — what ``GET /api/v1/audit?action=
  audit.chain_broken`` and the trail's export show. Recorded once per break: while the previous
  check reported the same first bad record of that chain, a check adds none (checks of a workspace
  take turns, so two at once do not both see it as new);
- with it, in the same transaction, an ``audit.chain_broken`` **workspace event** (no member, source
  ``audit``, properties ``chain`` and the first bad record's ``seq``, ``record_id`` and ``reason``):
  delivered like every event, so a webhook subscription to ``audit.*`` carries the alert into the
  operator's own systems, and the console's event stream shows it;
- a log record at ERROR (logger ``scrm.audit``, message ``audit.chain_broken`` with the workspace and
  the first broken link: what a log shipper pages on), at every check that finds it;
- a banner on the console's dashboard (``scrm_dashboard_alerts``) until a later check finds both
  chains sound.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import msgspec
import scrm
from scrm import NotFound, as_datetime

from scrm_audit.schemas import CheckOut

log = logging.getLogger("scrm.audit")


def N_(message: str) -> str:
    """Marks English text the console translates where it shows it (the dashboard's banner)."""
    return message


#: the alert's action in the audit trail, and who records it
ALERT = "audit.chain_broken"
ACTOR = scrm.Actor("system", "audit.verify", "scheduled verification")
BROKEN_ALERT = N_("A hash chain of this workspace is broken: see Compliance → Integrity")


def _link(report: scrm.ChainReport) -> str:
    if report.broken is None:
        return ""
    return f"seq {report.broken.seq} (record {report.broken.record_id}): {report.broken.reason}"


CHAINS = (("consent", "consent ledger"), ("trail", "audit trail"))


async def verify(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> CheckOut:
    """Verify both chains of ``ws`` now, store the outcome and, for each break the previous check did
    not report, record the ``audit.chain_broken`` alert with it."""
    reports = {"consent": await kernel.consents.verify(ws), "trail": await kernel.audit.verify(ws.id)}
    detail = "; ".join(f"{label}: {_link(reports[chain])}" for chain, label in CHAINS if not reports[chain].ok)
    async with kernel.db.transaction():
        if kernel.sql.postgres:  # checks of one workspace at once (the cron, "Verify now") take turns
            await kernel.db.fetch("SELECT pg_advisory_xact_lock(hashtext('audit_check'), {}::int)", ws.id)
        previous = await latest(kernel, ws)
        rows = await kernel.db.fetch(
            "INSERT INTO audit_check (workspace, checked_at, consent_ok, trail_ok, detail) "
            "VALUES ({}, {}, {}, {}, {}) RETURNING id, checked_at, consent_ok, trail_ok, detail",
            ws.id,
            datetime.now(UTC),
            reports["consent"].ok,
            reports["trail"].ok,
            detail,
        )
        reported = previous[0].detail if previous else ""
        for chain, label in CHAINS:
            broken = reports[chain].broken
            if broken is not None and f"{label}: {_link(reports[chain])}" not in reported:
                link = msgspec.structs.asdict(broken)
                await kernel.audit.record(ws.id, ALERT, "chain", chain, link, actor=ACTOR)
                alert = scrm.NewEvent(
                    member_id=None,  # a workspace event: the fact is about the workspace, not a person
                    type=ALERT,
                    properties={"chain": chain, **link},
                    source="audit",
                    idempotency_key=f"{ALERT}:{chain}:check:{rows[0]['id']}",
                )
                await kernel.events.record(ws, [alert])
    check = to_check(rows[0])
    if detail:
        log.error("audit.chain_broken workspace=%s %s", ws.slug, detail)
    return check


async def latest(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, limit: int = 1) -> list[CheckOut]:
    rows = await kernel.db.fetch(
        "SELECT id, checked_at, consent_ok, trail_ok, detail FROM audit_check WHERE workspace = {} "
        "ORDER BY id DESC LIMIT {}",
        ws.id,
        limit,
    )
    return [to_check(row) for row in rows]


async def alerts(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> list[str]:
    """The dashboard's banner while the latest check found a broken chain."""
    last = await latest(kernel, ws)
    return [BROKEN_ALERT] if last and not (last[0].consent_ok and last[0].trail_ok) else []


async def verify_everywhere(ctx: scrm.JobContext) -> None:
    """Cron ``audit.verify``."""
    kernel = ctx.kernel
    for workspace in await kernel.workspaces.list():
        try:
            ws = await kernel.workspaces.ref(workspace.id)
        except NotFound:
            continue  # deleted meanwhile
        if "audit" in ws.enabled_plugins:
            await verify(kernel, ws)


def to_check(row: dict[str, Any]) -> CheckOut:
    return CheckOut(
        id=int(row["id"]),
        checked_at=as_datetime(row["checked_at"]),
        consent_ok=bool(row["consent_ok"]),
        trail_ok=bool(row["trail_ok"]),
        detail=row["detail"],
    )
