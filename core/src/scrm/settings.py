"""Settings read from the environment, with an embedded default.

With no configuration at all scrm runs on a SQLite file under ``SCRM_DATA_DIR`` so that a newcomer
gets a working system from one command; production sets ``SCRM_DATABASE_URL`` to PostgreSQL.
A missing or wrong setting raises :class:`SettingsError` whose message is one line naming the
variable, so the CLI can print it and stop.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
BOOLEANS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
LOOPBACK = ("localhost", "127.0.0.1", "::1")
HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,62})(\.[a-z0-9]([a-z0-9-]{0,62}))*\.?$")
CLAIM = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it in one line."""


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed ``SCRM_DATABASE_URL``: either a SQLite file or a PostgreSQL server."""

    dialect: str  # "sqlite" or "postgres"
    path: Path | None = None  # SQLite only
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str | None = field(default=None, repr=False)
    database: str = "scrm"

    @classmethod
    def parse(cls, url: str) -> DatabaseURL:
        scheme, _, rest = url.partition("://")
        if scheme == "sqlite":
            if not rest.startswith("/") or rest == "/":
                raise SettingsError(
                    f"SCRM_DATABASE_URL: a SQLite URL needs an absolute path, like sqlite:///var/scrm/scrm.db (got {url!r})"
                )
            return cls(dialect="sqlite", path=Path(rest))
        if scheme in ("postgresql", "postgres"):
            parts = urlsplit(url)
            try:
                port = parts.port or 5432
            except ValueError:
                raise SettingsError(f"SCRM_DATABASE_URL: the port is not a number in {redact(url)!r}") from None
            database = parts.path.lstrip("/")
            if not parts.hostname or not database:
                raise SettingsError(
                    "SCRM_DATABASE_URL: a PostgreSQL URL needs a host and a database, "
                    f"like postgresql://USER@HOST:5432/DB (got {redact(url)!r})"
                )
            return cls(
                dialect="postgres",
                host=parts.hostname,
                port=port,
                user=unquote(parts.username or "postgres"),
                password=unquote(parts.password) if parts.password is not None else None,
                database=database,
            )
        raise SettingsError(
            f"SCRM_DATABASE_URL: unsupported scheme {scheme!r}; use sqlite:///ABSOLUTE/PATH or postgresql://USER@HOST:PORT/DB"
        )

    def __str__(self) -> str:
        if self.dialect == "sqlite":
            return f"sqlite://{self.path}"
        auth = f"{self.user}:***@" if self.password else f"{self.user}@"
        return f"postgresql://{auth}{self.host}:{self.port}/{self.database}"


def redact(url: str) -> str:
    """The URL with any password replaced, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


@dataclass(frozen=True)
class OidcSettings:
    """The OpenID Connect provider operators may sign in to the console with (all or nothing)."""

    #: the provider's issuer URL; its ``/.well-known/openid-configuration`` names the endpoints
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    #: what the sign-in button calls the provider
    name: str = "single sign-on"
    #: the ID-token claim whose value (lowercased) is an operator's username
    username_claim: str = "email"

    @staticmethod
    def secure_url(url: str) -> bool:
        """Whether ``url`` is fit to carry credentials: https, or plain http to this machine only (a
        provider tried out locally). The issuer is held to it here, and the endpoints its discovery
        document names by whoever signs operators in with it (the console)."""
        parts = urlsplit(url)
        if not parts.hostname:
            return False
        return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)


