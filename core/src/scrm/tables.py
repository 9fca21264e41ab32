"""The core's tables. Every row belongs to a workspace; every query filters on it.

Uniqueness across several columns (``external_id`` per workspace, a tag name per workspace, one
tag per member, one state per plugin and workspace) is enforced by unique indexes created in the
migration ``scrm_2026_11_23t19_20_00_000000`` — SQLite cannot add table constraints later, and
unique indexes serve ``ON CONFLICT`` on both engines.

Plugins bring their own tables in their own piccolo app; they never write to these directly but go
through the public services in :mod:`scrm.services`.
"""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    BigInt,
    BigSerial,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class Workspace(Table, tablename="scrm_workspace"):
    """A tenant: one brand (or one agency client). Nothing crosses workspaces."""

    id = BigSerial(primary_key=True)
    slug = Varchar(length=63, unique=True)
    name = Varchar(length=200)
    time_zone = Varchar(length=64, default="UTC")
    created_at = Timestamptz()


class Member(Table, tablename="scrm_member"):
    """A person in the community; ``external_id`` is the brand's own id for them."""

    id = BigSerial(primary_key=True)
    workspace = ForeignKey(Workspace, on_delete=OnDelete.cascade, null=False)
    external_id = Varchar(length=200, null=True, default=None)
    display_name = Varchar(length=200, default="")
    status = Varchar(length=16, default="active")
    identities = JSONB(default="{}")
    attributes = JSONB(default="{}")
    created_at = Timestamptz()
    updated_at = Timestamptz()
    #: when the member's latest engagement event (any type but the core's) occurred; kept by the
    #: core's own handler of delivered events
    last_active_at = Timestamptz(null=True, default=None)


class Tag(Table, tablename="scrm_tag"):
    """A workspace's label for members, optionally in a group such as "lifecycle"."""

    id = BigSerial(primary_key=True)
    workspace = ForeignKey(Workspace, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=100)
    group_name = Varchar(length=100, null=True, default=None)
    description = Text(default="")
    created_at = Timestamptz()


class MemberTag(Table, tablename="scrm_member_tag"):
    """A tag on a member. ``workspace`` is repeated so every lookup can be scoped and indexed."""

    id = BigSerial(primary_key=True)
    workspace = ForeignKey(Workspace, on_delete=OnDelete.cascade, null=False)
    member = ForeignKey(Member, on_delete=OnDelete.cascade, null=False)
    tag = ForeignKey(Tag, on_delete=OnDelete.cascade, null=False)
    created_at = Timestamptz()


class ApiKey(Table, tablename="scrm_api_key"):
    """An API credential. Only the SHA-256 of the key is stored; the key is shown once.

    ``workspace`` is null for an operator key, which may manage workspaces and names the
    workspace it acts in with the ``X-Scrm-Workspace`` header.
    """

    id = BigSerial(primary_key=True)
    workspace = ForeignKey(Workspace, on_delete=OnDelete.cascade, null=True, default=None)
    name = Varchar(length=200, default="")
    prefix = Varchar(length=16)
    key_hash = Varchar(length=64, unique=True)
    scopes = Text(default="")
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class WorkspacePlugin(Table, tablename="scrm_workspace_plugin"):
    """Whether a plugin is switched on in a workspace, and its settings there."""

    id = BigSerial(primary_key=True)
    workspace = ForeignKey(Workspace, on_delete=OnDelete.cascade, null=False)
    plugin = Varchar(length=100)
    enabled = Boolean(default=False)
    settings = JSONB(default="{}")
    updated_at = Timestamptz()


class Event(Table, tablename="scrm_event"):
    """A fact about a member, or about the workspace itself (no member: a workspace event, which
    only the server records): append-only. ``idempotency_key`` is unique per workspace, so a client
    retrying a request stores the event once.

    On PostgreSQL the table is partitioned by month of ``occurred_at`` (its primary key is ``(id,
    occurred_at)``) and the key's uniqueness is the primary key of ``scrm_event_key``, made by raw
    migration (:mod:`scrm.services.partitions`); on SQLite it is a unique index of this table."""

    id = BigSerial(primary_key=True)
    workspace = ForeignKey(Workspace, on_delete=OnDelete.cascade, null=False)
    member = ForeignKey(Member, on_delete=OnDelete.cascade, null=True)  # null: a workspace event
    type = Varchar(length=100)
    properties = JSONB(default="{}")
    occurred_at = Timestamptz()
    recorded_at = Timestamptz()
    source = Varchar(length=100, default="api")
    idempotency_key = Varchar(length=200, null=True, default=None)


