"""agency: OAuth 2 apps — registered clients, issued tokens and authorization codes (their unique
indexes are in the next migration: piccolo runs raw steps before it creates tables)."""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, BigSerial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from scrm.migrating import add_table

ID = "2026-12-07T13:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "agency: oauth apps, tokens and codes"

APP: list[tuple[str, Any, dict[str, Any]]] = [
    ("id", BigSerial, {"primary_key": True}),
    ("workspace", BigInt, {"default": 0}),
    ("name", Varchar, {"length": 200, "default": ""}),
    ("client_id", Varchar, {"length": 64, "default": ""}),
    ("secret_hash", Varchar, {"length": 64, "default": ""}),
    ("redirect_uris", Text, {"default": ""}),
    ("scopes", Text, {"default": ""}),
    ("created_at", Timestamptz, {"default": TimestamptzNow()}),
    ("revoked_at", Timestamptz, {"null": True, "default": None}),
]
TOKEN: list[tuple[str, Any, dict[str, Any]]] = [
    ("id", BigSerial, {"primary_key": True}),
    ("workspace", BigInt, {"default": 0}),
    ("app", BigInt, {"default": 0}),
    ("operator", BigInt, {"null": True, "default": None}),
    ("jti", Varchar, {"length": 64, "default": ""}),
    ("refresh_hash", Varchar, {"length": 64, "null": True, "default": None}),
    ("scopes", Text, {"default": ""}),
    ("expires_at", Timestamptz, {"default": TimestamptzNow()}),
    ("refresh_expires_at", Timestamptz, {"null": True, "default": None}),
    ("created_at", Timestamptz, {"default": TimestamptzNow()}),
    ("revoked_at", Timestamptz, {"null": True, "default": None}),
]
CODE: list[tuple[str, Any, dict[str, Any]]] = [
    ("id", BigSerial, {"primary_key": True}),
    ("workspace", BigInt, {"default": 0}),
    ("app", BigInt, {"default": 0}),
    ("operator", BigInt, {"default": 0}),
    ("code_hash", Varchar, {"length": 64, "default": ""}),
    ("redirect_uri", Text, {"default": ""}),
    ("scopes", Text, {"default": ""}),
    ("code_challenge", Varchar, {"length": 128, "default": ""}),
    ("code_challenge_method", Varchar, {"length": 10, "default": "S256"}),
    ("expires_at", Timestamptz, {"default": TimestamptzNow()}),
    ("used_at", Timestamptz, {"null": True, "default": None}),
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="scrm", description=DESCRIPTION)
    add_table(manager, "OAuthApp", "scrm_oauth_app", APP)
    add_table(manager, "OAuthToken", "scrm_oauth_token", TOKEN)
    add_table(manager, "OAuthCode", "scrm_oauth_code", CODE)
    return manager
