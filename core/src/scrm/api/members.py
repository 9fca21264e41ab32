"""``/api/v1/members``: members, their tags, bulk import and export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, Request, delete, get, patch, post
from litestar.openapi.spec import Example, OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import Body, FromPath, JSONBody, PathParameter, QueryParameter
from litestar.response import Stream

from scrm.deps import KernelDep, WorkspaceDep
from scrm.pagination import Page
from scrm.params import DEFAULT_LIMIT, MAX_ID, Cursor, Limit
from scrm.problems import ValidationFailed, field_error
from scrm.schemas import (
    BulkTagChange,
    BulkTagResult,
    ImportResult,
    MemberCreate,
    MemberExport,
    MemberOut,
    MemberUpdate,
    TagChange,
    TagNames,
)
from scrm.services import importer
from scrm.services.members import MemberFilter

NEW_MEMBER = Example(
    summary="A member known to your system, with a phone identity and a tag",
    value={
        "external_id": "crm-1042",
        "display_name": "Li Wei",
        "identities": {"phone": "+8613800000000"},
        "attributes": {"city": "Shanghai"},
        "tags": ["vip"],
    },
)
MemberId = Annotated[int, PathParameter(gt=0, le=MAX_ID, description="The member's id")]
SegmentParam = Annotated[
    int | None,
    QueryParameter(gt=0, le=MAX_ID, description="In this saved segment (a plugin such as segments holds them)"),
]
READ = {"scope": "members:read"}
WRITE = {"scope": "members:write"}


def _attribute_filters(values: list[str]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        key, sep, expected = value.partition(":")
        if not sep or not key:
            raise ValidationFailed(
                f"attribute: expected KEY:VALUE, got {value!r}",
                errors=[field_error("attribute", "expected KEY:VALUE", "query")],
            )
        pairs.append((key, expected))
    return tuple(pairs)


EXPORT_MEDIA_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv"}


@dataclass
class ExportOperation(Operation):
    """The export's 200 is NDJSON or CSV (by ``format``), not the JSON Litestar assumes for a stream."""

    def __post_init__(self) -> None:
        success = self.responses["200"] if self.responses else None
        if isinstance(success, OpenAPIResponse):
            text = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
            success.content = {media_type: text for media_type in EXPORT_MEDIA_TYPES.values()}


