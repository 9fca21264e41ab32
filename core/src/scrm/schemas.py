"""The API's input and output shapes (msgspec structs), shared by routes, services and the SDK.

Inputs forbid unknown fields and bound every string, so a typo or an oversized value is a 4xx
naming the field rather than silently ignored or stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

Slug = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="lowercase letters, digits, -")]
ExternalId = Annotated[str, Meta(min_length=1, max_length=200)]
DisplayName = Annotated[str, Meta(max_length=200)]
TagName = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^\s,|][^,|]*$")]
Channel = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_.]{0,31}$", description="e.g. email, phone, wecom")]
IdentityValue = Annotated[str, Meta(min_length=1, max_length=320)]
AttributeKey = Annotated[str, Meta(min_length=1, max_length=64)]
Scope = Annotated[str, Meta(pattern=r"^(\*|[a-z][a-z0-9_]*:(\*|[a-z][a-z0-9_]*))$", max_length=80)]
MemberStatus = Literal["active", "blocked"]
Identities = Annotated[dict[Channel, IdentityValue], Meta(max_length=32)]
Attributes = Annotated[dict[AttributeKey, Any], Meta(max_length=200)]

MAX_ATTRIBUTES_BYTES = 16_384
MAX_ID = 2**63 - 1  # ids are 64-bit; larger numbers in a path or body are a 4xx, not a database error


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are an error."""


# --- workspaces -------------------------------------------------------------------------------


class WorkspaceCreate(Input):
    slug: Slug
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    time_zone: Annotated[str, Meta(min_length=1, max_length=64)] = "UTC"


class WorkspaceUpdate(Input):
    name: Annotated[str, Meta(min_length=1, max_length=200)] | UnsetType = UNSET
    time_zone: Annotated[str, Meta(min_length=1, max_length=64)] | UnsetType = UNSET


class WorkspaceOut(msgspec.Struct):
    id: int
    slug: str
    name: str
    time_zone: str
    created_at: datetime


# --- members ----------------------------------------------------------------------------------


class MemberCreate(Input):
    external_id: ExternalId | None = None
    display_name: DisplayName = ""
    status: MemberStatus = "active"
    identities: Identities = msgspec.field(default_factory=dict)
    attributes: Attributes = msgspec.field(default_factory=dict)
    tags: Annotated[list[TagName], Meta(max_length=100)] = msgspec.field(default_factory=list)


class MemberUpdate(Input):
    """A partial update. ``identities`` and ``attributes`` are merged key by key; a null value
    removes that key."""

    external_id: ExternalId | UnsetType | None = UNSET
    display_name: DisplayName | UnsetType = UNSET
    status: MemberStatus | UnsetType = UNSET
    identities: Annotated[dict[Channel, IdentityValue | None], Meta(max_length=32)] | UnsetType = UNSET
    attributes: Attributes | UnsetType = UNSET


class MemberOut(msgspec.Struct):
    id: int
    external_id: str | None
    display_name: str
    status: str
    identities: dict[str, str]
    attributes: dict[str, Any]
    tags: list[str]
    created_at: datetime
    updated_at: datetime


# --- tags -------------------------------------------------------------------------------------


class TagCreate(Input):
    name: TagName
    group: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    description: Annotated[str, Meta(max_length=2000)] = ""


class TagUpdate(Input):
    group: Annotated[str, Meta(min_length=1, max_length=100)] | UnsetType | None = UNSET
    description: Annotated[str, Meta(max_length=2000)] | UnsetType = UNSET


class TagOut(msgspec.Struct):
    id: int
    name: str
    group: str | None
    description: str
    member_count: int
    created_at: datetime


class TagNames(Input):
    tags: Annotated[list[TagName], Meta(min_length=1, max_length=100)]


class TagChange(msgspec.Struct):
    member_id: int
    added: list[str]
    removed: list[str]


class BulkTagChange(Input):
    """Add and/or remove tags on up to 1,000 members at once (by id or by external id)."""

    member_ids: Annotated[list[Annotated[int, Meta(gt=0, le=MAX_ID)]], Meta(max_length=1000)] = msgspec.field(
        default_factory=list
    )
    external_ids: Annotated[list[ExternalId], Meta(max_length=1000)] = msgspec.field(default_factory=list)
    add: Annotated[list[TagName], Meta(max_length=100)] = msgspec.field(default_factory=list)
    remove: Annotated[list[TagName], Meta(max_length=100)] = msgspec.field(default_factory=list)


class BulkTagResult(msgspec.Struct):
    members: int
    added: int
    removed: int


# --- API keys ---------------------------------------------------------------------------------


class KeyCreate(Input):
    scopes: Annotated[list[Scope], Meta(min_length=1, max_length=100)]
    name: Annotated[str, Meta(max_length=200)] = ""


class KeyOut(msgspec.Struct):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    workspace: str | None
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(msgspec.Struct):
    """A new key: ``key`` is shown this once and never again."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    workspace: str | None
    key: str


# --- plugins ----------------------------------------------------------------------------------


class PluginToggle(Input):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    enabled: bool
    settings: Annotated[dict[str, Any], Meta(max_length=200)] | UnsetType = UNSET


class PluginOut(msgspec.Struct):
    name: str
    version: str
    description: str
    distribution: str | None
    core: str
    scopes: list[str]
    hooks: list[str]
    enabled: bool
    settings: dict[str, Any]


# --- import -----------------------------------------------------------------------------------


class ImportError_(msgspec.Struct):
    line: int
    field: str
    message: str


class ImportResult(msgspec.Struct):
    rows: int
    created: int
    updated: int
    failed_rows: int
    failed_batches: list[int]
    errors: list[ImportError_]
    errors_truncated: bool
