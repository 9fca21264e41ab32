"""Workspaces (tenants) and the plugins switched on in each."""

from __future__ import annotations

import builtins
import re
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec import UNSET
from scrm.params import MAX_ID
from scrm.problems import NotFound, ValidationFailed, duplicate, field_error
from scrm.schemas import PluginOut, WorkspaceCreate, WorkspaceOut, WorkspaceUpdate
from scrm.services.context import WorkspaceRef
from scrm.services.values import json_value, now, timestamp

if TYPE_CHECKING:
    from scrm.kernel import Kernel

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


def _check_time_zone(tz: str) -> None:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"time_zone: unknown time zone {tz!r}",
            errors=[field_error("time_zone", "not an IANA time zone such as Asia/Shanghai")],
        ) from None


class Workspaces:
    """Create, find, change and delete workspaces; enable and disable plugins in them."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    @staticmethod
    def slugify(name: str) -> str:
        """A slug for a workspace name (``"Acme Coffee"`` → ``"acme-coffee"``), or ``""`` when the
        name makes no usable one: what ``scrm workspaces create`` and the console's form default to."""
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63].strip("-")
        return slug if SLUG.match(slug) else ""

    async def create(self, data: WorkspaceCreate) -> WorkspaceOut:
        _check_time_zone(data.time_zone)
        async with self.k.db.transaction(on_duplicate=duplicate("slug", f"A workspace {data.slug!r} already exists")):
            rows = await self.k.db.fetch(
                "INSERT INTO scrm_workspace (slug, name, time_zone, created_at) VALUES ({}, {}, {}, {}) RETURNING id",
                data.slug,
                data.name,
                data.time_zone,
                now(),
            )
            await self.k.consents.seed_purposes(rows[0]["id"])
        return await self.get(data.slug)

    async def get(self, ident: str | int, by_name: bool = False) -> WorkspaceOut:
        """A workspace by slug or id — or, with ``by_name`` (the CLI's convenience), exact name."""
        rows = await self._find(ident, by_name)
        if not rows:
            raise NotFound(f"No workspace {ident!r}")
        return _to_workspace(rows[0])

    async def _find(self, ident: str | int, by_name: bool) -> builtins.list[dict[str, Any]]:
        cols = "SELECT id, slug, name, time_zone, created_at FROM scrm_workspace"
        if isinstance(ident, int) or ident.isdecimal():
            if int(ident) > MAX_ID:
                return []
            return await self.k.db.fetch(f"{cols} WHERE id = {{}}", int(ident))
        rows = await self.k.db.fetch(f"{cols} WHERE slug = {{}}", ident)
        if rows or not by_name:
            return rows
        by_names = await self.k.db.fetch(f"{cols} WHERE name = {{}} ORDER BY id LIMIT 2", ident)
        return by_names if len(by_names) == 1 else []

    async def list(self) -> builtins.list[WorkspaceOut]:
        rows = await self.k.db.fetch("SELECT id, slug, name, time_zone, created_at FROM scrm_workspace ORDER BY id")
        return [_to_workspace(r) for r in rows]

    async def update(self, slug: str, data: WorkspaceUpdate) -> WorkspaceOut:
        ws = await self.get(slug)
        values: dict[str, Any] = {}
        if data.name is not UNSET:
            values["name"] = data.name
        if data.time_zone is not UNSET:
            _check_time_zone(data.time_zone)
            values["time_zone"] = data.time_zone
        if values:
            async with self.k.db.transaction():
                sets = ", ".join(f"{k} = {{}}" for k in values)
                await self.k.db.fetch(f"UPDATE scrm_workspace SET {sets} WHERE id = {{}}", *values.values(), ws.id)
            self.k.forget_cached()
        return await self.get(ws.id)

    async def delete(self, slug: str) -> None:
        """Delete a workspace and everything in it: the database cascades through the core's tables,
        and every installed plugin deletes its own rows (``scrm_workspace_deleted``)."""
        ws = await self.ref(slug)
        async with self.k.db.transaction():
            await self.k.db.fetch("DELETE FROM scrm_workspace WHERE id = {}", ws.id)
            for table in (
                "scrm_moderation_term",
                "scrm_contact_refusal",
                "scrm_oauth_code",
                "scrm_oauth_token",
                "scrm_oauth_app",
            ):
                # no foreign key: by hand
                await self.k.db.fetch(f"DELETE FROM {table} WHERE workspace = {{}}", ws.id)
        self.k.forget_cached()
        await self.k.plugins.notify("scrm_workspace_deleted", workspace=ws, kernel=self.k)

    async def ref(self, ident: str | int, by_name: bool = False) -> WorkspaceRef:
        """The :class:`WorkspaceRef` services act in, with the plugins enabled there."""
        ws = await self.get(ident, by_name)
        rows = await self.k.db.fetch(
            "SELECT plugin FROM scrm_workspace_plugin WHERE workspace = {} AND enabled = {}", ws.id, True
        )
        installed = self.k.plugins.plugins
        return WorkspaceRef(
            id=ws.id,
            slug=ws.slug,
            name=ws.name,
            time_zone=ws.time_zone,
            enabled_plugins=frozenset(r["plugin"] for r in rows if r["plugin"] in installed),
        )

    # --- plugins in a workspace -----------------------------------------------------------------

    async def plugins(self, ws: WorkspaceRef) -> builtins.list[PluginOut]:
        """Every installed plugin with whether it is enabled here and its settings here."""
        rows = await self.k.db.fetch(
            "SELECT plugin, enabled, settings FROM scrm_workspace_plugin WHERE workspace = {}", ws.id
        )
        state = {r["plugin"]: r for r in rows}
        out = []
        for name, plugin in sorted(self.k.plugins.plugins.items()):
            row = state.get(name)
            m = plugin.manifest
            out.append(
                PluginOut(
                    name=name,
                    version=m.version,
                    description=m.description,
                    distribution=plugin.distribution,
                    core=m.core,
                    scopes=list(m.scopes),
                    hooks=plugin.hooks,
                    enabled=bool(row and row["enabled"]),
                    settings=json_value(row["settings"]) if row else {},
                    settings_schema=plugin.settings_schema.json_schema if plugin.settings_schema else None,
                )
            )
        return out

    async def plugin(self, ws: WorkspaceRef, name: str) -> PluginOut:
        for plugin in await self.plugins(ws):
            if plugin.name == name:
                return plugin
        raise NotFound(f"No plugin {name!r} is installed")

    async def set_plugin(
        self, ws: WorkspaceRef, name: str, enabled: bool, settings: dict[str, Any] | None
    ) -> PluginOut:
        """Switch a plugin on or off here (and replace its settings when given, checked against the
        plugin's settings schema: a 422 names ``settings.<field>``)."""
        if name not in self.k.plugins.plugins:
            raise NotFound(
                f"No plugin {name!r} is installed",
                errors=[field_error("name", "not installed")],
            )
        if settings is not None:
            settings = self.k.plugins.plugins[name].validate_settings(settings)
        settings_json = msgspec.json.encode(settings).decode() if settings is not None else None
        keep_settings = "" if settings_json is None else ", settings = excluded.settings"
        async with self.k.db.transaction():
            await self.k.db.fetch(
                "INSERT INTO scrm_workspace_plugin (workspace, plugin, enabled, settings, updated_at) "
                "VALUES ({}, {}, {}, {}, {}) ON CONFLICT (workspace, plugin) DO UPDATE "
                f"SET enabled = excluded.enabled, updated_at = excluded.updated_at{keep_settings}",
                ws.id,
                name,
                enabled,
                settings_json or "{}",
                now(),
            )
        self.k.forget_cached()
        result = await self.plugin(ws, name)
        if enabled:
            fresh = await self.ref(ws.id)
            await self.k.plugins.notify(
                "scrm_workspace_enabled", [name], workspace=fresh, settings=result.settings, kernel=self.k
            )
        return result


def _to_workspace(row: dict[str, Any]) -> WorkspaceOut:
    return WorkspaceOut(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        time_zone=row["time_zone"],
        created_at=timestamp(row["created_at"]),
    )
