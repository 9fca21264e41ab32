"""Console operators: accounts, roles per workspace, sign-in with a rate limit, and sessions.

Passwords are hashed with argon2id (argon2-cffi) off the event loop. Sessions and failed sign-ins
live in the database, not in a process's memory, so any API process can serve any request, signing
out ends a session everywhere, and the login rate limit holds across processes.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from scrm.jobs import Cron, Job, JobContext
from scrm.problems import Conflict, NotFound, RateLimited, Unauthenticated, duplicate, invalid
from scrm.roles import ADMIN, ROLES, role_allows
from scrm.services.context import WorkspaceRef
from scrm.services.values import now, timestamp

if TYPE_CHECKING:
    from scrm.kernel import Kernel

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")
LOCALE = re.compile(r"^[a-z]{2}(_[A-Z]{2})?$")
PASSWORD_MIN = 10
PASSWORD_MAX = 1024

#: a session ends after this long without a request, and in any case after SESSION_MAX
SESSION_IDLE = timedelta(hours=12)
SESSION_MAX = timedelta(days=7)
#: ``last_seen_at`` is written at most this often, so reading pages does not write on every request
SESSION_TOUCH = timedelta(minutes=1)

#: failed sign-ins allowed per username and per client address within LOGIN_WINDOW
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_FAILURES_PER_USERNAME = 5
LOGIN_FAILURES_PER_ADDRESS = 30

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so a wrong username takes as long as a wrong
    password. Made on first use, not at import: every ``scrm`` command would otherwise pay a hash."""
    return _hasher.hash(secrets.token_urlsafe(16))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class OperatorOut:
    """An operator account as the console shows it (never its password hash)."""

    id: int
    username: str
    display_name: str
    admin: bool
    locale: str
    created_at: datetime
    last_login_at: datetime | None
    disabled: bool
    has_password: bool
    oidc_linked: bool

    @property
    def label(self) -> str:
        return self.display_name or self.username


@dataclass(frozen=True)
class Access:
    """What one operator may do in one workspace: their role there (``admin`` for agency admins)."""

    operator: OperatorOut
    workspace: WorkspaceRef
    role: str

    def can(self, scope: str) -> bool:
        return role_allows(self.role, scope)


@dataclass(frozen=True)
class Membership:
    """A workspace an operator can open, with their role in it."""

    workspace_id: int
    slug: str
    name: str
    role: str


@dataclass(frozen=True)
class TeamMember:
    operator: OperatorOut
    role: str


def check_password(password: str, field: str = "password") -> None:
    if len(password) < PASSWORD_MIN:
        raise invalid(field, f"must be at least {PASSWORD_MIN} characters long")
    if len(password) > PASSWORD_MAX:
        raise invalid(field, f"must be at most {PASSWORD_MAX} characters long")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


