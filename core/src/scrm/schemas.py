"""The API's input and output shapes (msgspec structs), shared by routes, services and the SDK.

Inputs forbid unknown fields and bound every string, so a typo or an oversized value is a 4xx
naming the field rather than silently ignored or stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from scrm.params import MAX_ID

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

#: Dotted lowercase names: event types (``order.paid``) and consent purposes (``marketing.email``).
DottedName = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=100)]
AwareDatetime = Annotated[datetime, Meta(tz=True, description="RFC 3339 with a time zone")]

MAX_ATTRIBUTES_BYTES = 16_384
#: Most items one POST /events or POST /consents may carry.
MAX_BATCH = 1000


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


class MemberRef(Input):
    """Names one member of the workspace, by ``member_id`` or by ``external_id`` (exactly one)."""

    member_id: Annotated[int, Meta(gt=0, le=MAX_ID)] | None = None
    external_id: ExternalId | None = None

    @property
    def key(self) -> tuple[str, int | str]:
        """The reference as a hashable key (``("id", 7)``, ``("external_id", "u-7")``): two requests
        naming a member the same way share it, before the member is read."""
        if self.member_id is not None:
            return ("id", self.member_id)
        return ("external_id", self.external_id or "")


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
    last_active_at: datetime | None = None  # the latest engagement event's occurred_at


def sent_fields(patch: msgspec.Struct) -> dict[str, Any]:
    """The fields of a PATCH body that were sent (not left ``UNSET``), by name: what to change."""
    return {f: v for f in patch.__struct_fields__ if (v := getattr(patch, f)) is not UNSET}


class MemberExport(msgspec.Struct):
    """Everything scrm holds about one member, for a data-subject access request: the profile, the
    consent ledger's records, the events, and each plugin's share under its name."""

    member: MemberOut
    consents: list[ConsentOut]
    events: list[EventOut]
    plugins: dict[str, Any]
    exported_at: datetime


# --- events -----------------------------------------------------------------------------------


class EventIn(MemberRef, kw_only=True):
    """One event to record. The same ``idempotency_key`` twice in a workspace is stored once."""

    type: DottedName
    properties: Attributes = msgspec.field(default_factory=dict)
    occurred_at: AwareDatetime | None = None
    source: Annotated[str, Meta(min_length=1, max_length=100)] = "api"
    idempotency_key: Annotated[str, Meta(min_length=1, max_length=200)] | None = None


EventBatch = list[EventIn]  # 1 to MAX_BATCH, checked by the service (a union drops length constraints)


class EventOut(msgspec.Struct):
    """A stored event. ``member_id`` is null for a *workspace event*: a fact about the workspace
    itself (an alert such as ``audit.chain_broken``), recorded by the server, never about a person."""

    id: int
    member_id: int | None
    type: str
    properties: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime
    source: str
    idempotency_key: str | None


class EventResult(msgspec.Struct):
    """What became of one posted event: ``created``, or ``duplicate`` of the stored event ``id``."""

    id: int
    status: Literal["created", "duplicate"]


class EventBatchResult(msgspec.Struct):
    items: list[EventResult]
    created: int
    duplicates: int


# --- consents ---------------------------------------------------------------------------------

#: A consent purpose: a dotted lowercase name (``marketing.email``, ``profiling``).
PurposeName = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=64)]
ConsentStatus = Literal["granted", "withdrawn"]


class ConsentIn(MemberRef, kw_only=True):
    """One consent record to append: a member grants or withdraws consent to a purpose."""

    purpose: PurposeName
    status: ConsentStatus
    source: Annotated[str, Meta(min_length=1, max_length=100, description="channel, form or operator")] = "api"
    policy_version: Annotated[str, Meta(max_length=64)] = ""
    evidence: Attributes = msgspec.field(default_factory=dict)
    occurred_at: AwareDatetime | None = None


ConsentBatch = Annotated[list[ConsentIn], Meta(min_length=1, max_length=MAX_BATCH)]


class ConsentOut(msgspec.Struct):
    """A record of the ledger. ``hash`` is the SHA-256 of its canonical content, which includes
    ``prev_hash``, the hash of the workspace's previous record."""

    id: int
    seq: int
    member_id: int
    purpose: str
    status: str
    source: str
    policy_version: str
    evidence: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime
    prev_hash: str
    hash: str


