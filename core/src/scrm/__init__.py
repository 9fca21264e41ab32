"""scrm — a self-hostable, plugin-based social CRM.

This module is the public API plugins and integrations import; anything not re-exported here (or
documented in ``docs/plugins``) is private and may change.
"""

import pluggy

from scrm.app import create_app
from scrm.auditing import AUDIT_OPT
from scrm.cli import with_kernel
from scrm.console import ConsolePages, MemberPanel, NavLink
from scrm.deps import AccessDep, KernelDep, PrincipalDep, WorkspaceDep
from scrm.forms import convert_form, decode_form, form_errors, form_status, form_values
from scrm.groupcommit import GroupCommit
from scrm.jobs import Cron, Job, JobContext
from scrm.kernel import Kernel
from scrm.manifest import Manifest
from scrm.migrating import add_columns, add_table
from scrm.outbound import Outbound, OutboundRefused
from scrm.pagination import Cursors, Page
from scrm.params import (
    DEFAULT_LIMIT,
    MAX_ID,
    MAX_LIMIT,
    Cursor,
    ExternalId,
    Id,
    Limit,
    Name,
    PathId,
    QueryId,
    SearchText,
    Text,
)
from scrm.problems import (
    Conflict,
    Forbidden,
    NotFound,
    Problem,
    ValidationFailed,
    field_error,
    invalid,
    invalid_fields,
    problem_spec,
)
from scrm.schemas import (
    BulkTagChange,
    ChainReport,
    ConsentIn,
    ConsentOut,
    ContactDecision,
    EventIn,
    EventOut,
    EventResult,
    MemberCreate,
    MemberExport,
    MemberOut,
    MemberRef,
    MemberUpdate,
    ModerationTermIn,
    ModerationTermOut,
    ModerationTermsIn,
    RefusalCount,
    TagChange,
    TagCreate,
    TagOut,
    TagUpdate,
    WorkspaceCreate,
    WorkspaceOut,
    WorkspaceUpdate,
    sent_fields,
)
from scrm.services.audit import Actor, AuditFilter, AuditRecordOut, set_actor
from scrm.services.consents import Consents, Contact
from scrm.services.context import WorkspaceRef
from scrm.services.events import EventFilter, Events, NewEvent
from scrm.services.keys import Principal
from scrm.services.members import MemberCondition, MemberFilter
from scrm.services.moderation import Finding, Media, Moderation
from scrm.services.operators import Access, OperatorOut
from scrm.services.wordlist import WordList
from scrm.settings import Settings, SettingsError
from scrm.signing import SIGNED_URL_OPT, Signer
from scrm.sql import Sql, Statement, as_date, as_datetime
from scrm.version import __version__

# isort: split
# What a console (scrm-web, or one of your own) needs beside the plugin API, so that it imports
# nothing else from the core. Why each is public:
# a plugin broke the contract: a frontend checking what plugins hand it raises it at startup
# the plugin catalogue (SCRM_CATALOGUE), for a console's catalogue page: load_catalogue(source) →
# (Catalogue, its location), CatalogueError when it cannot be read
from scrm.catalogue import Catalogue, CatalogueError
from scrm.catalogue import load as load_catalogue

# the consent screen of OAuth 2 apps (authorization code with PKCE): check the request, then approve
from scrm.oauth import ConsentError, ConsentRequest, approve, consent_request, deny_redirect
from scrm.plugins import PluginError

# what kernel.operators.login raises: wrong credentials, too many attempts
from scrm.problems import RateLimited, Unauthenticated

# the workspace roles, strongest first: a role picker offers them
from scrm.roles import ROLES

# the rules of event types and tag names, and the bodies of POST /keys and /consent/purposes,
# so a console validates its forms exactly as the API validates requests
# the body of POST /apps, so a console registers apps exactly as the API does
from scrm.schemas import AppCreate, DottedName, KeyCreate, PurposeCreate, TagName

# the bulk import and export the API streams (POST /members/import, GET /members/export), so a
# console uploads a file or downloads a filtered list through the same code
from scrm.services.importer import export_members, import_members

# what kernel.operators.memberships returns: the workspaces an operator may open
from scrm.services.operators import Membership

# Settings.oidc: the provider a console signs operators in with
from scrm.settings import OidcSettings

hookimpl = pluggy.HookimplMarker("scrm")
"""Marks a plugin's hook implementation: ``@scrm.hookimpl def scrm_manifest(): ...``."""

__all__ = [
    "AUDIT_OPT",
    "DEFAULT_LIMIT",
    "MAX_ID",
    "MAX_LIMIT",
    "SIGNED_URL_OPT",
    "Access",
    "AccessDep",
    "Actor",
    "AuditFilter",
    "AuditRecordOut",
    "BulkTagChange",
    "ChainReport",
    "Conflict",
    "ConsentIn",
    "ConsentOut",
    "Consents",
    "ConsolePages",
    "Contact",
    "ContactDecision",
    "Cron",
    "Cursor",
    "Cursors",
    "EventFilter",
    "EventIn",
    "EventOut",
    "EventResult",
    "Events",
    "ExternalId",
    "Finding",
    "Forbidden",
    "GroupCommit",
    "Id",
    "Job",
    "JobContext",
    "Kernel",
    "KernelDep",
    "Limit",
    "Manifest",
    "Media",
    "MemberCondition",
    "MemberCreate",
    "MemberExport",
    "MemberFilter",
    "MemberOut",
    "MemberPanel",
    "MemberRef",
    "MemberUpdate",
    "Moderation",
    "ModerationTermIn",
    "ModerationTermOut",
    "ModerationTermsIn",
    "Name",
    "NavLink",
    "NewEvent",
    "NotFound",
    "OperatorOut",
    "Outbound",
    "OutboundRefused",
    "Page",
    "PathId",
    "Principal",
    "PrincipalDep",
    "Problem",
    "QueryId",
    "RefusalCount",
    "SearchText",
    "Settings",
    "SettingsError",
    "Signer",
    "Sql",
    "Statement",
    "TagChange",
    "TagCreate",
    "TagOut",
    "TagUpdate",
    "Text",
    "ValidationFailed",
    "WordList",
    "WorkspaceCreate",
    "WorkspaceDep",
    "WorkspaceOut",
    "WorkspaceRef",
    "WorkspaceUpdate",
    "__version__",
    "add_columns",
    "add_table",
    "as_date",
    "as_datetime",
    "convert_form",
    "create_app",
    "decode_form",
    "export_members",
    "field_error",
    "form_errors",
    "form_status",
    "form_values",
    "hookimpl",
    "import_members",
    "invalid",
    "invalid_fields",
    "problem_spec",
    "sent_fields",
    "set_actor",
    "with_kernel",
]

# the console's names (see the second block of imports)
__all__ += [
    "ROLES",
    "AppCreate",
    "Catalogue",
    "CatalogueError",
    "ConsentError",
    "ConsentRequest",
    "DottedName",
    "KeyCreate",
    "Membership",
    "OidcSettings",
    "PluginError",
    "PurposeCreate",
    "RateLimited",
    "TagName",
    "Unauthenticated",
    "approve",
    "consent_request",
    "deny_redirect",
    "load_catalogue",
]
