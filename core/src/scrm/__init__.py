"""scrm — a self-hostable, plugin-based social CRM.

This module is the public API plugins and integrations import; anything not re-exported here (or
documented in ``docs/plugins``) is private and may change.
"""

import pluggy

from scrm.app import create_app
from scrm.cli import with_kernel
from scrm.console import ConsolePages, MemberPanel, NavLink
from scrm.deps import AccessDep, KernelDep, PrincipalDep, WorkspaceDep
from scrm.forms import convert_form, decode_form, form_errors, form_status, form_values
from scrm.jobs import Cron, Job, JobContext
from scrm.kernel import Kernel
from scrm.manifest import Manifest
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
from scrm.problems import Conflict, Forbidden, NotFound, Problem, ValidationFailed, field_error, invalid, invalid_fields
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
    MemberUpdate,
    TagChange,
    TagCreate,
    TagOut,
    TagUpdate,
    WorkspaceCreate,
    WorkspaceOut,
    WorkspaceUpdate,
    sent_fields,
)
from scrm.services.consents import Consents
from scrm.services.context import WorkspaceRef
from scrm.services.events import EventFilter, Events, NewEvent
from scrm.services.keys import Principal
from scrm.services.members import MemberFilter
from scrm.services.operators import Access, OperatorOut
from scrm.settings import Settings, SettingsError
from scrm.sql import Sql, Statement, as_date, as_datetime
from scrm.version import __version__

# isort: split
# What a console (scrm-web, or one of your own) needs beside the plugin API, so that it imports
# nothing else from the core. Why each is public:
# a plugin broke the contract: a frontend checking what plugins hand it raises it at startup
from scrm.plugins import PluginError

# what kernel.operators.login raises: wrong credentials, too many attempts
from scrm.problems import RateLimited, Unauthenticated

# the workspace roles, strongest first: a role picker offers them
from scrm.roles import ROLES

# the rules of event types and tag names, and the bodies of POST /keys and /consent/purposes,
# so a console validates its forms exactly as the API validates requests
from scrm.schemas import DottedName, KeyCreate, PurposeCreate, TagName

# what kernel.operators.memberships returns: the workspaces an operator may open
from scrm.services.operators import Membership

# Settings.oidc: the provider a console signs operators in with
from scrm.settings import OidcSettings

hookimpl = pluggy.HookimplMarker("scrm")
"""Marks a plugin's hook implementation: ``@scrm.hookimpl def scrm_manifest(): ...``."""

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_ID",
    "MAX_LIMIT",
    "Access",
    "AccessDep",
    "BulkTagChange",
    "ChainReport",
    "Conflict",
    "ConsentIn",
    "ConsentOut",
    "Consents",
    "ConsolePages",
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
    "Forbidden",
    "Id",
    "Job",
    "JobContext",
    "Kernel",
    "KernelDep",
    "Limit",
    "Manifest",
    "MemberCreate",
    "MemberExport",
    "MemberFilter",
    "MemberOut",
    "MemberPanel",
    "MemberUpdate",
    "Name",
    "NavLink",
    "NewEvent",
    "NotFound",
    "OperatorOut",
    "Page",
    "PathId",
    "Principal",
    "PrincipalDep",
    "Problem",
    "QueryId",
    "SearchText",
    "Settings",
    "SettingsError",
    "Sql",
    "Statement",
    "TagChange",
    "TagCreate",
    "TagOut",
    "TagUpdate",
    "Text",
    "ValidationFailed",
    "WorkspaceCreate",
    "WorkspaceDep",
    "WorkspaceOut",
    "WorkspaceRef",
    "WorkspaceUpdate",
    "__version__",
    "as_date",
    "as_datetime",
    "convert_form",
    "create_app",
    "decode_form",
    "field_error",
    "form_errors",
    "form_status",
    "form_values",
    "hookimpl",
    "invalid",
    "invalid_fields",
    "sent_fields",
    "with_kernel",
]

# the console's names (see the second block of imports)
__all__ += [
    "ROLES",
    "DottedName",
    "KeyCreate",
    "Membership",
    "OidcSettings",
    "PluginError",
    "PurposeCreate",
    "RateLimited",
    "TagName",
    "Unauthenticated",
]
