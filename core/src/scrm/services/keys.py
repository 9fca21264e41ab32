"""API keys: created with scopes, stored only as a SHA-256 digest, shown once, revocable.

A key is 256 bits from the CSPRNG, so a plain SHA-256 (not a slow password hash) is the right
digest: it cannot be brute-forced and it keeps authentication one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrm.problems import Forbidden, NotFound, ValidationFailed, field_error
from scrm.schemas import KeyCreated, KeyOut
from scrm.scopes import OPERATOR_SCOPES, grants, known_scope
from scrm.services.audit import Actor
from scrm.services.context import WorkspaceRef
from scrm.services.values import now, timestamp

if TYPE_CHECKING:
    from scrm.kernel import Kernel

KEY_PREFIX = "scrm_"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key (or an OAuth app's access token), the workspace it is bound to (None for
    an operator key), its scopes. For an app, ``app_id`` names it, ``operator_id`` the operator whose
    consent issued the token (None for client credentials) and ``expires_at`` (a Unix time) when the
    token stops working."""

    key_id: int
    workspace_id: int | None
    scopes: frozenset[str]
    app_id: int | None = None
    operator_id: int | None = None
    expires_at: float | None = None
    name: str = ""

    @property
    def actor(self) -> Actor:
        """Who acts, for the audit trail: the app, or the key."""
        if self.app_id is not None:
            label = self.name if self.operator_id is None else f"{self.name} (approved by operator {self.operator_id})"
            return Actor("oauth_app", str(self.app_id), label)
        return Actor("api_key", str(self.key_id), self.name)

    @property
    def operator(self) -> bool:
        return self.workspace_id is None

    def allows(self, scope: str) -> bool:
        if scope in OPERATOR_SCOPES and not self.operator:
            return False
        return grants(self.scopes, scope)


class Keys:
    """Create, list, revoke and authenticate API keys."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    def workspace_scopes(self, held: Iterable[str] = ("*",)) -> list[str]:
        """The scopes a workspace key holding ``held`` has, wildcards opened up (all of them by
        default): the core's and the installed plugins' scopes, but never an operator-only one.
        What a form creating a key offers, and what a console checks against its operator's role."""
        return [s for s in self.k.known_scopes() if s not in OPERATOR_SCOPES and grants(held, s)]

    async def create(
        self, ws: WorkspaceRef | None, scopes: list[str], name: str = "", creator: Principal | None = None
    ) -> KeyCreated:
        """A new key bound to ``ws`` (or an operator key when ``ws`` is None)."""
        known = self.k.known_scopes()
        for i, scope in enumerate(scopes):
            if not known_scope(scope, known):
                raise ValidationFailed(
                    f"scopes[{i}]: unknown scope {scope!r}",
                    errors=[field_error(f"scopes[{i}]", f"unknown scope {scope!r}")],
                )
            if ws is not None and scope in OPERATOR_SCOPES:
                raise ValidationFailed(
                    f"scopes[{i}]: {scope!r} is for operator keys only",
                    errors=[field_error(f"scopes[{i}]", "operator keys only")],
                )
            if creator is not None and not covered(creator, scope):
                raise Forbidden(f"A key cannot grant {scope!r}, which it does not hold itself")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        prefix = key[:12]
        async with self.k.db.transaction():
            rows = await self.k.db.fetch(
                "INSERT INTO scrm_api_key (workspace, name, prefix, key_hash, scopes, created_at) "
                "VALUES ({}, {}, {}, {}, {}, {}) RETURNING id",
                ws.id if ws else None,
                name,
                prefix,
                digest(key),
                " ".join(scopes),
                now(),
            )
        return KeyCreated(
            id=rows[0]["id"],
            name=name,
            prefix=prefix,
            scopes=scopes,
            workspace=ws.slug if ws else None,
            key=key,
        )

    async def list(self, ws: WorkspaceRef) -> list[KeyOut]:
        rows = await self.k.db.fetch(
            "SELECT id, name, prefix, scopes, created_at, revoked_at FROM scrm_api_key WHERE workspace = {} ORDER BY id",
            ws.id,
        )
        return [_to_key(r, ws.slug) for r in rows]

    async def revoke(self, ws: WorkspaceRef, key_id: int, revoker: Principal | None = None) -> None:
        """Revoke a key of this workspace; a key may only revoke keys no stronger than itself."""
        if revoker is not None:
            rows = await self.k.db.fetch(
                "SELECT scopes FROM scrm_api_key WHERE id = {} AND workspace = {}", key_id, ws.id
            )
            if rows and not all(covered(revoker, scope) for scope in rows[0]["scopes"].split()):
                raise Forbidden(f"Key {key_id} holds scopes this key does not; it cannot revoke it")
        async with self.k.db.transaction():
            rows = await self.k.db.fetch(
                "UPDATE scrm_api_key SET revoked_at = {} WHERE id = {} AND workspace = {} AND revoked_at IS NULL "
                "RETURNING id",
                now(),
                key_id,
                ws.id,
            )
        if not rows:
            raise NotFound(f"No active key {key_id} in this workspace")
        self.k.forget_cached()

    async def authenticate(self, key: str) -> Principal | None:
        """The principal for a presented key, or None if unknown or revoked."""
        rows = await self.k.db.fetch(
            "SELECT id, workspace, name, scopes FROM scrm_api_key WHERE key_hash = {} AND revoked_at IS NULL",
            digest(key),
        )
        if not rows:
            return None
        row = rows[0]
        return Principal(
            key_id=row["id"], workspace_id=row["workspace"], scopes=frozenset(row["scopes"].split()), name=row["name"]
        )


def covered(creator: Principal, scope: str) -> bool:
    """Whether ``creator`` holds everything ``scope`` would grant (so keys cannot escalate)."""
    if scope == "*":
        return "*" in creator.scopes
    if scope.endswith(":*"):
        return grants(creator.scopes, scope)
    return creator.allows(scope)


def _to_key(row: dict[str, Any], slug: str | None) -> KeyOut:
    return KeyOut(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        scopes=row["scopes"].split(),
        workspace=slug,
        created_at=timestamp(row["created_at"]),
        revoked_at=timestamp(row["revoked_at"]) if row["revoked_at"] else None,
    )
