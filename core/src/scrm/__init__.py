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
from scrm.pagination import Page
from scrm.problems import Conflict, Forbidden, NotFound, Problem, ValidationFailed
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
from scrm.version import __version__

hookimpl = pluggy.HookimplMarker("scrm")
"""Marks a plugin's hook implementation: ``@scrm.hookimpl def scrm_manifest(): ...``."""

__all__ = [
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
    "EventFilter",
    "EventIn",
    "EventOut",
    "EventResult",
    "Events",
    "Forbidden",
    "Job",
    "JobContext",
    "Kernel",
    "KernelDep",
    "Manifest",
    "MemberCreate",
    "MemberExport",
    "MemberFilter",
    "MemberOut",
    "MemberPanel",
    "MemberUpdate",
    "NavLink",
    "NewEvent",
    "NotFound",
    "OperatorOut",
    "Page",
    "Principal",
    "PrincipalDep",
    "Problem",
    "Settings",
    "SettingsError",
    "TagChange",
    "TagCreate",
    "TagOut",
    "TagUpdate",
    "ValidationFailed",
    "WorkspaceCreate",
    "WorkspaceDep",
    "WorkspaceOut",
    "WorkspaceRef",
    "WorkspaceUpdate",
    "__version__",
    "convert_form",
    "create_app",
    "decode_form",
    "form_errors",
    "form_status",
    "form_values",
    "hookimpl",
    "sent_fields",
    "with_kernel",
]
