"""Subscriptions: an endpoint and the event types it wants, with its signing secret.

The secret is shown when a subscription is created and when it is rotated, never in a listing (as an
API key is shown once). Every statement names the workspace: a subscription of another workspace is
a 404, never a row.
"""

from __future__ import annotations

import fnmatch
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import scrm

from scrm_webhooks import signing
from scrm_webhooks.schemas import (
    Rotation,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
    SubscriptionSecret,
)

COLUMNS = "id, url, description, event_types, secret, previous_secret, previous_until, active, created_at, updated_at"
_patterns = msgspec.json.Decoder(list[str])


def matches(patterns: list[str], event_type: str) -> bool:
    """Whether an event type is one a subscription wants (``*`` and ``member.*`` are prefixes)."""
    return any(
        p == "*" or p == event_type or (p.endswith(".*") and fnmatch.fnmatchcase(event_type, p)) for p in patterns
    )


def out(row: Any) -> SubscriptionOut:
    return SubscriptionOut(**_fields(row))


def _fields(row: Any) -> dict[str, Any]:
    until = scrm.as_datetime(row["previous_until"])
    return {
        "id": row["id"],
        "url": row["url"],
        "event_types": _patterns.decode(row["event_types"]),
        "description": row["description"],
        "active": bool(row["active"]),
        "previous_secret_until": until if until and until > _now() and row["previous_secret"] else None,
        "created_at": scrm.as_datetime(row["created_at"]),
        "updated_at": scrm.as_datetime(row["updated_at"]),
    }


def _now() -> datetime:
    return datetime.now(UTC)


def valid_secrets(row: Any) -> list[str]:
    """The secrets that sign a message now: the current one, and the previous one until it expires."""
    found = [row["secret"]]
    until = scrm.as_datetime(row["previous_until"])
    if row["previous_secret"] and until and until > _now():
        found.append(row["previous_secret"])
    return found


async def reachable(kernel: scrm.Kernel, url: str) -> None:
    """A 422 naming ``url`` when the deployment's outbound guard would refuse to send there (a
    loopback, private or metadata address): refused now rather than failing every delivery."""
    reason = await kernel.outbound.refusal(url)
    if reason is not None:
        raise scrm.invalid("url", reason)


async def create(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: SubscriptionIn) -> SubscriptionSecret:
    await reachable(kernel, data.url)
    at = _now()
    rows = await kernel.sql.run(
        "INSERT INTO webhooks_subscription (workspace, url, description, event_types, secret, active, created_at, "
        f"updated_at) VALUES ({{ws}}, {{url}}, {{description}}, {{types}}, {{secret}}, {{active}}, {{at}}, {{at}}) RETURNING {COLUMNS}",
        ws=ws.id,
        url=data.url,
        description=data.description,
        types=msgspec.json.encode(data.event_types).decode(),
        secret=signing.new_secret(),
        active=data.active,
        at=at,
    )
    return SubscriptionSecret(**_fields(rows[0]), secret=rows[0]["secret"])


async def row(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, subscription_id: int) -> Any:
    found = await kernel.sql.one(
        f"SELECT {COLUMNS} FROM webhooks_subscription WHERE workspace = {{ws}} AND id = {{id}}",
        ws=ws.id,
        id=subscription_id,
    )
    if found is None:
        raise scrm.NotFound(f"No webhook subscription {subscription_id} in this workspace")
    return found


async def get(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, subscription_id: int) -> SubscriptionOut:
    return out(await row(kernel, ws, subscription_id))


async def listing(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> list[SubscriptionOut]:
    rows = await kernel.sql.run(
        f"SELECT {COLUMNS} FROM webhooks_subscription WHERE workspace = {{ws}} ORDER BY id", ws=ws.id
    )
    return [out(r) for r in rows]


async def update(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, subscription_id: int, data: SubscriptionPatch
) -> SubscriptionOut:
    current = out(await row(kernel, ws, subscription_id))
    if not isinstance(data.url, msgspec.UnsetType):
        await reachable(kernel, data.url)
    changes = {name: getattr(data, name) for name in ("url", "description", "active", "event_types")}
    merged = {name: getattr(current, name) if value is msgspec.UNSET else value for name, value in changes.items()}
    found = await kernel.sql.one(
        "UPDATE webhooks_subscription SET url = {url}, description = {description}, active = {active}, "
        "event_types = {types}, updated_at = {at} WHERE workspace = {ws} AND id = {id} "
        f"RETURNING {COLUMNS}",
        url=merged["url"],
        description=merged["description"],
        active=merged["active"],
        types=msgspec.json.encode(merged["event_types"]).decode(),
        at=_now(),
        ws=ws.id,
        id=subscription_id,
    )
    if found is None:  # deleted meanwhile
        raise scrm.NotFound(f"No webhook subscription {subscription_id} in this workspace")
    return out(found)


async def rotate(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, subscription_id: int, data: Rotation
) -> SubscriptionSecret:
    """A new secret; the one it replaces keeps signing next to it for ``keep_previous_s`` seconds,
    so receivers can switch without losing a message."""
    at = _now()
    found = await kernel.sql.one(
        "UPDATE webhooks_subscription SET previous_secret = secret, previous_until = {until}, secret = {secret}, "
        f"updated_at = {{at}} WHERE workspace = {{ws}} AND id = {{id}} RETURNING {COLUMNS}",
        until=at + timedelta(seconds=data.keep_previous_s),
        secret=signing.new_secret(),
        at=at,
        ws=ws.id,
        id=subscription_id,
    )
    if found is None:
        raise scrm.NotFound(f"No webhook subscription {subscription_id} in this workspace")
    return SubscriptionSecret(**_fields(found), secret=found["secret"])


async def delete(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, subscription_id: int) -> None:
    """Delete a subscription with its delivery log."""
    async with kernel.db.transaction():
        gone = await kernel.sql.run(
            "DELETE FROM webhooks_subscription WHERE workspace = {ws} AND id = {id} RETURNING id",
            ws=ws.id,
            id=subscription_id,
        )
        if not gone:
            raise scrm.NotFound(f"No webhook subscription {subscription_id} in this workspace")
        await kernel.sql.run(
            "DELETE FROM webhooks_attempt WHERE workspace = {ws} AND delivery IN "
            "(SELECT id FROM webhooks_delivery WHERE workspace = {ws} AND subscription = {id})",
            ws=ws.id,
            id=subscription_id,
        )
        await kernel.sql.run(
            "DELETE FROM webhooks_delivery WHERE workspace = {ws} AND subscription = {id}", ws=ws.id, id=subscription_id
        )


async def delete_workspace(kernel: scrm.Kernel, workspace_id: int) -> None:
    async with kernel.db.transaction():
        for table in ("webhooks_attempt", "webhooks_delivery", "webhooks_subscription"):
            await kernel.sql.run(f"DELETE FROM {table} WHERE workspace = {{ws}}", ws=workspace_id)
