"""``/api/v1/audit/…``: the audit plugin's routes (beside the core's own ``/api/v1/audit`` trail)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import scrm
from litestar import Controller, get, post, put
from litestar.params import JSONBody, QueryParameter

from scrm_audit import checks, copy, policy, reports, requests
from scrm_audit.schemas import (
    CheckOut,
    CopyIn,
    CopyReport,
    ExecuteOut,
    PolicyIn,
    PolicyOut,
    Report,
    RequestClose,
    RequestIn,
    RequestOut,
    RetentionReport,
    StarterIn,
)

READ = {"scope": "audit:read"}
WRITE = {"scope": "audit:write"}
#: a POST that changes nothing: not an audit record of its own
CHECK = {"scope": "audit:read", scrm.AUDIT_OPT: False}
Moment = Annotated[datetime | None, QueryParameter(description="With a time zone")]


def handler_of(principal: scrm.Principal) -> str:
    return f"key:{principal.key_id}"


def period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """The report's period: the last 30 days by default; a time without a zone or an empty period is a 422."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise scrm.invalid(name, "needs a time zone", "query")
    end = until or datetime.now(UTC)
    start = since or end - timedelta(days=30)
    if start >= end:
        raise scrm.invalid("since", "must be before until", "query")
    return start, end


class AuditPluginController(Controller):
    tags = ["audit"]

    @post("/copy-check", opt=CHECK, operation_id="auditCopyCheck", summary="Review marketing copy", status_code=200)
    async def copy_check(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[CopyIn]) -> CopyReport:
        """The word list's findings in a draft, each with its span (``text[start:end]``) and category."""
        return await copy.check(kernel, ws, data.text)

    @post("/wordlist/starter", opt=WRITE, operation_id="auditLoadStarterList", summary="Load a starter word list")
    async def starter(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[StarterIn]
    ) -> list[scrm.ModerationTermOut]:
        """Add the advertising-law starter list (``zh`` or ``en``) to the workspace word list."""
        return await copy.load_starter(kernel, ws, data.language)

    @get("/requests", opt=READ, operation_id="auditListRequests", summary="List data-subject requests")
    async def list_requests(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        status: Annotated[Literal["open", "done", "rejected"] | None, QueryParameter()] = None,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[RequestOut]:
        """Requests with their due dates (``overdue`` when past it)."""
        return await requests.listing(kernel, ws, status, cursor, limit)

    @post("/requests", opt=WRITE, operation_id="auditCreateRequest", summary="Record a data-subject request")
    async def create_request(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[RequestIn]
    ) -> RequestOut:
        """A request received (now, or at ``received_at``); its due date follows the workspace policy."""
        return await requests.create(kernel, ws, data)

    @get("/requests/{request_id:int}", opt=READ, operation_id="auditGetRequest", summary="Get a request")
    async def get_request(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, request_id: scrm.PathId) -> RequestOut:
        """One request with its due date and, once closed, who handled it and the result."""
        return await requests.get(kernel, ws, request_id)

    @post(
        "/requests/{request_id:int}/execute",
        opt=WRITE,
        operation_id="auditExecuteRequest",
        summary="Carry out a request",
        status_code=200,
    )
    async def execute(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, principal: scrm.PrincipalDep, request_id: scrm.PathId
    ) -> ExecuteOut:
        """Access: the archive; erasure: the member erased everywhere (irreversible); withdrawal:
        every granted purpose withdrawn. Closes the request. A closed one is a 409."""
        return await requests.execute(kernel, ws, request_id, handler_of(principal))

    @post(
        "/requests/{request_id:int}/close",
        opt=WRITE,
        operation_id="auditCloseRequest",
        summary="Close a request",
        status_code=200,
    )
    async def close(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        principal: scrm.PrincipalDep,
        request_id: scrm.PathId,
        data: JSONBody[RequestClose],
    ) -> RequestOut:
        """Done (a rectification made) or rejected, with the result. A closed one is a 409."""
        return await requests.close(kernel, ws, request_id, data, handler_of(principal))

    @get("/policy", opt=READ, operation_id="auditGetPolicy", summary="The compliance policy")
    async def get_policy(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> PolicyOut:
        """Retention and request due dates, with when retention was last applied."""
        return await policy.load(kernel, ws)

    @put("/policy", opt=WRITE, operation_id="auditPutPolicy", summary="Replace the compliance policy")
    async def put_policy(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[PolicyIn]) -> PolicyOut:
        """Replace the policy (fields left out take their defaults)."""
        return await policy.save(kernel, ws, data)

    @post(
        "/retention/dry-run",
        opt=CHECK,
        operation_id="auditRetentionDryRun",
        summary="What retention would delete",
        status_code=200,
    )
    async def dry_run(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> RetentionReport:
        """The counts applying the policy now deletes, deleting nothing."""
        return await policy.retention(kernel, ws, dry_run=True)

    @post(
        "/retention/apply",
        opt=WRITE,
        operation_id="auditRetentionApply",
        summary="Apply retention now",
        status_code=200,
    )
    async def apply(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> RetentionReport:
        """Delete what the policy says now (what the dry run reported); answers the counts."""
        return await policy.retention(kernel, ws, dry_run=False)

    @get("/checks", opt=READ, operation_id="auditListChecks", summary="Chain verifications")
    async def list_checks(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> list[CheckOut]:
        """The latest 50 verifications of the consent ledger and the audit trail, newest first."""
        return await checks.latest(kernel, ws, 50)

    @post("/checks", opt=WRITE, operation_id="auditRunCheck", summary="Verify the chains now", status_code=200)
    async def run_check(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> CheckOut:
        """Recompute the consent ledger's and the audit trail's chains now; a broken one raises the alert."""
        return await checks.verify(kernel, ws)

    @get("/report", opt=READ, operation_id="auditReport", summary="Compliance report")
    async def report(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, since: Moment = None, until: Moment = None
    ) -> Report:
        """Consent coverage, data-subject requests and their timeliness, chain integrity, writes by
        channel, for a period (default: the last 30 days)."""
        return await reports.build(kernel, ws, *period(since, until))


ROUTES = [AuditPluginController]