@dataclass(frozen=True)
class Settings:
    """Everything the kernel reads from its environment, parsed and checked once."""

    data_dir: Path
    database: DatabaseURL
    secret_key: str = field(repr=False)
    redis_url: str | None = None
    log_format: str = "text"
    log_level: str = "INFO"
    db_pool_size: int = 10
    outbox_lease_s: float = 60.0
    #: how long a process reuses an API key's resolution and a workspace's plugins
    auth_cache_s: float = 5.0
    plugins_allowed: frozenset[str] | None = None
    #: mark the console's cookies Secure even when the request looks like plain http (behind a proxy)
    secure_cookies: bool = False
    #: console sign-in through an OpenID Connect provider; None when not configured
    oidc: OidcSettings | None = None
    #: the plugin catalogue (a URL or path of its index) the CLI and the console read
    catalogue: str | None = None
    #: install only plugins the catalogue marks verified
    plugins_verified_only: bool = False
    #: hosts and networks that user-given URLs (webhooks, providers) may reach although they are not
    #: public internet addresses (see scrm.outbound)
    outbound_allow: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("SCRM_DATA_DIR") or "scrm-data").absolute()
        url = env.get("SCRM_DATABASE_URL")
        database = DatabaseURL.parse(url) if url else DatabaseURL(dialect="sqlite", path=data_dir / "scrm.sqlite3")
        log_format = env.get("SCRM_LOG_FORMAT", "text").lower()
        if log_format not in LOG_FORMATS:
            raise SettingsError(f"SCRM_LOG_FORMAT: expected one of {', '.join(LOG_FORMATS)} (got {log_format!r})")
        log_level = env.get("SCRM_LOG_LEVEL", "INFO").upper()
        if log_level not in LOG_LEVELS:
            raise SettingsError(f"SCRM_LOG_LEVEL: expected one of {', '.join(LOG_LEVELS)} (got {log_level!r})")
        redis_url = env.get("SCRM_REDIS_URL") or None
        if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(f"SCRM_REDIS_URL: expected redis://HOST:PORT/DB (got {redact(redis_url)!r})")
        pool = env.get("SCRM_DB_POOL_SIZE", "10")
        if not pool.isdecimal() or not 1 <= int(pool) <= 1000:
            raise SettingsError(f"SCRM_DB_POOL_SIZE: expected a whole number from 1 to 1000 (got {pool!r})")
        lease = env.get("SCRM_OUTBOX_LEASE_SECONDS", "60")
        if not lease.isdecimal() or not 1 <= int(lease) <= 86_400:
            raise SettingsError(f"SCRM_OUTBOX_LEASE_SECONDS: expected a whole number from 1 to 86400 (got {lease!r})")
        auth_cache = env.get("SCRM_AUTH_CACHE_SECONDS", "5")
        if not auth_cache.isdecimal() or not 1 <= int(auth_cache) <= 3600:
            raise SettingsError(f"SCRM_AUTH_CACHE_SECONDS: expected a whole number from 1 to 3600 (got {auth_cache!r})")
        allowed = env.get("SCRM_PLUGINS")
        secure = env.get("SCRM_SECURE_COOKIES", "0").lower()
        if secure not in BOOLEANS:
            raise SettingsError(f"SCRM_SECURE_COOKIES: expected 1 or 0 (got {secure!r})")
        verified_only = env.get("SCRM_PLUGINS_VERIFIED_ONLY", "0").lower()
        if verified_only not in BOOLEANS:
            raise SettingsError(f"SCRM_PLUGINS_VERIFIED_ONLY: expected 1 or 0 (got {verified_only!r})")
        return cls(
            data_dir=data_dir,
            database=database,
            secret_key=_secret_key(env, database, data_dir),
            redis_url=redis_url,
            log_format=log_format,
            log_level=log_level,
            db_pool_size=int(pool),
            outbox_lease_s=float(lease),
            auth_cache_s=float(auth_cache),
            secure_cookies=BOOLEANS[secure],
            oidc=_oidc(env),
            catalogue=env.get("SCRM_CATALOGUE", "").strip() or None,
            plugins_verified_only=BOOLEANS[verified_only],
            outbound_allow=_outbound_allow(env.get("SCRM_OUTBOUND_ALLOW", "")),
            plugins_allowed=(
                frozenset(name.strip() for name in allowed.split(",") if name.strip()) if allowed is not None else None
            ),
        )


def _outbound_allow(value: str) -> tuple[str, ...]:
    """``SCRM_OUTBOUND_ALLOW``: comma-separated host names, addresses and networks."""
    allowed = tuple(item.strip().lower() for item in value.split(",") if item.strip())
    for item in allowed:
        try:
            ipaddress.ip_network(item.strip("[]"), strict=False)
        except ValueError:
            if not HOSTNAME.match(item):
                raise SettingsError(
                    "SCRM_OUTBOUND_ALLOW: expected host names, addresses or networks, comma-separated, "
                    f"like hooks.internal,10.2.0.0/16 (got {item!r})"
                ) from None
    return allowed


def _oidc(env: Mapping[str, str]) -> OidcSettings | None:
    """The OIDC provider, when ``SCRM_OIDC_ISSUER`` and the client's credentials are all set."""
    issuer = env.get("SCRM_OIDC_ISSUER", "").strip()
    client_id = env.get("SCRM_OIDC_CLIENT_ID", "").strip()
    client_secret = env.get("SCRM_OIDC_CLIENT_SECRET", "")
    given = {"SCRM_OIDC_ISSUER": issuer, "SCRM_OIDC_CLIENT_ID": client_id, "SCRM_OIDC_CLIENT_SECRET": client_secret}
    if not any(given.values()):
        return None
    missing = [name for name, value in given.items() if not value]
    if missing:
        raise SettingsError(
            f"{missing[0]}: required with the other OIDC settings (set the issuer, client id and client secret, or none of them)"
        )
    parts = urlsplit(issuer)
    if not OidcSettings.secure_url(issuer) or parts.query or parts.fragment:
        raise SettingsError(
            f"SCRM_OIDC_ISSUER: expected the provider's https URL without query, like https://id.example.com/realms/staff (got {issuer!r})"
        )
    name = env.get("SCRM_OIDC_NAME", "").strip() or "single sign-on"
    if len(name) > 60:
        raise SettingsError("SCRM_OIDC_NAME: at most 60 characters (it labels the sign-in button)")
    claim = env.get("SCRM_OIDC_USERNAME_CLAIM", "").strip() or "email"
    if not CLAIM.match(claim):
        raise SettingsError(
            f"SCRM_OIDC_USERNAME_CLAIM: expected a claim name such as email or preferred_username (got {claim!r})"
        )
    return OidcSettings(issuer, client_id, client_secret, name=name, username_claim=claim)


def _secret_key(env: Mapping[str, str], database: DatabaseURL, data_dir: Path) -> str:
    """The secret key: required with PostgreSQL; in the embedded mode kept in a file of the data dir.

    Production must share one key across processes, so it comes from the environment; a newcomer's
    embedded install should not have to invent one, so it is generated once and kept beside the data.
    """
    key = env.get("SCRM_SECRET_KEY")
    if key:
        if len(key) < 32:
            raise SettingsError("SCRM_SECRET_KEY: must be at least 32 characters long")
        return key
    if database.dialect == "postgres":
        raise SettingsError(
            "SCRM_SECRET_KEY: required with PostgreSQL (generate one: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key
