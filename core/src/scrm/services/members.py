"""Members: the people in a workspace. The public service routes, the importer and plugins use.

Reads are one SQL statement each (tags come along in a correlated subquery) so a member lookup costs
one round trip; every statement is scoped by workspace.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import UNSET
from scrm.db import prefix_pattern
from scrm.groupcommit import GroupCommit
from scrm.pagination import MAX_LIMIT, Page
from scrm.problems import NotFound, ValidationFailed, duplicate, field_error, invalid
from scrm.schemas import (
    MAX_ATTRIBUTES_BYTES,
    EventOut,
    MemberCreate,
    MemberExport,
    MemberOut,
    MemberRef,
    MemberUpdate,
    TagChange,
)
from scrm.services.context import WorkspaceRef
from scrm.services.events import CORE_TYPE_PREFIXES, NewEvent, to_event
from scrm.services.values import json_value, now, timestamp

if TYPE_CHECKING:
    from scrm.kernel import Kernel

ATTRIBUTE_FILTER_KEY = re.compile(r"^[A-Za-z0-9_]{1,64}$")
#: what an attribute filter's key may be, as a 422 says it (the console shows it translated)
ATTRIBUTE_KEY_RULE = "the key has letters, digits and _ only"
_decode = msgspec.json.Decoder()
_encode = msgspec.json.Encoder()


@dataclass(frozen=True)
class MemberCondition:
    """A condition on members written in SQL by a plugin (the answer of ``scrm_member_segment``):
    ``sql`` tests the member row ``m`` (``scrm_member``) with ``{}`` placeholders bound to ``args``,
    in order. It is ANDed into the listing's WHERE clause, so it must be self-contained (subqueries,
    not joins) and scoped by workspace itself."""

    sql: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class MemberFilter:
    """What a member listing is narrowed by; every condition must hold."""

    tags: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()
    status: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    active_after: datetime | None = None  # an engagement event at or after this time
    inactive_since: datetime | None = None  # no engagement event at or after this time (or none ever)
    q: str | None = None  # the external id, a display-name prefix (any case) or a channel identity's value
    segment: int | None = None  # in this saved segment: a plugin answering ``scrm_member_segment`` decides


def check_attributes_size(attributes: dict[str, Any], field: str = "attributes") -> None:
    if len(_encode.encode(attributes)) > MAX_ATTRIBUTES_BYTES:
        raise ValidationFailed(
            f"{field}: at most {MAX_ATTRIBUTES_BYTES} bytes of JSON",
            errors=[field_error(field, f"larger than {MAX_ATTRIBUTES_BYTES} bytes")],
        )


class Members:
    """Create, read, update, erase and list members of a workspace."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        d = kernel.db.dialect
        self.columns = (
            "m.id, m.external_id, m.display_name, m.status, m.identities, m.attributes, m.created_at, m.updated_at, "
            "m.last_active_at, "
            f"(SELECT {d.json_array_agg('t.name')} FROM scrm_member_tag mt JOIN scrm_tag t ON t.id = mt.tag "
            "WHERE mt.member = m.id) AS tags"
        )

    async def get(self, ws: WorkspaceRef, member_id: int) -> MemberOut:
        rows = await self.k.db.fetch(
            f"SELECT {self.columns} FROM scrm_member m WHERE m.id = {{}} AND m.workspace = {{}}",
            member_id,
            ws.id,
        )
        if not rows:
            raise NotFound(f"No member {member_id} in this workspace")
        return to_member(rows[0])

    async def get_by_external_id(self, ws: WorkspaceRef, external_id: str) -> MemberOut:
        rows = await self.k.db.fetch(
            f"SELECT {self.columns} FROM scrm_member m WHERE m.workspace = {{}} AND m.external_id = {{}}",
            ws.id,
            external_id,
        )
        if not rows:
            raise NotFound(f"No member with external_id {external_id!r} in this workspace")
        return to_member(rows[0])

    @staticmethod
    def ref(member_id: int | None, external_id: str | None) -> MemberRef:
        """The member a request body names by ``member_id`` or ``external_id``; both or neither is a
        422 naming ``member_id`` (how the plugins' entries, ballots and votes name their member)."""
        if (member_id is None) == (external_id is None):
            raise invalid("member_id", "give either member_id or external_id")
        return MemberRef(member_id=member_id, external_id=external_id)

    async def by_ref(self, ws: WorkspaceRef, ref: MemberRef) -> MemberOut:
        """The member ``ref`` names; one not in this workspace is a 422 naming the field it was named
        by (a request's input, not a missing resource: hence not a 404)."""
        try:
            if ref.member_id is not None:
                return await self.get(ws, ref.member_id)
            return await self.get_by_external_id(ws, ref.external_id or "")
        except NotFound:
            named = "member_id" if ref.member_id is not None else "external_id"
            raise invalid(named, "no such member in this workspace") from None

    async def _named(self, ws: WorkspaceRef, ids: set[int], external_ids: set[str], columns: str) -> builtins.list[Any]:
        """``columns`` of this workspace's members (``m``) with one of ``ids`` or ``external_ids``."""
        d = self.k.db.dialect
        by_id, id_arg = d.any_of("m.id", ids, "bigint")
        by_external, external_arg = d.any_of("m.external_id", external_ids, "text")
        return await self.k.db.fetch(
            f"SELECT {columns} FROM scrm_member m WHERE m.workspace = {{}} AND ({by_id} OR {by_external})",
            ws.id,
            id_arg,
            external_arg,
        )

    async def lookup(self, ws: WorkspaceRef, refs: Sequence[MemberRef]) -> builtins.list[MemberOut | None]:
        """The member each reference names (by ``member_id`` or ``external_id``), in order, or None
        where it names no member of this workspace — in one statement, whatever the number of refs.

        For a group commit's batch that needs its requests' members (see ``GroupCommit``): it reads
        them all at once instead of each request reading its own before joining the batch. It raises
        nothing; a caller says what a missing or unfit member means to it."""
        ids = {ref.member_id for ref in refs if ref.member_id is not None}
        external_ids = {ref.external_id for ref in refs if ref.external_id is not None}
        if not ids and not external_ids:
            return [None] * len(refs)
        rows = await self._named(ws, ids, external_ids, self.columns)
        members = [to_member(row) for row in rows]
        by_ids = {m.id: m for m in members}
        by_externals = {m.external_id: m for m in members if m.external_id is not None}
        return [
            by_ids.get(ref.member_id) if ref.member_id is not None else by_externals.get(ref.external_id or "")
            for ref in refs
        ]

    async def create(self, ws: WorkspaceRef, data: MemberCreate) -> MemberOut:
        """Create one member: a 409 when its external id is taken. On PostgreSQL, outside a
        transaction, creations arriving at once share a statement and a transaction
        (:data:`CREATIONS`); each still gets its own member or its own problem."""
        check_attributes_size(data.attributes)
        member = await CREATIONS.submit(self.k, (ws, data))
        await self.announce(ws, member)
        return member

    async def create_many(self, ws: WorkspaceRef, items: Sequence[MemberCreate]) -> builtins.list[MemberOut | None]:
        """Write new members in one transaction (the caller's, if open): the rows (on PostgreSQL in
        one statement), their tags, their ``member.created`` events (one statement, with the outbox
        row) and an audit note for each. Returns each member in order, or None for one whose
        external id is taken (nothing of it written). Plugins are not told: call :meth:`announce`
        for each member once the transaction committed.

        In a group commit's batch (:class:`scrm.GroupCommit`) ``items`` are the batch's items, in
        order: item ``i``'s audit note goes to the batch's request ``i``."""
        for data in items:
            check_attributes_size(data.attributes)
        at = now()
        async with self.k.db.transaction():
            ids = await self._insert(ws, items, at)
            names = sorted(
                {name for data, member_id in zip(items, ids, strict=True) if member_id for name in data.tags}
            )
            if names:  # made first, in one order, so that two batches creating tags cannot deadlock
                await self.k.tags.ensure(ws, names)
            created: dict[int, builtins.list[str]] = {}  # each created member's tags
            for index, (data, member_id) in enumerate(zip(items, ids, strict=True)):
                if member_id is None:
                    continue
                created[member_id] = (
                    [n for _, n in await self.k.tags.attach(ws, [member_id], data.tags)] if data.tags else []
                )
                # the trail says which fields were given, never their (personal) values
                given = [f for f in ("external_id", "display_name", "identities", "attributes") if getattr(data, f)]
                summary = {"fields": given, "status": data.status, "tags": data.tags}
                self.k.audit.note("member", member_id, summary, item=index)
            if created:
                await self.k.events.record(
                    ws, [NewEvent(member_id, "member.created", {"tags": tags}) for member_id, tags in created.items()]
                )
        return [
            None
            if member_id is None
            else MemberOut(
                id=member_id,
                external_id=data.external_id,
                display_name=data.display_name,
                status=data.status,
                identities=data.identities,
                attributes=data.attributes,
                tags=sorted(created[member_id]),
                created_at=at,
                updated_at=at,
            )
            for data, member_id in zip(items, ids, strict=True)
        ]

    async def _insert(self, ws: WorkspaceRef, items: Sequence[MemberCreate], at: datetime) -> builtins.list[int | None]:
        """Insert member rows: each one's id, or None where the external id is taken. PostgreSQL:
        one statement (ids drawn first, so each input row knows its own); SQLite: one each, under
        its write lock."""
        values = [
            (
                data.external_id,
                data.display_name,
                data.status,
                _encode.encode(data.identities).decode(),
                _encode.encode(data.attributes).decode(),
            )
            for data in items
        ]
        if self.k.db.dialect.name == "postgres":
            rows = await self.k.db.fetch(
                "WITH input AS (SELECT nextval('scrm_member_id_seq') AS id, x.* FROM unnest("
                "{}::text[], {}::text[], {}::text[], {}::text[], {}::text[]) "
                "WITH ORDINALITY AS x(external_id, display_name, status, identities, attributes, ord)), "
                "inserted AS (INSERT INTO scrm_member (id, workspace, external_id, display_name, status, identities, "
                "attributes, created_at, updated_at) SELECT id, {}, external_id, display_name, status, "
                "identities::jsonb, attributes::jsonb, {}, {} FROM input ORDER BY ord "
                "ON CONFLICT (workspace, external_id) DO NOTHING RETURNING id) "
                "SELECT input.id, inserted.id IS NOT NULL AS created FROM input "
                "LEFT JOIN inserted ON inserted.id = input.id ORDER BY input.ord",
                *(list(column) for column in zip(*values, strict=True)),
                ws.id,
                at,
                at,
            )
            return [row["id"] if row["created"] else None for row in rows]
        ids: builtins.list[int | None] = []
        for value in values:
            rows = await self.k.db.fetch(
                "INSERT INTO scrm_member (workspace, external_id, display_name, status, identities, attributes, "
                "created_at, updated_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}) "
                "ON CONFLICT (workspace, external_id) DO NOTHING RETURNING id",
                ws.id,
                *value,
                at,
                at,
            )
            ids.append(rows[0]["id"] if rows else None)
        return ids

    async def announce(self, ws: WorkspaceRef, member: MemberOut) -> None:
        """Tell the workspace's plugins about a member created (``scrm_member_created``) and tagged
        (``scrm_tags_changed``), after its transaction committed: :meth:`create` does; a plugin that
        wrote members with :meth:`create_many` does it for each."""
        await self.k.plugins.notify(
            "scrm_member_created", ws.enabled_plugins, workspace=ws, member=msgspec.to_builtins(member), kernel=self.k
        )
        if member.tags:
            await self.k.tags.notify(ws, TagChange(member.id, added=member.tags, removed=[]))

    async def update(self, ws: WorkspaceRef, member_id: int, data: MemberUpdate) -> MemberOut:
        changed: builtins.list[str] = []
        conflict = duplicate("external_id", "Another member has this external_id")
        async with self.k.db.transaction(on_duplicate=conflict):
            lock = " FOR UPDATE" if self.k.db.dialect.name == "postgres" else ""
            rows = await self.k.db.fetch(
                "SELECT external_id, display_name, status, identities, attributes FROM scrm_member "
                f"WHERE id = {{}} AND workspace = {{}}{lock}",
                member_id,
                ws.id,
            )
            if not rows or rows[0]["status"] == "erased":
                raise NotFound(f"No member {member_id} in this workspace")
            current = rows[0]
            values: dict[str, Any] = {}
            for field in ("external_id", "display_name", "status"):
                new = getattr(data, field)
                if new is not UNSET and new != current[field]:
                    values[field] = new
            for field in ("identities", "attributes"):
                patch = getattr(data, field)
                if patch is UNSET:
                    continue
                merged = _merge(json_value(current[field]), patch)
                if field == "attributes":
                    check_attributes_size(merged)
                if merged != json_value(current[field]):
                    values[field] = _encode.encode(merged).decode()
            if values:
                changed = sorted(values)
                values["updated_at"] = now()
                assignments = ", ".join(f"{name} = {{}}" for name in values)
                await self.k.db.fetch(
                    f"UPDATE scrm_member SET {assignments} WHERE id = {{}} AND workspace = {{}}",
                    *values.values(),
                    member_id,
                    ws.id,
                )
                await self.k.events.record(ws, [NewEvent(member_id, "member.updated", {"changed": changed})])
                summary: dict[str, Any] = {"changed": changed}
                if "status" in values:
                    summary["status"] = [current["status"], values["status"]]
                self.k.audit.note("member", member_id, summary)
        member = await self.get(ws, member_id)
        if changed:
            await self.k.plugins.notify(
                "scrm_member_updated",
                ws.enabled_plugins,
                workspace=ws,
                member=msgspec.to_builtins(member),
                changed=changed,
                kernel=self.k,
            )
        return member

    async def erase(self, ws: WorkspaceRef, member_id: int) -> None:
        """Erase a member's personal data: the profile, tags, the properties (and idempotency keys)
        of their events, and every plugin's share; the row stays (status ``erased``) so the facts
        that refer to it (events by type and time, consent records) stay consistent."""
        async with self.k.db.transaction():
            rows = await self.k.db.fetch(
                "UPDATE scrm_member SET external_id = NULL, display_name = '', identities = {}, attributes = {}, "
                "status = 'erased', updated_at = {} WHERE id = {} AND workspace = {} AND status <> 'erased' RETURNING id",
                "{}",
                "{}",
                now(),
                member_id,
                ws.id,
            )
            if not rows:
                raise NotFound(f"No member {member_id} in this workspace")
            await self.k.db.fetch("DELETE FROM scrm_member_tag WHERE member = {} AND workspace = {}", member_id, ws.id)
            self.k.audit.note("member", member_id, {"erased": True})
            # event properties are what the member said or did (a comment's text, an order's
            # address) and an idempotency key is the client's own text: both are personal data. The
            # core's own events (member.*, tags.*, consent.*) hold field and tag names only: kept.
            theirs = "e.member = {} AND e.workspace = {} AND " + " AND ".join(
                f"e.type NOT LIKE '{prefix}%'" for prefix in CORE_TYPE_PREFIXES
            )
            await self.k.events.forget_keys(ws, theirs, member_id, ws.id)
            await self.k.db.fetch(
                f"UPDATE scrm_event AS e SET properties = {{}}, idempotency_key = NULL WHERE {theirs}",
                "{}",
                member_id,
                ws.id,
            )
            await self.k.events.record(ws, [NewEvent(member_id, "member.erased")], allow_erased=True)
            # every installed plugin, enabled here or not: one switched off may still hold data
            await self.k.plugins.call("scrm_erase_member", workspace=ws, member_id=member_id, kernel=self.k)
        await self.k.plugins.notify(
            "scrm_member_erased", ws.enabled_plugins, workspace=ws, member_id=member_id, kernel=self.k
        )

    async def export(self, ws: WorkspaceRef, member_id: int) -> MemberExport:
        """Everything held about a member (a data-subject access request): the profile, consent
        records, events oldest first, and every installed plugin's ``scrm_export_member`` share."""
        member = await self.get(ws, member_id)
        rows = await self.k.db.fetch(
            f"SELECT {self.k.events.columns} FROM scrm_event e WHERE e.workspace = {{}} AND e.member = {{}} "
            "ORDER BY e.occurred_at, e.id",
            ws.id,
            member_id,
        )
        return MemberExport(
            member=member,
            consents=await self.k.consents.history(ws, member_id),
            events=[to_event(row) for row in rows],
            plugins=await self.k.plugins.call_each(
                "scrm_export_member", workspace=ws, member_id=member_id, kernel=self.k
            ),
            exported_at=now(),
        )

    async def resolve(self, ws: WorkspaceRef, refs: Sequence[MemberRef], field_prefix: str = "") -> builtins.list[int]:
        """The member id each reference names, in order, in one query.

        A reference naming no member of this workspace, an erased member, or both or neither of
        ``member_id`` and ``external_id`` is a 422 naming every such item (``[3].member_id``;
        ``field_prefix`` goes in front when the items sit inside a larger body).
        """
        ids = {ref.member_id for ref in refs if ref.member_id is not None}
        external_ids = {ref.external_id for ref in refs if ref.external_id is not None}
        found_ids: dict[int, str] = {}
        found_external: dict[str, tuple[int, str]] = {}
        if ids or external_ids:
            rows = await self._named(ws, ids, external_ids, "m.id, m.external_id, m.status")
            for row in rows:
                found_ids[row["id"]] = row["status"]
                if row["external_id"] is not None:
                    found_external[row["external_id"]] = (row["id"], row["status"])
        resolved: builtins.list[int] = []
        errors: builtins.list[dict[str, Any]] = []
        for index, ref in enumerate(refs):
            where = f"{field_prefix}[{index}]"
            if (ref.member_id is None) == (ref.external_id is None):
                errors.append(field_error(f"{where}.member_id", "give member_id or external_id, not both"))
                continue
            if ref.member_id is not None:
                member_id, status, field = ref.member_id, found_ids.get(ref.member_id), "member_id"
            else:
                member_id, status = found_external.get(ref.external_id or "", (0, None))
                field = "external_id"
            if status is None:
                errors.append(field_error(f"{where}.{field}", "no such member in this workspace"))
            elif status == "erased":
                errors.append(field_error(f"{where}.{field}", "the member was erased"))
            else:
                resolved.append(member_id)
        if errors:
            raise ValidationFailed(f"{len(errors)} item(s) name no usable member", errors=errors[:100])
        return resolved

    async def mark_active(self, ws: WorkspaceRef, events: Sequence[EventOut], *, hold: bool = True) -> None:
        """The core's own handler of delivered events: move each member's ``last_active_at`` to their
        latest engagement event (``kernel.events.is_engagement``: any type but the core's and those
        plugins declare passive; a workspace event moves no one). Idempotent, and order does not
        matter: it only ever moves forward.

        On PostgreSQL, with ``hold`` (a plugin handles the delivery), it also holds every member the
        batch names (engaged or not) until the delivery ends, before any plugin's handler runs: an
        erasure (which updates the member's row first) then either waits for the delivery and finds
        what it wrote, or commits first and the handlers see the member erased. Without it a handler
        could write a profile, tag or event for a member erased after it read the row and before it
        committed. Without handlers there is nothing to hold (the lock costs a write per member)."""
        latest: dict[int, datetime | None] = {}
        for event in events:
            if event.member_id is None:
                continue
            at = latest.get(event.member_id)
            if self.k.events.is_engagement(event.type):
                latest[event.member_id] = event.occurred_at if at is None else max(at, event.occurred_at)
            elif hold:
                latest.setdefault(event.member_id, None)
        if not latest:
            return
        if self.k.db.dialect.name == "postgres":
            # the rows locked in id order first: two deliveries at once then wait for each other
            # rather than deadlock (an UPDATE ... FROM locks in whatever order its join runs)
            ids = sorted(latest)
            await self.k.db.fetch(
                "WITH x AS (SELECT * FROM unnest({}::bigint[], {}::timestamptz[]) AS x(id, at)), "
                "l AS MATERIALIZED (SELECT m.id, x.at FROM scrm_member m JOIN x ON m.id = x.id "
                "WHERE m.workspace = {} ORDER BY m.id FOR NO KEY UPDATE OF m) "
                "UPDATE scrm_member m SET last_active_at = l.at FROM l WHERE m.id = l.id "
                "AND (m.last_active_at IS NULL OR m.last_active_at < l.at)",
                ids,
                [latest[i] for i in ids],
                ws.id,
            )
            return
        moved = {member_id: at for member_id, at in latest.items() if at is not None}
        if not moved:
            return
        async with self.k.db.transaction():
            for member_id, moved_at in moved.items():
                await self.k.db.fetch(
                    "UPDATE scrm_member SET last_active_at = {} WHERE id = {} AND workspace = {} "
                    "AND (last_active_at IS NULL OR last_active_at < {})",
                    moved_at,
                    member_id,
                    ws.id,
                    moved_at,
                )

    async def list(self, ws: WorkspaceRef, filters: MemberFilter, cursor: str | None, limit: int) -> Page[MemberOut]:
        after = self.k.cursors.decode("members", cursor)
        limit = max(1, min(limit, MAX_LIMIT))
        where, args = await self._where(ws, filters)
        if where is None:
            return Page(items=[], next_cursor=None)
        rows = await self.k.db.fetch(
            f"SELECT {self.columns} FROM scrm_member m WHERE m.workspace = {{}} AND m.id > {{}}{where} "
            "ORDER BY m.id LIMIT {}",
            ws.id,
            after,
            *args,
            limit + 1,
        )
        items = [to_member(row) for row in rows]
        return self.k.cursors.page("members", items, [m.id for m in items], limit)

    async def names(self, ws: WorkspaceRef, member_ids: Sequence[int]) -> dict[int, str]:
        """What to call each of these members on a page, in one query: the display name, else the
        external id; an erased member (or one not in this workspace) is left out."""
        ids = sorted(set(member_ids))
        if not ids:
            return {}
        condition, arg = self.k.db.dialect.any_of("id", ids, "bigint")
        rows = await self.k.db.fetch(
            f"SELECT id, display_name, external_id FROM scrm_member WHERE workspace = {{}} AND {condition} "
            "AND status <> 'erased'",
            ws.id,
            arg,
        )
        return {
            r["id"]: r["display_name"] or r["external_id"] or "" for r in rows if r["display_name"] or r["external_id"]
        }

    async def count(self, ws: WorkspaceRef, filters: MemberFilter | None = None) -> int:
        where, args = await self._where(ws, filters or MemberFilter())
        if where is None:
            return 0
        rows = await self.k.db.fetch(
            f"SELECT COUNT(*) AS n FROM scrm_member m WHERE m.workspace = {{}}{where}", ws.id, *args
        )
        return int(rows[0]["n"])

    async def _where(self, ws: WorkspaceRef, f: MemberFilter) -> tuple[str | None, builtins.list[Any]]:
        """Extra WHERE conditions for a filter, or None when it can match nobody (an unknown tag)."""
        clauses: builtins.list[str] = []
        args: builtins.list[Any] = []
        if f.tags:
            tag_ids = await self.k.tags.ids(ws, f.tags)
            if len(tag_ids) < len(set(f.tags)):
                return None, []
            for tag_id in tag_ids.values():
                clauses.append("m.id IN (SELECT member FROM scrm_member_tag WHERE tag = {})")
                args.append(tag_id)
        for key, value in f.attributes:
            if not ATTRIBUTE_FILTER_KEY.match(key):
                raise ValidationFailed(
                    f"attribute filter key {key!r}: letters, digits and _ only",
                    errors=[field_error("attribute", ATTRIBUTE_KEY_RULE, "query")],
                )
            sql, sql_args = self.k.db.dialect.json_text_equals("m.attributes", key, value)
            clauses.append(sql)
            args += sql_args
        conditions: tuple[tuple[str, str | datetime | None], ...] = (
            ("m.status = {}", f.status),
            ("m.created_at >= {}", f.created_after),
            ("m.created_at < {}", f.created_before),
            ("m.last_active_at >= {}", f.active_after),
            ("(m.last_active_at IS NULL OR m.last_active_at < {})", f.inactive_since),
        )
        for clause, condition in conditions:
            if condition:
                clauses.append(clause)
                args.append(condition)
        if f.q:
            identity, identity_args = self.k.db.dialect.json_has_value("m.identities", f.q)
            clauses.append(f"(m.external_id = {{}} OR {self.k.db.dialect.like_prefix('m.display_name')} OR {identity})")
            args += [f.q, prefix_pattern(f.q), *identity_args]
        if f.segment is not None:
            segment = await self._segment(ws, f.segment)
            clauses.append(f"({segment.sql})")
            args += segment.args
        return "".join(f" AND {c}" for c in clauses), args

    async def _segment(self, ws: WorkspaceRef, segment: int) -> MemberCondition:
        """The condition of saved segment ``segment``, from the first plugin enabled here that knows
        it; a 422 naming ``segment`` when none does (no such segment, or no segments plugin)."""
        answers = await self.k.plugins.call(
            "scrm_member_segment", ws.enabled_plugins, workspace=ws, segment=segment, kernel=self.k
        )
        for answer in answers:
            if isinstance(answer, MemberCondition):
                return answer
        raise ValidationFailed(
            f"segment: no segment {segment} in this workspace",
            errors=[field_error("segment", "no such segment in this workspace", "query")],
        )


