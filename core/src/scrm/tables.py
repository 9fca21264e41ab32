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
    BigSerial,
    Boolean,
    ForeignKey,
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


CORE_TABLES: list[type[Table]] = [Workspace, Member, Tag, MemberTag, ApiKey, WorkspacePlugin]
