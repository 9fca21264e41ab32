"""API scopes: what a credential may do. Every route declares one; a guard checks it.

A scope is ``<resource>:<action>``. A credential holding ``*`` has every scope; ``members:*`` has
every ``members:`` scope. Scopes in ``OPERATOR_SCOPES`` are only ever granted to operator keys.
"""

from __future__ import annotations

from collections.abc import Iterable

CORE_SCOPES = (
    "members:read",
    "members:write",
    "members:export",
    "tags:read",
    "tags:write",
    "consent:read",
    "consent:write",
    "events:read",
    "events:write",
    "plugins:read",
    "plugins:write",
    "keys:read",
    "keys:write",
    "workspaces:read",
    "workspaces:write",
    "moderation:read",
    "moderation:write",
    "audit:read",
)
OPERATOR_SCOPES = frozenset({"workspaces:write"})


def grants(held: Iterable[str], needed: str) -> bool:
    """Whether the scopes ``held`` include ``needed`` (directly or by a wildcard)."""
    held = set(held)
    if "*" in held or needed in held:
        return True
    resource = needed.split(":", 1)[0]
    return f"{resource}:*" in held


def known_scope(scope: str, known: Iterable[str]) -> bool:
    """Whether ``scope`` names a real scope (or a wildcard over real ones)."""
    known = set(known)
    if scope == "*" or scope in known:
        return True
    if scope.endswith(":*"):
        resource = scope[:-2]
        return any(k.startswith(resource + ":") for k in known)
    return False