class Outbox(Table, tablename="scrm_outbox"):
    """Events stored but not yet delivered to plugins (``scrm_event_recorded``).

    A row is written in the transaction that stores its events and deleted once they were delivered;
    ``available_at`` is when it may next be claimed (a claim pushes it forward by a lease, so a worker
    that dies mid-delivery leaves it to be claimed again).
    """

    id = BigSerial(primary_key=True)
    workspace = ForeignKey(Workspace, on_delete=OnDelete.cascade, null=False)
    event_ids = Text()  # a JSON array of scrm_event ids
    available_at = Timestamptz()
    attempts = Integer(default=0)
    last_error = Text(null=True, default=None)
    created_at = Timestamptz()


class ConsentPurpose(Table, tablename="scrm_consent_purpose"):
    """What a member can consent to in a workspace (``marketing.email``, ``profiling``…)."""

    id = BigSerial(primary_key=True)
    workspace = ForeignKey(Workspace, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=64)
    description = Text(default="")
    created_at = Timestamptz()


class Consent(Table, tablename="scrm_consent"):
    """One record of the consent ledger: append-only, hash-chained per workspace.

    ``seq`` numbers a workspace's records 1, 2, 3…; ``hash`` is the SHA-256 of the record's canonical
    content, which includes ``prev_hash``, the hash of record ``seq - 1``. ``evidence`` is kept as the
    canonical JSON text that was hashed.
    """

    id = BigSerial(primary_key=True)
    workspace = ForeignKey(Workspace, on_delete=OnDelete.cascade, null=False)
    seq = BigInt()
    member = ForeignKey(Member, on_delete=OnDelete.cascade, null=False)
    purpose = Varchar(length=64)
    status = Varchar(length=16)  # granted | withdrawn
    source = Varchar(length=100)
    policy_version = Varchar(length=64, default="")
    evidence = Text(default="{}")
    occurred_at = Timestamptz()
    recorded_at = Timestamptz()
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)


class ConsentChain(Table, tablename="scrm_consent_chain"):
    """The head of a workspace's consent chain: its last ``seq`` and ``hash``. Appends lock this row,
    which serialises them per workspace, and a verifier compares it with the last record (a deleted
    tail shows)."""

    id = BigSerial(primary_key=True)
    workspace = ForeignKey(Workspace, on_delete=OnDelete.cascade, null=False)
    seq = BigInt(default=0)
    hash = Varchar(length=64)


class Operator(Table, tablename="scrm_operator"):
    """A person who signs in to the console. ``admin`` is the agency-level role: every workspace.

    ``password_hash`` is an argon2id hash (null for an account that signs in only through OIDC,
    where ``oidc_subject`` ties it to the identity provider's ``sub``).
    """

    id = BigSerial(primary_key=True)
    username = Varchar(length=64, unique=True)
    display_name = Varchar(length=200, default="")
    password_hash = Varchar(length=200, null=True, default=None)
    oidc_subject = Varchar(length=255, null=True, default=None, unique=True)
    admin = Boolean(default=False)
    locale = Varchar(length=16, default="en")
    created_at = Timestamptz()
    last_login_at = Timestamptz(null=True, default=None)
    disabled_at = Timestamptz(null=True, default=None)


class OperatorRole(Table, tablename="scrm_operator_role"):
    """An operator's role in one workspace (owner, operator, analyst or viewer); one per pair."""

    id = BigSerial(primary_key=True)
    operator = ForeignKey(Operator, on_delete=OnDelete.cascade, null=False)
    workspace = ForeignKey(Workspace, on_delete=OnDelete.cascade, null=False)
    role = Varchar(length=16)
    created_at = Timestamptz()


class OperatorSession(Table, tablename="scrm_operator_session"):
    """A signed-in console session. Only the SHA-256 of the cookie's token is stored, so a copy of
    the database cannot be used to sign in; sessions live in the database so every API process
    sees them and signing out (or disabling an operator) ends them everywhere."""

    id = BigSerial(primary_key=True)
    operator = ForeignKey(Operator, on_delete=OnDelete.cascade, null=False)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
    expires_at = Timestamptz()
    ip = Varchar(length=64, default="")
    user_agent = Varchar(length=300, default="")


class LoginFailure(Table, tablename="scrm_login_failure"):
    """A failed sign-in, kept for a short window: the login rate limit counts these per username
    and per client address, in the database, so it holds across API processes."""

    id = BigSerial(primary_key=True)
    username = Varchar(length=64)
    ip = Varchar(length=64)
    at = Timestamptz()


