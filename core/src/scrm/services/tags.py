"""Tags: a workspace's labels and which members carry them.

Assigning a tag by name creates it if the workspace does not have it yet, so API clients and
importers need no second call; every actual change is reported through ``scrm_tags_changed``.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from msgspec import UNSET
from scrm.problems import Conflict, NotFound, duplicate
from scrm.schemas import BulkTagChange, BulkTagResult, TagChange, TagCreate, TagOut, TagUpdate
from scrm.services.context import WorkspaceRef
from scrm.services.events import NewEvent
from scrm.services.values import now, timestamp

if TYPE_CHECKING:
    from scrm.kernel import Kernel

_TAG_COLUMNS = (
    "t.id, t.name, t.group_name, t.description, t.created_at, "
    "(SELECT COUNT(*) FROM scrm_member_tag mt WHERE mt.tag = t.id) AS member_count"
)


def _placeholders(n: int) -> str:
    return ", ".join(["{}"] * n)


class Tags:
    """Workspace tags and member tagging."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    async def list(self, ws: WorkspaceRef, group: str | None = None) -> builtins.list[TagOut]:
        where, args = ("", []) if group is None else (" AND t.group_name = {}", [group])
        rows = await self.k.db.fetch(
            f"SELECT {_TAG_COLUMNS} FROM scrm_tag t WHERE t.workspace = {{}}{where} ORDER BY t.name",
            ws.id,
            *args,
        )
        return [_to_tag(r) for r in rows]

    async def names(self, ws: WorkspaceRef) -> builtins.list[str]:
        """The workspace's tag names, sorted: what a picker offers, without the member counts that
        :meth:`list` computes (they count every tag link of the workspace)."""
        rows = await self.k.db.fetch("SELECT name FROM scrm_tag WHERE workspace = {} ORDER BY name", ws.id)
        return [r["name"] for r in rows]

    async def get(self, ws: WorkspaceRef, name: str) -> TagOut:
        rows = await self.k.db.fetch(
            f"SELECT {_TAG_COLUMNS} FROM scrm_tag t WHERE t.workspace = {{}} AND t.name = {{}}", ws.id, name
        )
        if not rows:
            raise NotFound(f"No tag {name!r} in this workspace")
        return _to_tag(rows[0])

    async def create(self, ws: WorkspaceRef, data: TagCreate) -> TagOut:
        async with self.k.db.transaction(on_duplicate=duplicate("name", f"Tag {data.name!r} already exists")):
            await self.k.db.fetch(
                "INSERT INTO scrm_tag (workspace, name, group_name, description, created_at) VALUES ({}, {}, {}, {}, {})",
                ws.id,
                data.name,
                data.group,
                data.description,
                now(),
            )
        return await self.get(ws, data.name)

    async def update(self, ws: WorkspaceRef, name: str, data: TagUpdate) -> TagOut:
        values: dict[str, Any] = {}
        if data.group is not UNSET:
            values["group_name"] = data.group
        if data.description is not UNSET:
            values["description"] = data.description
        if values:
            async with self.k.db.transaction():
                sets = ", ".join(f"{k} = {{}}" for k in values)
                rows = await self.k.db.fetch(
                    f"UPDATE scrm_tag SET {sets} WHERE workspace = {{}} AND name = {{}} RETURNING id",
                    *values.values(),
                    ws.id,
                    name,
                )
            if not rows:
                raise NotFound(f"No tag {name!r} in this workspace")
        return await self.get(ws, name)

    async def delete(self, ws: WorkspaceRef, name: str) -> None:
        """Delete a tag and take it off every member (reported as a change for each of them)."""
        async with self.k.db.transaction():
            tag_ids = await self.ids(ws, [name])
            if not tag_ids:
                raise NotFound(f"No tag {name!r} in this workspace")
            tag_id = tag_ids[name]
            members = await self.k.db.fetch(
                "DELETE FROM scrm_member_tag WHERE workspace = {} AND tag = {} RETURNING member",
                ws.id,
                tag_id,
            )
            await self.k.db.fetch("DELETE FROM scrm_tag WHERE workspace = {} AND id = {}", ws.id, tag_id)
            changes = [TagChange(member_id=row["member"], added=[], removed=[name]) for row in members]
            await self.record(ws, changes)
        for change in changes:
            await self.notify(ws, change)

    async def ids(self, ws: WorkspaceRef, names: Iterable[str]) -> dict[str, int]:
        """The ids of those of ``names`` that exist in the workspace."""
        wanted = sorted(set(names))
        if not wanted:
            return {}
        rows = await self.k.db.fetch(
            f"SELECT id, name FROM scrm_tag WHERE workspace = {{}} AND name IN ({_placeholders(len(wanted))})",
            ws.id,
            *wanted,
        )
        return {r["name"]: r["id"] for r in rows}

    async def ensure(self, ws: WorkspaceRef, names: Iterable[str]) -> dict[str, int]:
        """The ids of ``names``, creating the tags that do not exist yet (safe under races)."""
        wanted = sorted(set(names))
        at = now()
        for name in wanted:
            await self.k.db.fetch(
                "INSERT INTO scrm_tag (workspace, name, group_name, description, created_at) "
                "VALUES ({}, {}, NULL, '', {}) ON CONFLICT (workspace, name) DO NOTHING",
                ws.id,
                name,
                at,
            )
        return await self.ids(ws, wanted)

    async def attach(
        self, ws: WorkspaceRef, member_ids: Sequence[int], names: Iterable[str]
    ) -> builtins.list[tuple[int, str]]:
        """Tag members (inside the caller's transaction); returns the (member, tag) pairs added."""
        tag_ids = await self.ensure(ws, names)
        added: builtins.list[tuple[int, str]] = []
        at = now()
        for name, tag_id in tag_ids.items():
            for member_id in member_ids:
                rows = await self.k.db.fetch(
                    "INSERT INTO scrm_member_tag (workspace, member, tag, created_at) VALUES ({}, {}, {}, {}) "
                    "ON CONFLICT (member, tag) DO NOTHING RETURNING member",
                    ws.id,
                    member_id,
                    tag_id,
                    at,
                )
                if rows:
                    added.append((member_id, name))
        return added

    async def detach(
        self, ws: WorkspaceRef, member_ids: Sequence[int], names: Iterable[str]
    ) -> builtins.list[tuple[int, str]]:
        """Untag members (inside the caller's transaction); returns the (member, tag) pairs removed."""
        tag_ids = await self.ids(ws, names)
        removed: builtins.list[tuple[int, str]] = []
        for name, tag_id in tag_ids.items():
            rows = await self.k.db.fetch(
                f"DELETE FROM scrm_member_tag WHERE workspace = {{}} AND tag = {{}} "
                f"AND member IN ({_placeholders(len(member_ids))}) RETURNING member",
                ws.id,
                tag_id,
                *member_ids,
            )
            removed += [(r["member"], name) for r in rows]
        return removed

    async def change(self, ws: WorkspaceRef, member_id: int, add: Sequence[str], remove: Sequence[str]) -> TagChange:
        """Add and remove tags on one member in one transaction."""
        result = await self.bulk_change(ws, BulkTagChange(member_ids=[member_id], add=list(add), remove=list(remove)))
        return result[0] if result else TagChange(member_id=member_id, added=[], removed=[])

    async def bulk(self, ws: WorkspaceRef, data: BulkTagChange) -> BulkTagResult:
        changes = await self.bulk_change(ws, data)
        return BulkTagResult(
            members=len({c.member_id for c in changes}) if changes else len(await self._resolve(ws, data)),
            added=sum(len(c.added) for c in changes),
            removed=sum(len(c.removed) for c in changes),
        )

    async def bulk_change(self, ws: WorkspaceRef, data: BulkTagChange) -> builtins.list[TagChange]:
        overlap = set(data.add) & set(data.remove)
        if overlap:
            raise Conflict(f"Tags both added and removed: {', '.join(sorted(overlap))}")
        async with self.k.db.transaction():
            member_ids = await self._resolve(ws, data)
            added = await self.attach(ws, member_ids, data.add) if data.add else []
            removed = await self.detach(ws, member_ids, data.remove) if data.remove else []
            by_member: dict[int, TagChange] = {}
            for member_id, name in added:
                by_member.setdefault(member_id, TagChange(member_id, [], [])).added.append(name)
            for member_id, name in removed:
                by_member.setdefault(member_id, TagChange(member_id, [], [])).removed.append(name)
            await self.record(ws, by_member.values())
        for change in by_member.values():
            await self.notify(ws, change)
        return list(by_member.values())

    async def _resolve(self, ws: WorkspaceRef, data: BulkTagChange) -> builtins.list[int]:
        """Member ids from ids and external ids; every one must exist (and not be erased) here."""
        found: set[int] = set()
        if data.member_ids:
            ids = sorted(set(data.member_ids))
            rows = await self.k.db.fetch(
                f"SELECT id FROM scrm_member WHERE workspace = {{}} AND status <> 'erased' "
                f"AND id IN ({_placeholders(len(ids))})",
                ws.id,
                *ids,
            )
            missing = set(ids) - {r["id"] for r in rows}
            if missing:
                raise NotFound(f"No member {min(missing)} in this workspace", missing=sorted(missing)[:100])
            found |= set(ids)
        if data.external_ids:
            ext = sorted(set(data.external_ids))
            rows = await self.k.db.fetch(
                f"SELECT id, external_id FROM scrm_member WHERE workspace = {{}} "
                f"AND external_id IN ({_placeholders(len(ext))})",
                ws.id,
                *ext,
            )
            missing_ext = set(ext) - {r["external_id"] for r in rows}
            if missing_ext:
                raise NotFound(
                    f"No member with external_id {min(missing_ext)!r} in this workspace",
                    missing=sorted(missing_ext)[:100],
                )
            found |= {r["id"] for r in rows}
        return sorted(found)

    async def record(self, ws: WorkspaceRef, changes: Iterable[TagChange]) -> None:
        """Record ``tags.changed`` events for these changes (inside the caller's transaction)."""
        await self.k.events.record(
            ws,
            [NewEvent(c.member_id, "tags.changed", {"added": c.added, "removed": c.removed}) for c in changes],
        )

    async def notify(self, ws: WorkspaceRef, change: TagChange) -> None:
        """Tell the workspace's plugins about a committed tag change (``scrm_tags_changed``)."""
        await self.k.plugins.notify(
            "scrm_tags_changed",
            ws.enabled_plugins,
            workspace=ws,
            member_id=change.member_id,
            added=change.added,
            removed=change.removed,
            kernel=self.k,
        )


def _to_tag(row: dict[str, Any]) -> TagOut:
    return TagOut(
        id=row["id"],
        name=row["name"],
        group=row["group_name"],
        description=row["description"],
        member_count=int(row["member_count"]),
        created_at=timestamp(row["created_at"]),
    )