class ConsentList(msgspec.Struct):
    items: list[ConsentOut]


class ConsentState(msgspec.Struct):
    """A member's consents: the latest record per purpose, and every record in order."""

    member_id: int
    current: list[ConsentOut]
    history: list[ConsentOut]


class ContactDecision(msgspec.Struct):
    """Whether a member may be contacted for a purpose now, and if not, why."""

    member_id: int
    purpose: str
    allowed: bool
    reason: str | None


class ContactAttempt(Input):
    """An attempt to contact a member for a purpose, on a channel when the caller says which."""

    purpose: PurposeName
    channel: Annotated[str, Meta(max_length=32, description="e.g. sms, email, wecom, app-push")] = ""


class RefusalCount(msgspec.Struct):
    """Contact attempts the consent door refused in a period, for one purpose, channel (``""``: the
    caller did not say) and reason."""

    purpose: str
    channel: str
    reason: str
    count: int


class PurposeCreate(Input):
    name: PurposeName
    description: Annotated[str, Meta(max_length=2000)] = ""


class PurposeOut(msgspec.Struct):
    name: str
    description: str
    created_at: datetime


class BrokenLink(msgspec.Struct):
    """The first place a consent chain does not hold: the position, the record there (None when it
    is missing) and what is wrong."""

    seq: int
    record_id: int | None
    reason: str


class ChainReport(msgspec.Struct):
    """The outcome of checking a workspace's consent chain."""

    ok: bool
    records: int
    head_hash: str
    broken: BrokenLink | None


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


#: where an app's user is sent back after consenting: https, or http on this machine (a native app)
RedirectUri = Annotated[
    str, Meta(pattern=r"^(https://[^\s#]+|http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/[^\s#]*)?)$", max_length=2000)
]


class AppCreate(Input):
    """A new OAuth 2 app: the scopes it may be granted (no more than the creating credential holds)
    and, for the authorization-code grant, where the consent screen sends the user back."""

    name: Annotated[str, Meta(min_length=1, max_length=200)]
    scopes: Annotated[list[Scope], Meta(min_length=1, max_length=100)]
    redirect_uris: Annotated[list[RedirectUri], Meta(max_length=20)] = msgspec.field(default_factory=list)


class AppOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    client_id: str
    scopes: list[str]
    redirect_uris: list[str]
    workspace: str
    created_at: datetime
    revoked_at: datetime | None


class AppCreated(AppOut, kw_only=True):
    """A new app: ``client_secret`` is shown this once and never again."""

    client_secret: str


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
    #: the JSON Schema its settings are checked against (``scrm_settings_schema``), or null: any object
    settings_schema: dict[str, Any] | None = None


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


# --- moderation word list ---------------------------------------------------------------------

ModerationTermText = Annotated[
    str, Meta(min_length=1, max_length=100, pattern=r"\S", description="a word or phrase, matched case-insensitively")
]
ModerationCategory = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=64)]
#: Most terms one request may add.
MAX_TERMS_PER_REQUEST = 1000


class ModerationTermIn(Input):
    term: ModerationTermText
    category: ModerationCategory = "wordlist"
    severity: Literal["low", "medium", "high"] = "medium"


class ModerationTermsIn(Input):
    """Terms to add to the word list; a term already there takes the new category and severity."""

    terms: Annotated[list[ModerationTermIn], Meta(min_length=1, max_length=MAX_TERMS_PER_REQUEST)]


class ModerationTermOut(msgspec.Struct):
    id: int
    term: str
    category: str
    severity: str
    created_at: datetime


class ModerationCheckIn(Input):
    text: Annotated[str, Meta(max_length=100_000)]


class FindingOut(msgspec.Struct):
    """A moderation finding as the API shows it (see ``scrm.Finding``)."""

    category: str
    severity: str
    start: int | None
    end: int | None
    term: str | None
    source: str
