"""Providers and templates: what an operator configures before anything can be sent.

A provider's secret goes in through :class:`~scrm_channels.secrets.SecretBox` and never comes out
through the API. A template is checked twice when saved: that it compiles (jinja2, sandboxed) and
what ``scrm_moderate`` finds in its subject and body (sensitive words, banned advertising terms); a
template with findings is ``held`` and cannot be sent until it is changed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import msgspec
import scrm

from scrm_channels import render
from scrm_channels.problems import NoProvider, TemplateHeld
from scrm_channels.providers import KINDS
from scrm_channels.schemas import (
    FindingOut,
    ProviderIn,
    ProviderOut,
    ProviderPatch,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
)
from scrm_channels.secrets import SecretBox

PROVIDER_COLUMNS = "id, name, kind, channel, config, secret, rate_per_minute, enabled, created_at, updated_at"
TEMPLATE_COLUMNS = "id, name, language, channel, subject, body, status, findings, created_at, updated_at"


def box(kernel: scrm.Kernel) -> SecretBox:
    return SecretBox(kernel.settings.secret_key)


# --- providers -----------------------------------------------------------------------------------


def _provider(row: Any) -> ProviderOut:
    return ProviderOut(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        channel=row["channel"],
        config=json.loads(row["config"]),
        has_secret=bool(row["secret"]),
        rate_per_minute=row["rate_per_minute"],
        enabled=bool(row["enabled"]),
        created_at=scrm.as_datetime(row["created_at"]),
        updated_at=scrm.as_datetime(row["updated_at"]),
    )


async def _config(kernel: scrm.Kernel, kind: str, given: dict[str, Any]) -> dict[str, Any]:
    """The provider's configuration with defaults filled in; 422 naming each missing or unknown field."""
    fields = {f.name: f for f in KINDS[kind].fields}
    errors = [
        scrm.field_error(f"config.{name}", "not a field of this provider kind") for name in given if name not in fields
    ]
    config: dict[str, Any] = {}
    for name, spec in fields.items():
        value = given.get(name, spec.default)
        if value is None or value == "":
            if spec.required:
                errors.append(scrm.field_error(f"config.{name}", "required"))
            config[name] = value if value is not None else ""
            continue
        if spec.kind is int:
            if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdecimal():
                errors.append(scrm.field_error(f"config.{name}", "must be a whole number"))
                continue
            value = int(value)
        elif not isinstance(value, str) or len(value) > 500:
            errors.append(scrm.field_error(f"config.{name}", "must be a text of at most 500 characters"))
            continue
        config[name] = value
    if kind == "smtp" and config.get("security") not in ("starttls", "tls", "none"):
        errors.append(scrm.field_error("config.security", "must be starttls, tls or none"))
    for name in ("base_url", "url"):  # http(s), and an address the outbound guard lets scrm reach
        if isinstance(config.get(name), str) and config[name]:
            refused = await kernel.outbound.refusal(config[name])
            if refused is not None:
                errors.append(scrm.field_error(f"config.{name}", refused))
    if errors:
        raise scrm.invalid_fields(errors)
    return config


async def create_provider(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: ProviderIn) -> ProviderOut:
    config = await _config(kernel, data.kind, data.config)
    at = datetime.now(UTC)
    async with kernel.db.transaction(on_duplicate=scrm.Conflict(f"A provider named {data.name!r} exists")):
        rows = await kernel.sql.fetch(
            "INSERT INTO channels_provider (workspace, name, kind, channel, config, secret, rate_per_minute, enabled, "
            f"created_at, updated_at) VALUES ({{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}) RETURNING {PROVIDER_COLUMNS}",
            ws.id,
            data.name,
            data.kind,
            KINDS[data.kind].channel,
            json.dumps(config),
            box(kernel).seal(data.secret),
            data.rate_per_minute,
            data.enabled,
            at,
            at,
        )
    return _provider(rows[0])


async def _provider_row(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, provider_id: int) -> Any:
    rows = await kernel.sql.fetch(
        f"SELECT {PROVIDER_COLUMNS} FROM channels_provider WHERE id = {{}} AND workspace = {{}}", provider_id, ws.id
    )
    if not rows:
        raise scrm.NotFound(f"No provider {provider_id} in this workspace")
    return rows[0]


async def get_provider(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, provider_id: int) -> ProviderOut:
    return _provider(await _provider_row(kernel, ws, provider_id))


