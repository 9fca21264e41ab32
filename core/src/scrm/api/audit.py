"""``/api/v1/audit``: the workspace's audit trail — search, export, verify (scope ``audit:read``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, get
from litestar.params import QueryParameter
from litestar.response import Stream

from scrm.api.members import EXPORT_MEDIA_TYPES, ExportOperation
from scrm.deps import KernelDep, WorkspaceDep
from scrm.pagination import Page
from scrm.params import DEFAULT_LIMIT, Cursor, Limit
from scrm.problems import ValidationFailed, field_error
from scrm.schemas import ChainReport
from scrm.services.audit import AuditFilter, AuditRecordOut

READ = {"scope": "audit:read"}
Pair = Annotated[str | None, QueryParameter(max_length=200, description="KIND or KIND:ID")]
Action = Annotated[str | None, QueryParameter(max_length=200, description="An action, exactly (createMember)")]
Since = Annotated[datetime | None, QueryParameter(description="Records at or after this time (with a time zone)")]
Until = Annotated[datetime | None, QueryParameter(description="Records before this time (with a time zone)")]


def audit_filter(
    actor: str | None, action: str | None, target: str | None, since: datetime | None, until: datetime | None
) -> AuditFilter:
    """The filter the query names; a time without a time zone is a 422 naming it."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(
                f"{name}: needs a time zone", errors=[field_error(name, "needs a time zone", "query")]
            )
    return AuditFilter.parse(actor, action, target, since, until)


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]

    @get(opt=READ, operation_id="listAuditRecords", summary="Search the audit trail")
    async def list_records(
        self,
        kernel: KernelDep,
        ws: WorkspaceDep,
        actor: Pair = None,
        action: Action = None,
        target: Pair = None,
        since: Since = None,
        until: Until = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[AuditRecordOut]:
        """The workspace's audit records, newest first: who (``actor=api_key:12``, ``operator:3``),
        what (``action``, ``target=member:42``), when (``since``, ``until``). A bad cursor is a 400."""
        return await kernel.audit.list(ws.id, audit_filter(actor, action, target, since, until), cursor, limit)

    @get(
        "/export",
        opt=READ,
        operation_id="exportAuditRecords",
        summary="Export the audit trail",
        operation_class=ExportOperation,
    )
    async def export(
        self,
        kernel: KernelDep,
        ws: WorkspaceDep,
        format: Annotated[Literal["ndjson", "csv"], QueryParameter(description="ndjson or csv")] = "ndjson",
        actor: Pair = None,
        action: Action = None,
        target: Pair = None,
        since: Since = None,
        until: Until = None,
    ) -> Stream:
        """Every matching record, oldest first, streamed as NDJSON (one record a line) or CSV."""
        filters = audit_filter(actor, action, target, since, until)

        async def body() -> AsyncIterator[bytes]:
            async for chunk in kernel.audit.export(ws.id, filters, format):
                yield chunk

        return Stream(
            body(),
            media_type=EXPORT_MEDIA_TYPES[format],
            headers={"content-disposition": f'attachment; filename="audit-{ws.slug}.{format}"'},
        )

    @get("/verify", opt=READ, operation_id="verifyAuditTrail", summary="Verify the audit trail")
    async def verify(self, kernel: KernelDep, ws: WorkspaceDep) -> ChainReport:
        """Recompute the workspace's chain; ``broken`` names the first record that does not hold."""
        return await kernel.audit.verify(ws.id)
