"""``/api/v1/consents`` and ``/api/v1/members/{id}/consents``: the consent ledger, its purposes, its
verification, and whether a member may be contacted."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.openapi.spec import Example
from litestar.params import Body, JSONBody, QueryParameter

from scrm.api.batches import single_item_errors
from scrm.api.members import MemberId
from scrm.auditing import AUDIT_OPT
from scrm.deps import KernelDep, WorkspaceDep
from scrm.schemas import (
    ChainReport,
    ConsentBatch,
    ConsentIn,
    ConsentList,
    ConsentOut,
    ConsentState,
    ContactAttempt,
    ContactDecision,
    PurposeCreate,
    PurposeOut,
)

READ = {"scope": "consent:read"}
WRITE = {"scope": "consent:write"}
#: an attempt asks the door; its only effect is a refusal counter, which the trail would grow with
ATTEMPT = {**READ, AUDIT_OPT: False}
GRANT = Example(
    summary="A member grants consent to marketing e-mail through a sign-up form",
    value={"external_id": "crm-1042", "purpose": "marketing.email", "status": "granted", "source": "signup-form"},
)
Purpose = Annotated[str, QueryParameter(min_length=1, max_length=64, description="A purpose, e.g. marketing.email")]


class ConsentController(Controller):
    path = "/"
    tags = ["consents"]

    @post(
        "/consents",
        opt=WRITE,
        operation_id="recordConsents",
        summary="Record consents",
        description=(
            "Append one consent record (a JSON object; the answer is the record) or a batch (a JSON array of up "
            'to 1,000; all are appended, in order, or none; the answer is {"items": [...]}). Records are never '
            "changed or deleted: a withdrawal is a new record."
        ),
    )
    async def record_consents(
        self, kernel: KernelDep, ws: WorkspaceDep, data: Annotated[ConsentIn | ConsentBatch, Body(examples=[GRANT])]
    ) -> Response[ConsentOut | ConsentList]:
        single = isinstance(data, ConsentIn)
        with single_item_errors(single):
            records = await kernel.consents.append(ws, [data] if isinstance(data, ConsentIn) else data)
        return Response(records[0] if single else ConsentList(items=records), status_code=201)

    @get("/consents/purposes", opt=READ, operation_id="listConsentPurposes", summary="List consent purposes")
    async def list_purposes(self, kernel: KernelDep, ws: WorkspaceDep) -> list[PurposeOut]:
        """The purposes consent is asked for in this workspace (e.g. `marketing.email`)."""
        return await kernel.consents.purposes.list(ws)

    @post("/consents/purposes", opt=WRITE, operation_id="createConsentPurpose", summary="Create a consent purpose")
    async def create_purpose(self, kernel: KernelDep, ws: WorkspaceDep, data: JSONBody[PurposeCreate]) -> PurposeOut:
        """Declare a purpose consent can be given for; a name already used is a 409."""
        return await kernel.consents.purposes.create(ws, data.name, data.description)

    @get("/consents/verify", opt=READ, operation_id="verifyConsentChain", summary="Verify the consent ledger")
    async def verify(self, kernel: KernelDep, ws: WorkspaceDep) -> ChainReport:
        """Recompute the workspace's hash chain and report the first broken link, if any."""
        return await kernel.consents.verify(ws)

    @get(
        "/members/{member_id:int}/consents",
        opt=READ,
        operation_id="getMemberConsents",
        summary="Get a member's consents",
    )
    async def member_consents(self, kernel: KernelDep, ws: WorkspaceDep, member_id: MemberId) -> ConsentState:
        """The member's current consent per purpose and every record, oldest first."""
        return await kernel.consents.state(ws, member_id)

    @get(
        "/members/{member_id:int}/can-contact",
        opt=READ,
        operation_id="canContactMember",
        summary="Check whether a member may be contacted",
    )
    async def can_contact(
        self, kernel: KernelDep, ws: WorkspaceDep, member_id: MemberId, purpose: Purpose
    ) -> ContactDecision:
        """Whether the member may be contacted for the purpose now (a current grant, an active member, no
        plugin veto), and if not, why."""
        return await kernel.consents.decide(ws, member_id, purpose)

    @post(
        "/members/{member_id:int}/contact-attempts",
        opt=ATTEMPT,
        operation_id="attemptContact",
        summary="Ask the consent door before contacting a member",
        status_code=200,
    )
    async def attempt_contact(
        self, kernel: KernelDep, ws: WorkspaceDep, member_id: MemberId, data: JSONBody[ContactAttempt]
    ) -> ContactDecision:
        """What a system that contacts members itself (an app, a mini-program, a call centre) asks right
        before it does: the same answer as `can-contact`, and a refusal is counted (per day, purpose,
        channel and reason) as the compliance report's "contact attempts refused by consent"."""
        return await kernel.consents.attempt(ws, member_id, data.purpose, channel=data.channel)