async def list_providers(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> list[ProviderOut]:
    rows = await kernel.sql.fetch(
        f"SELECT {PROVIDER_COLUMNS} FROM channels_provider WHERE workspace = {{}} ORDER BY name", ws.id
    )
    return [_provider(r) for r in rows]


async def update_provider(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, provider_id: int, data: ProviderPatch
) -> ProviderOut:
    row = await _provider_row(kernel, ws, provider_id)
    changes = scrm.sent_fields(data)
    config = json.loads(row["config"])
    if "config" in changes:
        config = await _config(kernel, row["kind"], {**config, **changes["config"]})
    secret = box(kernel).seal(changes["secret"]) if "secret" in changes else row["secret"]
    rows = await kernel.sql.fetch(
        "UPDATE channels_provider SET config = {}, secret = {}, rate_per_minute = {}, enabled = {}, updated_at = {} "
        f"WHERE id = {{}} AND workspace = {{}} RETURNING {PROVIDER_COLUMNS}",
        json.dumps(config),
        secret,
        changes.get("rate_per_minute", row["rate_per_minute"]),
        changes.get("enabled", bool(row["enabled"])),
        datetime.now(UTC),
        provider_id,
        ws.id,
    )
    return _provider(rows[0])


async def delete_provider(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, provider_id: int) -> None:
    await _provider_row(kernel, ws, provider_id)
    await kernel.sql.fetch("DELETE FROM channels_provider WHERE id = {} AND workspace = {}", provider_id, ws.id)


# --- templates -----------------------------------------------------------------------------------


def _template(row: Any) -> TemplateOut:
    return TemplateOut(
        id=row["id"],
        name=row["name"],
        language=row["language"],
        channel=row["channel"],
        subject=row["subject"],
        body=row["body"],
        status=row["status"],
        findings=msgspec.json.decode(row["findings"], type=list[FindingOut]),
        created_at=scrm.as_datetime(row["created_at"]),
        updated_at=scrm.as_datetime(row["updated_at"]),
    )


async def _moderate(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, subject: str, body: str) -> tuple[str, str]:
    """(status, findings JSON) of a template's text: ``held`` when ``scrm_moderate`` finds anything."""
    findings = await kernel.moderation.check(ws, text=f"{subject}\n{body}")
    out = [FindingOut(category=f.category, severity=f.severity, term=f.term) for f in findings]
    return ("held" if out else "approved"), msgspec.json.encode(out).decode()


async def create_template(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: TemplateIn) -> TemplateOut:
    render.check("subject", data.subject)
    render.check("body", data.body)
    status, findings = await _moderate(kernel, ws, data.subject, data.body)
    at = datetime.now(UTC)
    duplicate = scrm.Conflict(f"A template {data.name!r} in {data.language!r} exists")
    async with kernel.db.transaction(on_duplicate=duplicate):
        rows = await kernel.sql.fetch(
            "INSERT INTO channels_template (workspace, name, language, channel, subject, body, status, findings, "
            f"created_at, updated_at) VALUES ({{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}) RETURNING {TEMPLATE_COLUMNS}",
            ws.id,
            data.name,
            data.language,
            data.channel,
            data.subject,
            data.body,
            status,
            findings,
            at,
            at,
        )
    return _template(rows[0])


async def _template_row(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, template_id: int) -> Any:
    rows = await kernel.sql.fetch(
        f"SELECT {TEMPLATE_COLUMNS} FROM channels_template WHERE id = {{}} AND workspace = {{}}", template_id, ws.id
    )
    if not rows:
        raise scrm.NotFound(f"No template {template_id} in this workspace")
    return rows[0]


async def get_template(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, template_id: int) -> TemplateOut:
    return _template(await _template_row(kernel, ws, template_id))


async def list_templates(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> list[TemplateOut]:
    rows = await kernel.sql.fetch(
        f"SELECT {TEMPLATE_COLUMNS} FROM channels_template WHERE workspace = {{}} ORDER BY name, language", ws.id
    )
    return [_template(r) for r in rows]


async def update_template(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, template_id: int, data: TemplatePatch
) -> TemplateOut:
    row = await _template_row(kernel, ws, template_id)
    changes = scrm.sent_fields(data)
    subject, body = changes.get("subject", row["subject"]), changes.get("body", row["body"])
    render.check("subject", subject)
    render.check("body", body)
    status, findings = await _moderate(kernel, ws, subject, body)
    rows = await kernel.sql.fetch(
        "UPDATE channels_template SET subject = {}, body = {}, status = {}, findings = {}, updated_at = {} "
        f"WHERE id = {{}} AND workspace = {{}} RETURNING {TEMPLATE_COLUMNS}",
        subject,
        body,
        status,
        findings,
        datetime.now(UTC),
        template_id,
        ws.id,
    )
    return _template(rows[0])


async def delete_template(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, template_id: int) -> None:
    await _template_row(kernel, ws, template_id)
    await kernel.sql.fetch("DELETE FROM channels_template WHERE id = {} AND workspace = {}", template_id, ws.id)


async def template_for(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, name: str, language: str | None
) -> tuple[TemplateOut, int]:
    """The template ``name`` in the member's ``language``, else in English, else its first language,
    and the enabled provider of its channel that sends it (the oldest, when several) — one statement
    on the send path. 404 when the workspace has no template of that name, 409 when it is held by
    moderation, or when its channel has no enabled provider."""
    rows = await kernel.sql.fetch(
        f"SELECT {TEMPLATE_COLUMNS}, (SELECT p.id FROM channels_provider p WHERE p.workspace = t.workspace "
        "AND p.channel = t.channel AND p.enabled ORDER BY p.id LIMIT 1) AS provider_id "
        "FROM channels_template t WHERE workspace = {} AND name = {} "
        "ORDER BY CASE WHEN language = {} THEN 0 WHEN language = 'en' THEN 1 ELSE 2 END, id LIMIT 1",
        ws.id,
        name,
        language or "en",
    )
    if not rows:
        raise scrm.NotFound(f"No template named {name!r} in this workspace")
    chosen = _template(rows[0])
    if chosen.status != "approved":
        raise TemplateHeld(f"The template {name!r} ({chosen.language}) is held by moderation")
    if rows[0]["provider_id"] is None:
        raise NoProvider(f"No enabled {chosen.channel} provider in this workspace")
    return chosen, int(rows[0]["provider_id"])
