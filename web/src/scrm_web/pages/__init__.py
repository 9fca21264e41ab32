"""The console's own pages, one module per area. Each module exposes ``routes`` and, for pages in
the workspace navigation, ``nav`` (paths relative to ``/console/w/{workspace}``)."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler
from scrm import NavLink

from scrm_web.pages import (
    account,
    apps,
    catalogue,
    consent,
    dashboard,
    events,
    keys,
    login,
    member_files,
    member_forms,
    members,
    moderation,
    oidc,
    plugins,
    tags,
    team,
    workspaces,
)

#: the sign-in page (with a password or through the OIDC provider) and signing out: no session needed
PUBLIC_ROUTES: list[ControllerRouterHandler] = [*login.routes, *oidc.routes]
#: signed in, outside any workspace: the start page, one's own account, the agency's workspaces
SIGNED_IN_ROUTES: list[ControllerRouterHandler] = [*account.routes, *workspaces.routes, *apps.signed_in_routes]
#: under /console/w/{workspace}
WORKSPACE_ROUTES: list[ControllerRouterHandler] = [
    *dashboard.routes,
    *member_files.routes,
    *members.routes,
    *member_forms.routes,
    *tags.routes,
    *consent.routes,
    *moderation.routes,
    *events.routes,
    *keys.routes,
    *apps.routes,
    *catalogue.routes,
    *plugins.routes,
    *team.routes,
]
NAV: list[NavLink] = [
    *dashboard.nav,
    *members.nav,
    *tags.nav,
    *consent.nav,
    *moderation.nav,
    *events.nav,
    *keys.nav,
    *apps.nav,
    *plugins.nav,
    *team.nav,
]
