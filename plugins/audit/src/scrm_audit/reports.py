"""A workspace's compliance report for a period: consent coverage by purpose, contact attempts the
consent door refused (the core's counters, by purpose, channel and reason) and the contacts made
without consent (messages the channels plugin sent, checked against the ledger as it stood when each
was sent: zero is the only right answer), data-subject requests (volumes by kind, on time or late,
open and overdue), the integrity of both hash chains (verified now), and the trail's writes by
channel — the figures the console's reports page charts and the HTML report an agency hands to its
client."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Protocol

import scrm
from scrm import as_datetime

from scrm_audit.requests import now_utc
from scrm_audit.schemas import Report


class Sender(Protocol):
    """What the report asks of a plugin that contacts members (the channels plugin's service)."""

    async def contacts(self, ws: scrm.WorkspaceRef, since: datetime, until: datetime) -> list[scrm.Contact]: ...


async def contacts_without_consent(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, since: datetime, until: datetime
) -> tuple[int, int] | None:
    """How many contacts were made in the period and how many of them without consent; None when no
    plugin that sends is enabled here (nothing the report can check)."""
    sender: Sender | None = kernel.service("channels", ws)
    if sender is None:
        return None
    made = await sender.contacts(ws, since, until)
    return len(made), len(await kernel.consents.without_consent(ws, made))


async def build(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, since: datetime, until: datetime) -> Report:
    coverage = await kernel.reports.consent_coverage(ws)
    members = coverage[0].members if coverage else await kernel.members.count(ws)
    rows = await kernel.db.fetch(
        "SELECT kind, status, due_at, closed_at FROM audit_request WHERE workspace = {} AND received_at >= {} "
        "AND received_at < {}",
        ws.id,
        since,
        until,
    )
    kinds = Counter(row["kind"] for row in rows)
    on_time = late = open_overdue = 0
    now = now_utc()
    for row in rows:
        due, closed = as_datetime(row["due_at"]), as_datetime(row["closed_at"])
        if closed is not None:
            on_time, late = (on_time + 1, late) if closed <= due else (on_time, late + 1)
        elif now > due:
            open_overdue += 1
    channels: Counter[str] = Counter()
    async for record in kernel.audit.rows(ws.id, scrm.AuditFilter(since=since, until=until)):
        channels[record["channel"]] += 1
    consents = await kernel.consents.verify(ws)
    trail = await kernel.audit.verify(ws.id)
    refusals = await kernel.consents.refusals.totals(ws, since, until)
    checked = await contacts_without_consent(kernel, ws, since, until)
    return Report(
        workspace=ws.slug,
        since=since,
        until=until,
        members=members,
        consent_coverage={c.purpose: round(c.granted / c.members, 4) if c.members else 0.0 for c in coverage},
        requests={kind: kinds.get(kind, 0) for kind in ("access", "rectification", "erasure", "withdrawal")},
        requests_on_time=on_time,
        requests_late=late,
        requests_open_overdue=open_overdue,
        consent_chain_ok=consents.ok,
        trail_ok=trail.ok,
        trail_records=trail.records,
        writes_by_channel=dict(channels),
        refused=sum(r.count for r in refusals),
        refusals=refusals,
        contacts_checked=None if checked is None else checked[0],
        contacted_without_consent=None if checked is None else checked[1],
    )