class ModerationTerm(Table, tablename="scrm_moderation_term"):
    """A word or phrase of the workspace's moderation word list (敏感词): the core's own
    ``scrm_moderate`` reports every occurrence in member content as a finding of ``category`` and
    ``severity``. One row per term and workspace (a unique index); ``workspace`` is a plain id,
    its rows deleted with the workspace by :meth:`scrm.services.workspaces.Workspaces.delete`."""

    id = BigSerial(primary_key=True)
    workspace = BigInt()
    term = Varchar(length=100)
    category = Varchar(length=64, default="wordlist")
    severity = Varchar(length=8, default="medium")
    created_at = Timestamptz()


class ContactRefusal(Table, tablename="scrm_contact_refusal"):
    """How many contact attempts the consent door refused, per workspace, UTC day (``YYYY-MM-DD``),
    purpose, channel (``""`` when the caller did not say) and reason: one row per combination (a
    unique index), its ``refused`` count raised by an upsert, so racing refusals neither collide nor get
    lost. ``workspace`` is a plain id, its rows deleted with the workspace."""

    id = BigSerial(primary_key=True)
    workspace = BigInt()
    day = Varchar(length=10)
    purpose = Varchar(length=64)
    channel = Varchar(length=32, default="")
    reason = Varchar(length=200, default="")
    refused = BigInt(default=0)


class AuditRecord(Table, tablename="scrm_audit"):
    """One record of the audit trail: a write through the API, the console or the CLI — who (an
    actor: its kind and id, never a secret), what (an action, a target, a summary of the change
    without secrets or personal values), when, from where, in which workspace. Append-only and
    hash-chained per workspace like the consent ledger (:mod:`scrm.services.audit`); ``workspace``
    is a plain id (0: the deployment's own chain) so the trail outlives a deleted workspace."""

    id = BigSerial(primary_key=True)
    workspace = BigInt()
    seq = BigInt()
    at = Timestamptz()
    channel = Varchar(length=16)  # api | console | cli
    actor_kind = Varchar(length=32)
    actor_id = Varchar(length=64, default="")
    actor_label = Varchar(length=200, default="")
    action = Varchar(length=200)
    target_type = Varchar(length=64, default="")
    target_id = Varchar(length=64, default="")
    summary = Text(default="{}")  # canonical JSON, as hashed
    address = Varchar(length=64, default="")
    user_agent = Varchar(length=300, default="")
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)


class AuditChain(Table, tablename="scrm_audit_chain"):
    """The head of a workspace's audit chain (its last ``seq`` and ``hash``): appends lock it, so
    racing writes form one chain, and a verifier compares it with the last record."""

    id = BigSerial(primary_key=True)
    workspace = BigInt()
    seq = BigInt(default=0)
    hash = Varchar(length=64)


class OAuthApp(Table, tablename="scrm_oauth_app"):
    """An OAuth 2 client (an out-of-process integration) registered in one workspace: its
    ``client_id``, the SHA-256 of its secret (shown once), its redirect URIs and the scopes it may be
    granted (space-separated)."""

    name = Varchar(length=200)
    client_id = Varchar(length=64)
    secret_hash = Varchar(length=64)
    redirect_uris = Text(default="")
    scopes = Text(default="")
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class OAuthToken(Table, tablename="scrm_oauth_token"):
    """One issued access token (its JWT id) with its refresh token (SHA-256), both revoked together."""

    app = BigInt()
    operator = BigInt(null=True, default=None)  # who approved it (authorization code), or null
    jti = Varchar(length=64)
    refresh_hash = Varchar(length=64, null=True, default=None)
    scopes = Text(default="")
    expires_at = Timestamptz()
    refresh_expires_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class OAuthCode(Table, tablename="scrm_oauth_code"):
    """An authorization code an operator's consent produced (SHA-256), with its PKCE challenge; used once."""

    app = BigInt()
    operator = BigInt()
    code_hash = Varchar(length=64)
    redirect_uri = Text(default="")
    scopes = Text(default="")
    code_challenge = Varchar(length=128)
    code_challenge_method = Varchar(length=10, default="S256")
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


CORE_TABLES: list[type[Table]] = [
    Workspace,
    Member,
    Tag,
    MemberTag,
    ApiKey,
    WorkspacePlugin,
    Event,
    Outbox,
    ConsentPurpose,
    Consent,
    ConsentChain,
    Operator,
    OperatorRole,
    OperatorSession,
    LoginFailure,
    ModerationTerm,
    ContactRefusal,
    AuditRecord,
    AuditChain,
    OAuthApp,
    OAuthToken,
    OAuthCode,
]
