"""Saved segments: create, read, change, delete, count, and the condition the core's member list
asks for (``scrm_member_segment``). A definition is checked on the way in (422 naming the clause)
and compiled per request, since "within the last 30 days" moves with the clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import scrm
from msgspec import UNSET

from scrm_segments import clock, config, definition, lifecycle, watch
from scrm_segments.problems import DuplicateName
from scrm_segments.schemas import CountOut, ProfileOut, SegmentIn, SegmentOut, SegmentPatch, StageCount

#: PostgreSQL's memory for one count's hashes: a million member ids need about 40 MB
COUNT_WORK_MEM = "128MB"
COLUMNS = "id, name, description, definition, created_at, updated_at"
_encode = msgspec.json.Encoder()


def _out(row: Any, watched_by: list[str]) -> SegmentOut:
    return SegmentOut(
        id=int(row["id"]),
        name=row["name"],
        description=row["description"],
        definition=msgspec.json.decode(row["definition"]),
        created_at=scrm.as_datetime(row["created_at"]),
        updated_at=scrm.as_datetime(row["updated_at"]),
        watched_by=watched_by,
    )


def _duplicate(name: str) -> DuplicateName:
    return DuplicateName(
        f"A segment named {name!r} already exists", errors=[scrm.field_error("name", "already exists")]
    )


async def create(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: SegmentIn) -> SegmentOut:
    definition.parse(data.definition)
    at = clock.now()
    async with kernel.db.transaction(on_duplicate=_duplicate(data.name)):
        rows = await kernel.sql.fetch(
            "INSERT INTO segments_segment (workspace, name, description, definition, created_at, updated_at) "
            f"VALUES ({{}}, {{}}, {{}}, {{}}, {{}}, {{}}) RETURNING {COLUMNS}",
            ws.id,
            data.name,
            data.description,
            _encode.encode(data.definition).decode(),
            at,
            at,
        )
        if data.watch:
            await watch.watch(kernel, ws, int(rows[0]["id"]), watch.OPERATOR)
    return await get(kernel, ws, int(rows[0]["id"]))


async def get(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, segment_id: int) -> SegmentOut:
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM segments_segment WHERE id = {{}} AND workspace = {{}}", segment_id, ws.id
    )
    if not rows:
        raise scrm.NotFound(f"No segment {segment_id} in this workspace")
    return _out(rows[0], (await watch.watchers(kernel, ws, [segment_id])).get(segment_id, []))


async def listing(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, cursor: str | None, limit: int) -> scrm.Page[SegmentOut]:
    after = kernel.cursors.decode("segments", cursor)
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM segments_segment WHERE workspace = {{}} AND id > {{}} ORDER BY id LIMIT {{}}",
        ws.id,
        after,
        limit + 1,
    )
    found = await watch.watchers(kernel, ws, [int(r["id"]) for r in rows])
    items = [_out(r, found.get(int(r["id"]), [])) for r in rows]
    return kernel.cursors.page("segments", items, [s.id for s in items], limit)


async def update(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, segment_id: int, data: SegmentPatch) -> SegmentOut:
    """Change a segment; a watched segment whose definition changed is re-evaluated at once (members
    the new definition takes in or leaves out enter or exit)."""
    current = await get(kernel, ws, segment_id)
    name = current.name if data.name is UNSET else data.name
    if data.definition is not UNSET:
        definition.parse(data.definition)
    async with kernel.db.transaction(on_duplicate=_duplicate(name)):
        rows = await kernel.sql.fetch(
            "UPDATE segments_segment SET name = {}, description = {}, definition = {}, updated_at = {} "
            f"WHERE id = {{}} AND workspace = {{}} RETURNING {COLUMNS}",
            name,
            current.description if data.description is UNSET else data.description,
            _encode.encode(current.definition if data.definition is UNSET else data.definition).decode(),
            clock.now(),
            segment_id,
            ws.id,
        )
        if not rows:
            raise scrm.NotFound(f"No segment {segment_id} in this workspace")
        if data.watch is True:
            await watch.watch(kernel, ws, segment_id, watch.OPERATOR)
        elif data.watch is False:
            await watch.unwatch(kernel, ws, watch.OPERATOR, segment_id)
        if data.definition is not UNSET and data.definition != current.definition:
            await watch.recompute(kernel, ws, segment_id=segment_id)
    return await get(kernel, ws, segment_id)


async def delete(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, segment_id: int) -> None:
    async with kernel.db.transaction():
        rows = await kernel.sql.fetch(
            "DELETE FROM segments_segment WHERE id = {} AND workspace = {} RETURNING id", segment_id, ws.id
        )
        if not rows:
            raise scrm.NotFound(f"No segment {segment_id} in this workspace")
        await watch.forget_segment(kernel, ws, segment_id)


async def condition(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, tree: dict[str, Any], at: datetime | None = None
) -> scrm.MemberCondition:
    """A definition (checked here: a 422 names the bad clause) as SQL over the member row ``m``."""
    node = definition.parse(tree)
    settings = await config.load(kernel, ws.id)
    return definition.Compiler(kernel, ws, settings, at or clock.now()).condition(node)


async def saved_condition(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, segment_id: int) -> scrm.MemberCondition | None:
    """The condition of a saved segment, or None when this workspace has no such segment."""
    rows = await kernel.sql.fetch(
        "SELECT definition FROM segments_segment WHERE id = {} AND workspace = {}", segment_id, ws.id
    )
    if not rows:
        return None
    return await condition(kernel, ws, msgspec.json.decode(rows[0]["definition"]))


async def count_statement(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, tree: dict[str, Any]) -> scrm.MemberCondition:
    """The statement counting a definition's members: one pass over the members' profiles (the
    definition compiled over ``p``, see ``definition.Compiler``), never a scan of ``scrm_member``."""
    node = definition.parse(tree)
    settings = await config.load(kernel, ws.id)
    where = definition.Compiler(kernel, ws, settings, clock.now(), row="p").condition(node)
    return scrm.MemberCondition(
        f"SELECT COUNT(*) AS n FROM segments_profile p WHERE p.workspace = {{}} AND ({where.sql})",
        (ws.id, *where.args),
    )


async def count(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, tree: dict[str, Any]) -> CountOut:
    """How many members a definition matches, and how many the workspace has (the total from the
    stage counts). A member counts from the delivery of their ``member.created`` on (their profile
    is made then); an erased member no longer counts."""
    statement = await count_statement(kernel, ws, tree)
    async with kernel.db.transaction():
        if kernel.sql.postgres:  # room for the hashed semi-joins over millions of members (see Compiler)
            await kernel.sql.fetch(f"SET LOCAL work_mem = '{COUNT_WORK_MEM}'")
        rows = await kernel.sql.fetch(statement.sql, *statement.args)
    total = sum(s.members for s in await stages(kernel, ws))
    return CountOut(count=int(rows[0]["n"]), members=total, counted_at=clock.now())


async def contains(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, segment: str, member_id: int) -> bool:
    """Whether a member is in the saved segment with this id or name now (False when there is none)."""
    segment_id = await watch.resolve(kernel, ws, segment)
    where = await saved_condition(kernel, ws, segment_id) if segment_id is not None else None
    if where is None:
        return False
    found = await kernel.sql.fetch(
        f"SELECT 1 AS one FROM scrm_member m WHERE m.id = {{}} AND m.workspace = {{}} AND m.status <> 'erased' "
        f"AND ({where.sql})",
        member_id,
        ws.id,
        *where.args,
    )
    return bool(found)


async def profile(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> ProfileOut:
    await kernel.members.get(ws, member_id)  # 404 for a member of another workspace
    settings = await config.load(kernel, ws.id)
    compiler = definition.Compiler(kernel, ws, settings, clock.now())
    scores = [compiler.score(which) for which in ("r", "f", "m")]
    rows = await kernel.sql.fetch(
        "SELECT member_id, stage, stage_since, joined_at, seen_at, engagement, orders, monetary, last_order_at, "
        f"cluster, {scores[0][0]} AS r, {scores[1][0]} AS f, {scores[2][0]} AS m "
        "FROM segments_profile WHERE workspace = {} AND member_id = {}",
        *scores[0][1],
        *scores[1][1],
        *scores[2][1],
        ws.id,
        member_id,
    )
    if not rows:
        raise scrm.NotFound(f"Member {member_id} has no segments profile yet (no event delivered since they joined)")
    r = rows[0]
    return ProfileOut(
        member_id=member_id,
        stage=r["stage"],
        stage_since=scrm.as_datetime(r["stage_since"]),
        joined_at=scrm.as_datetime(r["joined_at"]),
        last_engaged_at=scrm.as_datetime(r["seen_at"]),
        engagement=int(r["engagement"]),
        orders=int(r["orders"]),
        monetary=float(r["monetary"]),
        last_order_at=scrm.as_datetime(r["last_order_at"]),
        r=int(r["r"]),
        f=int(r["f"]),
        m=int(r["m"]),
        cluster=r["cluster"],
    )


async def stages(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> list[StageCount]:
    """Members per lifecycle stage (every stage listed, 0 included): the lifecycle funnel, read from
    the counts kept with each stage move (four rows, whatever the workspace's size)."""
    rows = await kernel.sql.fetch("SELECT stage, n FROM segments_stage_count WHERE workspace = {}", ws.id)
    found = {r["stage"]: int(r["n"]) for r in rows}
    return [StageCount(stage=s, members=found.get(s, 0)) for s in lifecycle.STAGES]


async def delete_workspace(kernel: scrm.Kernel, workspace_id: int) -> None:
    for table in (
        "segments_segment",
        "segments_config",
        "segments_profile",
        "segments_daily",
        "segments_cluster",
        "segments_stage_count",
        "segments_watch",
        "segments_member",
    ):
        await kernel.sql.fetch(f"DELETE FROM {table} WHERE workspace = {{}}", workspace_id)
    await kernel.sql.fetch("DELETE FROM segments_applied WHERE workspace = {}", workspace_id)


async def export_member(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> dict[str, Any] | None:
    try:
        return msgspec.to_builtins(await profile(kernel, ws, member_id))  # type: ignore[no-any-return]
    except scrm.NotFound:
        return None


async def erase_member(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> None:
    gone = await kernel.sql.fetch(
        "DELETE FROM segments_profile WHERE workspace = {} AND member_id = {} RETURNING stage", ws.id, member_id
    )
    await lifecycle.count_stages(kernel, ws, {r["stage"]: -1 for r in gone})
    await kernel.sql.fetch("DELETE FROM segments_daily WHERE workspace = {} AND member_id = {}", ws.id, member_id)
    await watch.forget_member(kernel, ws, member_id)
