"""Console roles: what a person signed in to the console may do in a workspace.

A role is a rule over the same scopes API keys hold (``members:write``, ``points:read``…), plus a few
the console alone uses, so a plugin's console page declares one scope and both worlds agree on it.
A ``judge`` is the narrow role of a contest's jury: it holds the ``<plugin>:judge`` scopes (whatever a
plugin puts up for judging) and nothing else, so a judge invited from outside sees no member data.
An operator has one role per workspace; ``admin`` is the agency-level flag on the account and allows
everything everywhere, including creating workspaces.
"""

from __future__ import annotations

from scrm.scopes import OPERATOR_SCOPES

#: roles per workspace, strongest first
ROLES = ("owner", "operator", "analyst", "viewer", "judge")
ADMIN = "admin"

#: scopes only the console checks: dashboards and reports, and managing the workspace's team
CONSOLE_SCOPES = ("reports:read", "team:read", "team:write")

#: what an ``operator`` may not do: hand out credentials, switch plugins, manage the team
_OPERATOR_DENIED = frozenset({"keys:write", "plugins:write", "team:write"})
#: what a ``viewer`` may not read: the reports an analyst is for, credentials and the team
_VIEWER_DENIED = frozenset({"reports:read", "keys:read", "team:read", "audit:read"})

ROLE_DESCRIPTIONS = {
    ADMIN: "every workspace, including creating them (agency level)",
    "owner": "everything in the workspace: team, API keys, plugins",
    "operator": "day-to-day work: members, tags, consent, events, plugin features",
    "analyst": "reads everything and sees the reports; changes nothing",
    "viewer": "reads members, tags, consent and events; changes nothing",
    "judge": "scores what a plugin puts up for judging (contest entries); sees nothing else",
}

#: the scope action a ``judge`` holds, in every plugin: ``contests:judge`` and the like
JUDGE_ACTION = "judge"


def role_allows(role: str, scope: str) -> bool:
    """Whether ``role`` holds ``scope`` (any ``<resource>:<action>``, a plugin's included)."""
    if role == ADMIN:
        return True
    if scope in OPERATOR_SCOPES:
        return False
    if role == "owner":
        return True
    if role == "operator":
        return scope not in _OPERATOR_DENIED
    if role == "judge":
        return scope.endswith(f":{JUDGE_ACTION}")
    if not scope.endswith(":read"):
        return False
    if role == "analyst":
        return True
    return role == "viewer" and scope not in _VIEWER_DENIED