def _merge(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def to_member(row: dict[str, Any]) -> MemberOut:
    return MemberOut(
        id=row["id"],
        external_id=row["external_id"],
        display_name=row["display_name"],
        status=row["status"],
        identities=json_value(row["identities"]),
        attributes=json_value(row["attributes"]),
        tags=sorted(t for t in json_value(row["tags"]) if t is not None) if row["tags"] else [],
        created_at=timestamp(row["created_at"]),
        updated_at=timestamp(row["updated_at"]),
        last_active_at=timestamp(row["last_active_at"]) if row["last_active_at"] is not None else None,
    )


async def _create_batch(
    kernel: Kernel, items: Sequence[tuple[WorkspaceRef, MemberCreate]]
) -> builtins.list[MemberOut | None]:
    """Members of one workspace, created at once, in one statement (their batch's)."""
    return await kernel.members.create_many(items[0][0], [data for _, data in items])


async def _create_one(kernel: Kernel, item: tuple[WorkspaceRef, MemberCreate]) -> MemberOut:
    ws, data = item
    async with kernel.db.transaction():
        [member] = await kernel.members.create_many(ws, [data])
        if member is None:  # raised inside: nothing of the transaction is recorded
            raise duplicate("external_id", f"A member with external_id {data.external_id!r} already exists")
    return member


#: One member created outside a transaction on PostgreSQL (``POST /api/v1/members``): concurrent
#: ones of a workspace share a statement and a transaction (:mod:`scrm.groupcommit`). Two with one
#: external id are never in two batches at once (their inserts could deadlock).
CREATIONS: GroupCommit[tuple[WorkspaceRef, MemberCreate], MemberOut] = GroupCommit(
    "scrm.members", _create_batch, _create_one, lane=lambda item: item[0].id, conflict=lambda item: item[1].external_id
)
