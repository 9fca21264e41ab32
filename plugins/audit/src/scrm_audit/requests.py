"""Data-subject requests (PIPL / GDPR): received, due, handled, closed with a result.

Executing a request does the work through the core's public services and closes it in the same
transaction: access exports one archive (the core's data and every plugin's ``scrm_export_member``
share), erasure runs ``kernel.members.erase`` (every plugin's ``scrm_erase_member``; irreversible,
and recorded in the audit trail like every write), withdrawal appends a withdrawal of every purpose the
member has granted. A rectification is made on the member (``PATCH /members/{id}``), then the request
is closed by hand.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import scrm
from scrm import Conflict, NotFound, as_datetime

from scrm_audit import policy
from scrm_audit.schemas import ExecuteOut, RequestClose, RequestIn, RequestOut

COLUMNS = "id, member_id, kind, status, received_at, due_at, closed_at, handled_by, result, note"


def due_date(received: datetime, days: int, months: int) -> datetime:
    """When a request received at ``received`` falls due: ``months`` calendar months later when set
    (the 31st of a shorter month is its last day: 31 Jan + 1 month = 28/29 Feb), else ``days`` days."""
    if months:
        month_index = received.month - 1 + months
        year, month = received.year + month_index // 12, month_index % 12 + 1
        day = min(received.day, calendar.monthrange(year, month)[1])
        return received.replace(year=year, month=month, day=day)
    return received + timedelta(days=days)


def to_request(row: dict[str, Any], now: datetime) -> RequestOut:
    due = as_datetime(row["due_at"])
    closed = as_datetime(row["closed_at"])
    return RequestOut(
        id=int(row["id"]),
        member_id=int(row["member_id"]),
        kind=row["kind"],
        status=row["status"],
        received_at=as_datetime(row["received_at"]),
        due_at=due,
        closed_at=closed,
        overdue=(closed or now) > due,
        handled_by=row["handled_by"],
        result=row["result"],
        note=row["note"],
    )


async def create(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: RequestIn) -> RequestOut:
    [member_id] = await kernel.members.resolve(ws, [data])  # type: ignore[list-item]
    settings = await policy.load(kernel, ws)
    received = data.received_at or now_utc()
    due = due_date(received, settings.dsr_due_days, settings.dsr_due_months)
    async with kernel.db.transaction():
        rows = await kernel.db.fetch(
            "INSERT INTO audit_request (workspace, member_id, kind, status, received_at, due_at, closed_at, handled_by, "
            f"result, note) VALUES ({{}}, {{}}, {{}}, 'open', {{}}, {{}}, NULL, '', '', {{}}) RETURNING {COLUMNS}",
            ws.id,
            member_id,
            data.kind,
            received,
            due,
            data.note,
        )
        kernel.audit.note("data_subject_request", rows[0]["id"], {"kind": data.kind, "member": member_id})
    return to_request(rows[0], now_utc())


async def get(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, request_id: int) -> RequestOut:
    rows = await kernel.db.fetch(
        f"SELECT {COLUMNS} FROM audit_request WHERE id = {{}} AND workspace = {{}}", request_id, ws.id
    )
    if not rows:
        raise NotFound(f"No data-subject request {request_id} in this workspace")
    return to_request(rows[0], now_utc())


async def listing(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, status: str | None, cursor: str | None, limit: int
) -> scrm.Page[RequestOut]:
    """Requests by due date, soonest first (the queue); cursor-paginated by id within it."""
    after = kernel.cursors.decode("audit.requests", cursor)
    where = " AND status = {}" if status else ""
    rows = await kernel.db.fetch(
        f"SELECT {COLUMNS} FROM audit_request WHERE workspace = {{}} AND id > {{}}{where} ORDER BY id LIMIT {{}}",
        ws.id,
        after,
        *([status] if status else []),
        limit + 1,
    )
    at = now_utc()
    items = [to_request(row, at) for row in rows]
    page = kernel.cursors.page("audit.requests", items, [r.id for r in items], limit)
    page.items.sort(key=lambda r: (r.status != "open", r.due_at))
    return page


async def close(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, request_id: int, data: RequestClose, handler: str
) -> RequestOut:
    return await _finish(kernel, ws, request_id, data.status, data.result, handler)


async def execute(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, request_id: int, handler: str) -> ExecuteOut:
    """Do what the request asks and close it; answers the request and, for access, the archive."""
    request = await get(kernel, ws, request_id)
    if request.status != "open":
        raise Conflict(f"Request {request_id} is {request.status}")
    archive: dict[str, Any] | None = None
    async with kernel.db.transaction():
        if request.kind == "access":
            archive = msgspec.to_builtins(await kernel.members.export(ws, request.member_id))
            result = "exported"
        elif request.kind == "erasure":
            await kernel.members.erase(ws, request.member_id)
            result = "erased"
        elif request.kind == "withdrawal":
            current = await kernel.consents.current(ws, request.member_id)
            granted = [c.purpose for c in current if c.status == "granted"]
            if granted:
                await kernel.consents.append(
                    ws,
                    [
                        scrm.ConsentIn(member_id=request.member_id, purpose=p, status="withdrawn", source="dsr")
                        for p in granted
                    ],
                )
            result = f"withdrawn: {', '.join(granted) or 'nothing was granted'}"
        else:
            raise Conflict("A rectification is made on the member, then the request is closed by hand")
        done = await _finish(kernel, ws, request_id, "done", result, handler)
    return ExecuteOut(request=done, archive=archive)


async def _finish(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, request_id: int, status: str, result: str, handler: str
) -> RequestOut:
    async with kernel.db.transaction():
        rows = await kernel.db.fetch(
            "UPDATE audit_request SET status = {}, result = {}, handled_by = {}, closed_at = {} "
            f"WHERE id = {{}} AND workspace = {{}} AND status = 'open' RETURNING {COLUMNS}",
            status,
            result,
            handler,
            now_utc(),
            request_id,
            ws.id,
        )
        if not rows:
            await get(kernel, ws, request_id)  # a 404 when it is not here
            raise Conflict(f"Request {request_id} is already closed")
        kernel.audit.note("data_subject_request", request_id, {"status": status})
    return to_request(rows[0], now_utc())


async def delete_workspace(kernel: scrm.Kernel, workspace_id: int) -> None:
    for table in ("audit_request", "audit_policy", "audit_check"):
        await kernel.db.fetch(f"DELETE FROM {table} WHERE workspace = {{}}", workspace_id)


def now_utc() -> datetime:
    return datetime.now(UTC)
