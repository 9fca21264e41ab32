"""OAuth 2 apps: out-of-process integrations registered in one workspace, and the tokens issued to them.

An app is a confidential client: a ``client_id`` and a secret (stored as a SHA-256, shown once, as an
API key is). Its access tokens are RFC 9068 JWTs (``typ: at+jwt``) signed with a key derived from the
deployment's secret key; each names its ``jti``, stored with the token so that revoking it (or its app)
takes effect at once in this process, in the others at once with Redis (else within
``SCRM_AUTH_CACHE_SECONDS``). A token acts with the intersection of what it was granted and what its app may still hold, and only in its app's
workspace: the API's guard turns it into a :class:`Principal` bound to that workspace, exactly as a
workspace API key is, so scopes and isolation are checked by the same code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from scrm.problems import Forbidden, NotFound, ValidationFailed, field_error
from scrm.schemas import AppCreate, AppCreated, AppOut
from scrm.scopes import OPERATOR_SCOPES, grants, known_scope
from scrm.services.context import WorkspaceRef
from scrm.services.keys import Principal, covered, digest
from scrm.services.values import now, timestamp

if TYPE_CHECKING:
    from scrm.kernel import Kernel

#: the ``iss`` of every access token, and the ``aud`` it is for (this deployment's API)
ISSUER = "urn:scrm:oauth"
AUDIENCE = "urn:scrm:api"
ALGORITHM = "HS256"
ACCESS_TTL = timedelta(hours=1)
REFRESH_TTL = timedelta(days=30)
CODE_TTL = timedelta(minutes=10)
CLIENT_PREFIX = "scrm_app_"
SECRET_PREFIX = "scrm_secret_"  # noqa: S105 - a prefix, not a secret
APP_COLUMNS = "id, workspace, name, client_id, secret_hash, redirect_uris, scopes, created_at, revoked_at"


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and not token.startswith("scrm_")


def allowed_scopes(held: str, requested: str | None) -> str:
    """The scopes of ``requested`` that ``held`` (an app's) covers; all of ``held`` when none are asked."""
    mine = held.split()
    if not requested:
        return " ".join(mine)
    return " ".join(s for s in requested.split() if grants(mine, s))


class Apps:
    """Register, list and revoke apps; issue, verify and revoke their tokens (``kernel.apps``)."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.key = OctKey.import_key(
            hmac.new(kernel.settings.secret_key.encode(), b"scrm-oauth-jwt", hashlib.sha256).digest()
        )

    # --- apps -------------------------------------------------------------------------------

    async def create(self, ws: WorkspaceRef, data: AppCreate, creator: Principal | None = None) -> AppCreated:
        known = self.k.known_scopes()
        for i, scope in enumerate(data.scopes):
            if not known_scope(scope, known) or scope in OPERATOR_SCOPES:
                raise ValidationFailed(
                    f"scopes[{i}]: unknown scope {scope!r}",
                    errors=[field_error(f"scopes[{i}]", f"unknown scope {scope!r}")],
                )
            if creator is not None and not covered(creator, scope):
                raise Forbidden(f"A credential cannot give an app {scope!r}, which it does not hold itself")
        client_id = CLIENT_PREFIX + secrets.token_urlsafe(16)
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        async with self.k.db.transaction():
            rows = await self.k.sql.run(
                "INSERT INTO scrm_oauth_app (workspace, name, client_id, secret_hash, redirect_uris, scopes, created_at) "
                f"VALUES ({{ws}}, {{name}}, {{client}}, {{hash}}, {{uris}}, {{scopes}}, {{at}}) RETURNING {APP_COLUMNS}",
                ws=ws.id,
                name=data.name,
                client=client_id,
                hash=digest(secret),
                uris=" ".join(data.redirect_uris),
                scopes=" ".join(data.scopes),
                at=now(),
            )
        out = _to_app(rows[0], ws.slug)
        return AppCreated(**{f: getattr(out, f) for f in out.__struct_fields__}, client_secret=secret)

    async def list(self, ws: WorkspaceRef) -> list[AppOut]:
        rows = await self.k.sql.run(
            f"SELECT {APP_COLUMNS} FROM scrm_oauth_app WHERE workspace = {{ws}} ORDER BY id", ws=ws.id
        )
        return [_to_app(r, ws.slug) for r in rows]

    async def get(self, ws: WorkspaceRef, app_id: int) -> AppOut:
        row = await self.k.sql.one(
            f"SELECT {APP_COLUMNS} FROM scrm_oauth_app WHERE workspace = {{ws}} AND id = {{id}}", ws=ws.id, id=app_id
        )
        if row is None:
            raise NotFound(f"No app {app_id} in this workspace")
        return _to_app(row, ws.slug)

    async def revoke(self, ws: WorkspaceRef, app_id: int) -> None:
        """Revoke an app and every token issued to it."""
        at = now()
        async with self.k.db.transaction():
            rows = await self.k.sql.run(
                "UPDATE scrm_oauth_app SET revoked_at = {at} WHERE workspace = {ws} AND id = {id} AND revoked_at IS NULL "
                "RETURNING id",
                at=at,
                ws=ws.id,
                id=app_id,
            )
            if not rows:
                raise NotFound(f"No active app {app_id} in this workspace")
            await self.k.sql.run(
                "UPDATE scrm_oauth_token SET revoked_at = {at} WHERE app = {id} AND revoked_at IS NULL",
                at=at,
                id=app_id,
            )
        self.k.forget_cached()

    async def client(self, client_id: str) -> Any | None:
        """An active app by its client id (what the token endpoint authenticates)."""
        return await self.k.sql.one(
            f"SELECT {APP_COLUMNS} FROM scrm_oauth_app WHERE client_id = {{client}} AND revoked_at IS NULL",
            client=client_id,
        )

    # --- tokens -----------------------------------------------------------------------------

    def claims(self, token: str, check_expiry: bool = True) -> dict[str, Any] | None:
        """The claims of one of our access tokens, or None when it is not one (bad signature, wrong
        ``typ``, issuer or audience, or — unless ``check_expiry`` is false — expired)."""
        try:
            decoded = jwt.decode(token, self.key, algorithms=[ALGORITHM])
        except (JoseError, ValueError):
            return None
        if decoded.header.get("typ") != "at+jwt":
            return None
        registry = jwt.JWTClaimsRegistry(
            leeway=0 if check_expiry else 10**9,  # an expired token can still be named to revoke it
            iss={"essential": True, "value": ISSUER},
            aud={"essential": True, "value": AUDIENCE},
            jti={"essential": True},
            exp={"essential": True},
        )
        try:
            registry.validate(decoded.claims)
        except JoseError:
            return None
        return dict(decoded.claims)

    async def authenticate(self, token: str) -> Principal | None:
        """The principal of a live access token: signed by us, not expired, not revoked, its app active."""
        claims = self.claims(token)
        if claims is None:
            return None
        row = await self.k.sql.one(
            "SELECT t.workspace, t.app, t.operator, t.scopes, a.scopes AS app_scopes, a.name FROM scrm_oauth_token t "
            "JOIN scrm_oauth_app a ON a.id = t.app WHERE t.jti = {jti} AND t.revoked_at IS NULL AND a.revoked_at IS NULL",
            jti=claims["jti"],
        )
        if row is None:
            return None
        app_scopes = row["app_scopes"].split()
        scopes = frozenset(s for s in row["scopes"].split() if grants(app_scopes, s))
        return Principal(
            key_id=0,
            workspace_id=row["workspace"],
            scopes=scopes,
            app_id=row["app"],
            operator_id=row["operator"],
            expires_at=float(claims["exp"]),
            name=row["name"],
        )

    async def save_token(
        self, app: Any, operator_id: int | None, access_token: str, refresh_token: str | None, scope: str
    ) -> None:
        claims = self.claims(access_token)
        assert claims is not None, "a token this server just signed"
        at = now()
        async with self.k.db.transaction():
            await self.k.sql.run(
                "INSERT INTO scrm_oauth_token (workspace, app, operator, jti, refresh_hash, scopes, expires_at, "
                "refresh_expires_at, created_at) VALUES ({ws}, {app}, {op}, {jti}, {refresh}, {scopes}, {exp}, "
                "{refresh_exp}, {at})",
                ws=app["workspace"],
                app=app["id"],
                op=operator_id,
                jti=claims["jti"],
                refresh=digest(refresh_token) if refresh_token else None,
                scopes=scope,
                exp=datetime.fromtimestamp(claims["exp"], tz=at.tzinfo),
                refresh_exp=at + REFRESH_TTL if refresh_token else None,
                at=at,
            )

    async def refresh(self, refresh_token: str) -> Any | None:
        """The live token row a refresh token belongs to."""
        return await self.k.sql.one(
            "SELECT id, workspace, app, operator, scopes, refresh_expires_at FROM scrm_oauth_token "
            "WHERE refresh_hash = {hash} AND revoked_at IS NULL AND refresh_expires_at > {at}",
            hash=digest(refresh_token),
            at=now(),
        )

    async def token_by_access(self, access_token: str) -> Any | None:
        claims = self.claims(access_token, check_expiry=False)
        if claims is None:
            return None
        return await self.k.sql.one(
            "SELECT id, workspace, app, operator, scopes FROM scrm_oauth_token WHERE jti = {jti}", jti=claims["jti"]
        )

    async def revoke_token(self, token_id: int) -> None:
        await self.k.sql.run(
            "UPDATE scrm_oauth_token SET revoked_at = {at} WHERE id = {id} AND revoked_at IS NULL",
            at=now(),
            id=token_id,
        )
        self.k.forget_cached()

    # --- authorization codes ----------------------------------------------------------------

    async def save_code(
        self, app: Any, operator_id: int, code: str, redirect_uri: str, scope: str, challenge: str, method: str
    ) -> None:
        at = now()
        await self.k.sql.run(
            "INSERT INTO scrm_oauth_code (workspace, app, operator, code_hash, redirect_uri, scopes, code_challenge, "
            "code_challenge_method, expires_at) VALUES ({ws}, {app}, {op}, {hash}, {uri}, {scopes}, {challenge}, "
            "{method}, {exp})",
            ws=app["workspace"],
            app=app["id"],
            op=operator_id,
            hash=digest(code),
            uri=redirect_uri,
            scopes=scope,
            challenge=challenge,
            method=method,
            exp=at + CODE_TTL,
        )

    async def code(self, code: str, app_id: int) -> Any | None:
        return await self.k.sql.one(
            "SELECT id, operator, redirect_uri, scopes, code_challenge, code_challenge_method FROM scrm_oauth_code "
            "WHERE code_hash = {hash} AND app = {app} AND used_at IS NULL AND expires_at > {at}",
            hash=digest(code),
            app=app_id,
            at=now(),
        )

    async def use_code(self, code_id: int) -> bool:
        """Mark a code used; False when another request used it first (a code works once)."""
        rows = await self.k.sql.run(
            "UPDATE scrm_oauth_code SET used_at = {at} WHERE id = {id} AND used_at IS NULL RETURNING id",
            at=now(),
            id=code_id,
        )
        return bool(rows)


def _to_app(row: Any, slug: str) -> AppOut:
    return AppOut(
        id=row["id"],
        name=row["name"],
        client_id=row["client_id"],
        scopes=row["scopes"].split(),
        redirect_uris=row["redirect_uris"].split(),
        workspace=slug,
        created_at=timestamp(row["created_at"]),
        revoked_at=timestamp(row["revoked_at"]) if row["revoked_at"] else None,
    )