class Operators:
    """Create and manage operators, their roles, sign-ins and sessions."""

    #: a session's longest life, however active: the max-age of a console's session cookie
    session_max = SESSION_MAX

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    # --- accounts -----------------------------------------------------------------------------

    async def create(
        self,
        username: str,
        password: str | None = None,
        *,
        display_name: str = "",
        admin: bool = False,
        locale: str = "en",
    ) -> OperatorOut:
        """A new account; without a password it can only sign in through OIDC."""
        username = username.strip().lower()
        if not USERNAME.match(username):
            raise invalid(
                "username", "3 to 64 characters: lowercase letters, digits and . _ @ -, starting with a letter or digit"
            )
        if len(display_name) > 200:
            raise invalid("display_name", "must be at most 200 characters long")
        self._check_locale(locale)
        if password is not None:
            check_password(password)
        password_hash = await hash_password(password) if password is not None else None
        async with self.k.db.transaction(
            on_duplicate=duplicate("username", f"An operator {username!r} already exists")
        ):
            rows = await self.k.db.fetch(
                "INSERT INTO scrm_operator (username, display_name, password_hash, admin, locale, created_at) "
                "VALUES ({}, {}, {}, {}, {}, {}) RETURNING *",
                username,
                display_name,
                password_hash,
                admin,
                locale,
                now(),
            )
        return _to_operator(rows[0])

    async def get(self, operator_id: int) -> OperatorOut:
        rows = await self.k.db.fetch("SELECT * FROM scrm_operator WHERE id = {}", operator_id)
        if not rows:
            raise NotFound(f"No operator {operator_id}")
        return _to_operator(rows[0])

    async def by_username(self, username: str) -> OperatorOut:
        rows = await self.k.db.fetch("SELECT * FROM scrm_operator WHERE username = {}", username.strip().lower())
        if not rows:
            raise NotFound(f"No operator {username!r}")
        return _to_operator(rows[0])

    async def list(self) -> builtins.list[OperatorOut]:
        rows = await self.k.db.fetch("SELECT * FROM scrm_operator ORDER BY username")
        return [_to_operator(r) for r in rows]

    async def set_password(self, operator_id: int, password: str, field: str = "password") -> None:
        check_password(password, field)
        await self._update(operator_id, "password_hash", await hash_password(password))

    async def verify_password(self, operator_id: int, password: str) -> bool:
        """Whether ``password`` is the operator's — to confirm a change made by someone already signed
        in. Unlike :meth:`login` it neither counts failures nor rate-limits: the session is the gate."""
        rows = await self.k.db.fetch("SELECT password_hash FROM scrm_operator WHERE id = {}", operator_id)
        stored = rows[0]["password_hash"] if rows else None
        return stored is not None and await _verify(stored, password)

    async def set_locale(self, operator_id: int, locale: str) -> None:
        self._check_locale(locale)
        await self._update(operator_id, "locale", locale)

    async def set_display_name(self, operator_id: int, display_name: str) -> None:
        if len(display_name) > 200:
            raise invalid("display_name", "must be at most 200 characters long")
        await self._update(operator_id, "display_name", display_name.strip())

    async def set_disabled(self, operator_id: int, disabled: bool) -> None:
        """Disable (or re-enable) an account; disabling ends its sessions at once."""
        async with self.k.db.transaction():
            await self._update(operator_id, "disabled_at", now() if disabled else None)
            if disabled:
                await self.k.db.fetch("DELETE FROM scrm_operator_session WHERE operator = {}", operator_id)

    async def link_oidc(self, operator_id: int, subject: str) -> None:
        """Tie an account to an identity provider's subject (``sub``) after a first OIDC sign-in."""
        async with self.k.db.transaction(on_duplicate=Conflict("Another operator is linked to this identity")):
            await self._update(operator_id, "oidc_subject", subject)

    async def by_oidc_subject(self, subject: str) -> OperatorOut | None:
        rows = await self.k.db.fetch("SELECT * FROM scrm_operator WHERE oidc_subject = {}", subject)
        return _to_operator(rows[0]) if rows else None

    async def _update(self, operator_id: int, column: str, value: Any) -> None:
        async with self.k.db.transaction():
            rows = await self.k.db.fetch(
                f"UPDATE scrm_operator SET {column} = {{}} WHERE id = {{}} RETURNING id", value, operator_id
            )
        if not rows:
            raise NotFound(f"No operator {operator_id}")

    @staticmethod
    def _check_locale(locale: str) -> None:
        if not LOCALE.match(locale):
            raise invalid("locale", "a language tag such as en or zh_CN")

    # --- roles --------------------------------------------------------------------------------

    @staticmethod
    def check_role(role: str, field: str = "role") -> None:
        """Raise :class:`ValidationFailed` on ``field`` unless ``role`` is a workspace role
        (:data:`ROLES`): lets a form check the role it was sent before it creates anything."""
        if role not in ROLES:
            raise invalid(field, f"must be one of {', '.join(ROLES)}")

    async def grant(self, operator_id: int, ws: WorkspaceRef, role: str) -> None:
        """Give an operator ``role`` in ``ws`` (replacing the role they had there)."""
        self.check_role(role)
        async with self.k.db.transaction():
            await self.get(operator_id)
            if role != "owner":
                await self._keep_an_owner(ws, operator_id)
            await self.k.db.fetch(
                "INSERT INTO scrm_operator_role (operator, workspace, role, created_at) VALUES ({}, {}, {}, {}) "
                "ON CONFLICT (operator, workspace) DO UPDATE SET role = excluded.role",
                operator_id,
                ws.id,
                role,
                now(),
            )

    async def revoke(self, operator_id: int, ws: WorkspaceRef) -> None:
        """Take an operator's role in ``ws`` away; the last owner cannot be removed."""
        async with self.k.db.transaction():
            await self._keep_an_owner(ws, operator_id)
            rows = await self.k.db.fetch(
                "DELETE FROM scrm_operator_role WHERE operator = {} AND workspace = {} RETURNING id", operator_id, ws.id
            )
        if not rows:
            raise NotFound(f"Operator {operator_id} has no role in this workspace")

    async def _keep_an_owner(self, ws: WorkspaceRef, leaving: int) -> None:
        """Refuse to leave a workspace without an owner when ``leaving`` stops being one. The owners'
        rows are locked, so two owners demoting each other at once cannot both succeed."""
        lock = " FOR UPDATE" if self.k.db.dialect.name == "postgres" else ""
        owners = await self.k.db.fetch(
            f"SELECT operator FROM scrm_operator_role WHERE workspace = {{}} AND role = 'owner'{lock}", ws.id
        )
        ids = {r["operator"] for r in owners}
        if ids == {leaving}:
            raise Conflict("A workspace keeps at least one owner: make someone else owner first")

    async def team(self, ws: WorkspaceRef) -> builtins.list[TeamMember]:
        rows = await self.k.db.fetch(
            "SELECT o.*, r.role AS role FROM scrm_operator_role r JOIN scrm_operator o ON o.id = r.operator "
            "WHERE r.workspace = {} ORDER BY o.username",
            ws.id,
        )
        return [TeamMember(operator=_to_operator(r), role=r["role"]) for r in rows]

    async def memberships(self, operator: OperatorOut) -> builtins.list[Membership]:
        """The workspaces ``operator`` can open: all of them for an admin, else those with a role."""
        if operator.admin:
            rows = await self.k.db.fetch(f"SELECT id, slug, name, '{ADMIN}' AS role FROM scrm_workspace ORDER BY name")
        else:
            rows = await self.k.db.fetch(
                "SELECT w.id, w.slug, w.name, r.role FROM scrm_operator_role r "
                "JOIN scrm_workspace w ON w.id = r.workspace WHERE r.operator = {} ORDER BY w.name",
                operator.id,
            )
        return [Membership(workspace_id=r["id"], slug=r["slug"], name=r["name"], role=r["role"]) for r in rows]

    async def access(self, operator: OperatorOut, slug: str) -> Access:
        """The operator's access to workspace ``slug``; NotFound when they have none (so the console
        does not reveal which workspaces exist)."""
        try:
            ws = await self.k.workspace_ref(slug)
        except NotFound:
            raise NotFound(f"No workspace {slug!r}") from None
        if operator.admin:
            return Access(operator=operator, workspace=ws, role=ADMIN)
        rows = await self.k.db.fetch(
            "SELECT role FROM scrm_operator_role WHERE operator = {} AND workspace = {}", operator.id, ws.id
        )
        if not rows:
            raise NotFound(f"No workspace {slug!r}")
        return Access(operator=operator, workspace=ws, role=rows[0]["role"])

    # --- signing in ---------------------------------------------------------------------------

    async def login(self, username: str, password: str, ip: str) -> OperatorOut:
        """The operator for these credentials. Too many recent failures for the username or the
        client address is a 429 before the password is even checked; a wrong username or password
        (or a disabled account) is the same 401, and is counted."""
        username = username.strip().lower()[:64]
        await self._check_rate(username, ip)
        rows = await self.k.db.fetch("SELECT * FROM scrm_operator WHERE username = {}", username)
        row = rows[0] if rows else None
        stored = row["password_hash"] if row and row["password_hash"] else _dummy_hash()
        ok = await _verify(stored, password) and row is not None and row["password_hash"] is not None
        if not ok or row is None or row["disabled_at"] is not None:
            async with self.k.db.transaction():
                await self.k.db.fetch(
                    "INSERT INTO scrm_login_failure (username, ip, at) VALUES ({}, {}, {})", username, ip[:64], now()
                )
            raise Unauthenticated("Wrong username or password")
        if _hasher.check_needs_rehash(stored):
            await self._update(row["id"], "password_hash", await hash_password(password))
        async with self.k.db.transaction():
            await self.k.db.fetch("DELETE FROM scrm_login_failure WHERE username = {}", username)
        return _to_operator(row)

    async def _check_rate(self, username: str, ip: str) -> None:
        since = now() - LOGIN_WINDOW
        rows = await self.k.db.fetch(
            "SELECT (SELECT count(*) FROM scrm_login_failure WHERE username = {} AND at > {}) AS by_name, "
            "(SELECT count(*) FROM scrm_login_failure WHERE ip = {} AND at > {}) AS by_ip",
            username,
            since,
            ip[:64],
            since,
        )
        if rows[0]["by_name"] >= LOGIN_FAILURES_PER_USERNAME or rows[0]["by_ip"] >= LOGIN_FAILURES_PER_ADDRESS:
            minutes = int(LOGIN_WINDOW.total_seconds() // 60)
            raise RateLimited(f"Too many failed sign-ins; try again in {minutes} minutes")

    # --- sessions -----------------------------------------------------------------------------

    async def open_session(self, operator_id: int, ip: str = "", user_agent: str = "") -> str:
        """Start a session and return its token (for the cookie; only its digest is stored)."""
        token = secrets.token_urlsafe(32)
        at = now()
        async with self.k.db.transaction():
            await self.k.db.fetch(
                "INSERT INTO scrm_operator_session (operator, token_hash, created_at, last_seen_at, expires_at, ip, user_agent) "
                "VALUES ({}, {}, {}, {}, {}, {}, {})",
                operator_id,
                token_digest(token),
                at,
                at,
                at + SESSION_MAX,
                ip[:64],
                user_agent[:300],
            )
            await self.k.db.fetch("UPDATE scrm_operator SET last_login_at = {} WHERE id = {}", at, operator_id)
        return token

    async def session(self, token: str) -> OperatorOut | None:
        """The signed-in operator for a session token, or None when the session is unknown, idle too
        long, past its maximum age, or its operator is disabled."""
        at = now()
        rows = await self.k.db.fetch(
            "SELECT o.*, s.id AS session_id, s.last_seen_at AS session_seen FROM scrm_operator_session s "
            "JOIN scrm_operator o ON o.id = s.operator "
            "WHERE s.token_hash = {} AND s.expires_at > {} AND s.last_seen_at > {} AND o.disabled_at IS NULL",
            token_digest(token),
            at,
            at - SESSION_IDLE,
        )
        if not rows:
            return None
        row = rows[0]
        if at - timestamp(row["session_seen"]) > SESSION_TOUCH:
            async with self.k.db.transaction():
                await self.k.db.fetch(
                    "UPDATE scrm_operator_session SET last_seen_at = {} WHERE id = {}", at, row["session_id"]
                )
        return _to_operator(row)

    async def close_session(self, token: str) -> None:
        async with self.k.db.transaction():
            await self.k.db.fetch("DELETE FROM scrm_operator_session WHERE token_hash = {}", token_digest(token))

    async def close_sessions(self, operator_id: int, keep: str | None = None) -> None:
        """End every session of an operator (but ``keep``, the one making the change)."""
        async with self.k.db.transaction():
            await self.k.db.fetch(
                "DELETE FROM scrm_operator_session WHERE operator = {} AND token_hash <> {}",
                operator_id,
                token_digest(keep) if keep else "",
            )

    async def prune(self) -> None:
        """Delete ended sessions and failed sign-ins older than the rate-limit window."""
        at = now()
        async with self.k.db.transaction():
            await self.k.db.fetch(
                "DELETE FROM scrm_operator_session WHERE expires_at < {} OR last_seen_at < {}", at, at - SESSION_IDLE
            )
            await self.k.db.fetch("DELETE FROM scrm_login_failure WHERE at < {}", at - LOGIN_WINDOW)


def _to_operator(row: dict[str, Any]) -> OperatorOut:
    return OperatorOut(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        admin=bool(row["admin"]),
        locale=row["locale"],
        created_at=timestamp(row["created_at"]),
        last_login_at=timestamp(row["last_login_at"]) if row["last_login_at"] else None,
        disabled=row["disabled_at"] is not None,
        has_password=row["password_hash"] is not None,
        oidc_linked=row["oidc_subject"] is not None,
    )


async def prune_sessions(ctx: JobContext) -> None:
    """Cron: forget ended console sessions and expired failed sign-ins."""
    await ctx.kernel.operators.prune()


OPERATOR_JOBS: builtins.list[Job | Cron] = [Cron("scrm.prune_sessions", prune_sessions, minute=17)]