class MemberController(Controller):
    path = "/members"
    tags = ["members"]

    @get(opt=READ, operation_id="listMembers", summary="List members")
    async def list_members(
        self,
        kernel: KernelDep,
        ws: WorkspaceDep,
        tag: Annotated[list[str] | None, QueryParameter(description="Has this tag (repeat: has all)")] = None,
        attribute: Annotated[list[str] | None, QueryParameter(description="KEY:VALUE on custom attributes")] = None,
        status: Annotated[Literal["active", "blocked", "erased"] | None, QueryParameter()] = None,
        created_after: Annotated[datetime | None, QueryParameter()] = None,
        created_before: Annotated[datetime | None, QueryParameter()] = None,
        active_after: Annotated[
            datetime | None, QueryParameter(description="Had an engagement event at or after this time")
        ] = None,
        inactive_since: Annotated[
            datetime | None, QueryParameter(description="Had no engagement event since this time (or never)")
        ] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                min_length=1, max_length=320, description="external id, display-name prefix or channel identity value"
            ),
        ] = None,
        segment: SegmentParam = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[MemberOut]:
        """Members of the workspace, newest first, filtered by tag, custom attribute, status, dates or a search text. Follow `next_cursor` for the next page."""
        filters = MemberFilter(
            tags=tuple(tag or ()),
            attributes=_attribute_filters(attribute or []),
            status=status,
            created_after=created_after,
            created_before=created_before,
            active_after=active_after,
            inactive_since=inactive_since,
            q=q,
            segment=segment,
        )
        return await kernel.members.list(ws, filters, cursor, limit)

    @post(opt=WRITE, operation_id="createMember", summary="Create a member")
    async def create_member(
        self, kernel: KernelDep, ws: WorkspaceDep, data: Annotated[MemberCreate, Body(examples=[NEW_MEMBER])]
    ) -> MemberOut:
        """Add a member with an optional external id, channel identities and custom attributes. An external id or identity already in use is a 409."""
        return await kernel.members.create(ws, data)

    @get("/{member_id:int}", opt=READ, operation_id="getMember", summary="Get a member")
    async def get_member(self, kernel: KernelDep, ws: WorkspaceDep, member_id: MemberId) -> MemberOut:
        """One member by id; a member of another workspace is a 404."""
        return await kernel.members.get(ws, member_id)

    @get(
        "/by-external-id/{external_id:str}",
        opt=READ,
        operation_id="getMemberByExternalId",
        summary="Get a member by external id",
    )
    async def get_by_external_id(self, kernel: KernelDep, ws: WorkspaceDep, external_id: FromPath[str]) -> MemberOut:
        """One member by the id your own system gave it (`external_id`); 404 when there is none."""
        return await kernel.members.get_by_external_id(ws, external_id)

    @patch("/{member_id:int}", opt=WRITE, operation_id="updateMember", summary="Update a member")
    async def update_member(
        self, kernel: KernelDep, ws: WorkspaceDep, member_id: MemberId, data: JSONBody[MemberUpdate]
    ) -> MemberOut:
        """Change a member's fields; fields left out stay as they are, `attributes` are merged."""
        return await kernel.members.update(ws, member_id, data)

    @delete("/{member_id:int}", opt=WRITE, operation_id="eraseMember", summary="Erase a member")
    async def erase_member(self, kernel: KernelDep, ws: WorkspaceDep, member_id: MemberId) -> None:
        """Erase a member's personal data and tags (a data-subject erasure); the row stays, with status `erased`, so the facts that refer to it stay consistent."""
        await kernel.members.erase(ws, member_id)

    @get(
        "/{member_id:int}/export",
        opt={"scope": "members:export"},
        operation_id="exportMember",
        summary="Export a member's data",
    )
    async def export_member(self, kernel: KernelDep, ws: WorkspaceDep, member_id: MemberId) -> MemberExport:
        """Everything held about one member, plugins' data included: a data-subject access request."""
        return await kernel.members.export(ws, member_id)

    @get(
        "/{member_id:int}/tags",
        opt={"scope": "tags:read"},
        operation_id="listMemberTags",
        summary="List a member's tags",
    )
    async def member_tags(self, kernel: KernelDep, ws: WorkspaceDep, member_id: MemberId) -> list[str]:
        """The names of the tags a member has."""
        return (await kernel.members.get(ws, member_id)).tags

    @post(
        "/{member_id:int}/tags",
        opt={"scope": "tags:write"},
        operation_id="addMemberTags",
        summary="Tag a member",
        status_code=200,
    )
    async def add_tags(
        self, kernel: KernelDep, ws: WorkspaceDep, member_id: MemberId, data: JSONBody[TagNames]
    ) -> TagChange:
        """Add tags to a member (tags that do not exist yet are created); the answer says which were added."""
        return await kernel.tags.change(ws, member_id, add=data.tags, remove=[])

    @delete(
        "/{member_id:int}/tags/{name:str}",
        opt={"scope": "tags:write"},
        operation_id="removeMemberTag",
        summary="Untag a member",
    )
    async def remove_tag(self, kernel: KernelDep, ws: WorkspaceDep, member_id: MemberId, name: FromPath[str]) -> None:
        """Remove one tag from a member; removing a tag the member does not have is not an error."""
        await kernel.tags.change(ws, member_id, add=[], remove=[name])

    @post(
        "/bulk-tags",
        opt={"scope": "tags:write"},
        operation_id="bulkTagMembers",
        summary="Tag many members",
        status_code=200,
    )
    async def bulk_tags(self, kernel: KernelDep, ws: WorkspaceDep, data: JSONBody[BulkTagChange]) -> BulkTagResult:
        """Add and remove tags on up to 1,000 members at once, named by id or by external id."""
        return await kernel.tags.bulk(ws, data)

    @post(
        "/import",
        opt=WRITE,
        operation_id="importMembers",
        summary="Import members",
        status_code=200,
        request_max_body_size=None,
        description=(
            "Stream members as NDJSON (Content-Type: application/x-ndjson) or CSV (text/csv). Rows are upserted "
            "by external_id in batches; a batch with any bad row is written not at all, and each bad row is "
            "reported with its line and field."
        ),
    )
    async def import_members(
        self, kernel: KernelDep, ws: WorkspaceDep, request: Request[Any, Any, Any]
    ) -> ImportResult:
        fmt = importer.format_of(request.headers.get("content-type", ""))
        return await importer.import_members(kernel, ws, fmt, request.stream())

    @get(
        "/export",
        opt=READ,
        operation_id="exportMembers",
        summary="Export members",
        description="All members as NDJSON or CSV, streamed.",
        operation_class=ExportOperation,
    )
    async def export_members(
        self,
        kernel: KernelDep,
        ws: WorkspaceDep,
        format: Annotated[Literal["ndjson", "csv"], QueryParameter()] = "ndjson",
        segment: SegmentParam = None,
    ) -> Stream:
        media_type = EXPORT_MEDIA_TYPES[format]  # Litestar adds "; charset=utf-8" to text/csv
        filters = MemberFilter(segment=segment) if segment is not None else None
        if filters is not None:
            await kernel.members.count(ws, filters)  # an unknown segment is a 422 before the stream starts
        return Stream(importer.export_members(kernel, ws, format, filters=filters), media_type=media_type)
