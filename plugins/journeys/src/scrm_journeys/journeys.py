"""Journeys and their versions: create, change (a new version each time the definition changes),
publish, pause, delete a draft, and the per-version statistics.

A definition change writes a new version and points the journey at it; runs keep the version they
entered on (versions are never rewritten), so members in flight finish the journey they started."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import scrm

from scrm_journeys import definitions, runner
from scrm_journeys.problems import WrongState
from scrm_journeys.schemas import (
    Definition,
    JourneyIn,
    JourneyOut,
    JourneyPatch,
    Stats,
    StepCount,
    VersionStats,
)

COLUMNS = "j.id, j.name, j.status, j.version, j.reentry, j.created_at, j.updated_at, v.definition, v.id AS version_id"
FROM = "FROM journeys_journey j JOIN journeys_version v ON v.journey = j.id AND v.version = j.version "


@dataclass(frozen=True)
class Journey:
    id: int
    name: str
    status: str
    version: int
    reentry: bool
    definition: Definition
    created_at: datetime
    updated_at: datetime

    def out(self) -> JourneyOut:
        return JourneyOut(
            id=self.id,
            name=self.name,
            status=self.status,
            version=self.version,
            reentry=self.reentry,
            definition=self.definition,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


def _journey(row: Any) -> Journey:
    return Journey(
        id=row["id"],
        name=row["name"],
        status=row["status"],
        version=row["version"],
        reentry=bool(row["reentry"]),
        definition=definitions.decode(row["definition"]),
        created_at=scrm.as_datetime(row["created_at"]),
        updated_at=scrm.as_datetime(row["updated_at"]),
    )


async def _add_version(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, journey_id: int, version: int, d: Definition
) -> None:
    await kernel.sql.fetch(
        "INSERT INTO journeys_version (workspace, journey, version, definition, trigger_kind, trigger_key, goal_event, "
        "created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
        ws.id,
        journey_id,
        version,
        definitions.encode(d),
        d.trigger.kind,
        definitions.trigger_key(d),
        d.goal.event_type if d.goal else None,
        datetime.now(UTC),
    )


async def create(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: JourneyIn) -> Journey:
    """A draft journey (version 1)."""
    await definitions.check(kernel, data.definition)
    at = datetime.now(UTC)
    async with kernel.db.transaction():
        rows = await kernel.sql.fetch(
            "INSERT INTO journeys_journey (workspace, name, status, version, reentry, created_at, updated_at) "
            "VALUES ({}, {}, 'draft', 1, {}, {}, {}) RETURNING id",
            ws.id,
            data.name,
            data.reentry,
            at,
            at,
        )
        await _add_version(kernel, ws, rows[0]["id"], 1, data.definition)
    return await load(kernel, ws, rows[0]["id"])


async def load(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, journey_id: int) -> Journey:
    rows = await kernel.sql.fetch(f"SELECT {COLUMNS} {FROM}WHERE j.id = {{}} AND j.workspace = {{}}", journey_id, ws.id)
    if not rows:
        raise scrm.NotFound(f"No journey {journey_id} in this workspace")
    return _journey(rows[0])


async def listing(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> list[Journey]:
    rows = await kernel.sql.fetch(f"SELECT {COLUMNS} {FROM}WHERE j.workspace = {{}} ORDER BY j.id DESC", ws.id)
    return [_journey(r) for r in rows]


async def update(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, journey_id: int, data: JourneyPatch) -> Journey:
    """Change the name, re-entry or definition; a new definition is a new version."""
    changes = scrm.sent_fields(data)
    if "definition" in changes:
        await definitions.check(kernel, changes["definition"])
    async with kernel.db.transaction():
        rows = await kernel.sql.fetch(
            f"SELECT id, version FROM journeys_journey WHERE id = {{}} AND workspace = {{}}{kernel.sql.for_update}",
            journey_id,
            ws.id,
        )
        if not rows:
            raise scrm.NotFound(f"No journey {journey_id} in this workspace")
        version = int(rows[0]["version"])
        before = await load(kernel, ws, journey_id)
        if "definition" in changes:
            version += 1
            await _add_version(kernel, ws, journey_id, version, changes["definition"])
        current = await load(kernel, ws, journey_id)
        await kernel.sql.fetch(
            "UPDATE journeys_journey SET name = {}, reentry = {}, version = {}, updated_at = {} WHERE id = {}",
            changes.get("name", current.name),
            changes.get("reentry", current.reentry),
            version,
            datetime.now(UTC),
            journey_id,
        )
        after = await load(kernel, ws, journey_id)
        if after.definition.trigger != before.definition.trigger:
            await _watch(kernel, ws, after)
    return after


async def set_status(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, journey_id: int, status: str) -> Journey:
    """``live`` (publish: from draft or paused) or ``paused`` (from live)."""
    allowed = {"live": ("draft", "paused"), "paused": ("live",)}[status]
    journey = await load(kernel, ws, journey_id)
    if journey.status not in allowed:
        raise WrongState(f"A {journey.status} journey cannot become {status}")
    async with kernel.db.transaction():
        await kernel.sql.fetch(
            "UPDATE journeys_journey SET status = {}, updated_at = {} WHERE id = {} AND workspace = {}",
            status,
            datetime.now(UTC),
            journey_id,
            ws.id,
        )
        journey = await load(kernel, ws, journey_id)
        await _watch(kernel, ws, journey)
    return journey


async def _watch(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, journey: Journey) -> None:
    """A live journey with a segment trigger watches its segment, so the segments plugin records the
    ``segment.entered`` events the trigger listens to (a segment nobody watches costs nothing);
    a paused one, or one with another trigger, watches nothing. A 422 when there is nothing to watch
    (segments not enabled here, or no such segment): such a journey could never start."""
    segments: runner.Segments | None = kernel.service("segments", ws)
    watcher = f"journeys:{journey.id}"
    trigger = journey.definition.trigger
    if journey.status != "live" or trigger.kind != "segment":
        if segments is not None:
            await segments.unwatch(ws, watcher)
        return
    field = "definition.trigger.segment"
    if segments is None:
        raise scrm.invalid_fields([scrm.field_error(field, "the segments plugin is not enabled here")])
    await segments.unwatch(ws, watcher)
    if await segments.watch(ws, trigger.segment or "", watcher) is None:
        raise scrm.invalid_fields([scrm.field_error(field, f"no saved segment {trigger.segment!r} here")])


async def delete(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, journey_id: int) -> None:
    """Delete a draft (with its test runs); a journey that went live is paused instead (409)."""
    journey = await load(kernel, ws, journey_id)
    if journey.status != "draft":
        raise WrongState("Only a draft can be deleted: pause a journey that went live")
    async with kernel.db.transaction():
        for table in ("journeys_step", "journeys_run", "journeys_version"):
            await kernel.sql.fetch(f"DELETE FROM {table} WHERE journey = {{}} AND workspace = {{}}", journey_id, ws.id)
        await kernel.sql.fetch("DELETE FROM journeys_journey WHERE id = {} AND workspace = {}", journey_id, ws.id)


async def stats(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, journey_id: int) -> Stats:
    """Per version: runs entered, active, completed, exited, converted (test runs left out), the
    conversion to the goal (converted ÷ entered), and each step's counts."""
    await load(kernel, ws, journey_id)
    runs = await kernel.sql.fetch(
        "SELECT version, position, status, COUNT(*) AS n FROM journeys_run WHERE journey = {} AND workspace = {} "
        "AND NOT test GROUP BY version, position, status",
        journey_id,
        ws.id,
    )
    logged = await kernel.sql.fetch(
        "SELECT s.version, s.position, s.outcome, COUNT(*) AS n FROM journeys_step s JOIN journeys_run r ON r.id = s.run "
        "WHERE s.journey = {} AND s.workspace = {} AND NOT r.test GROUP BY s.version, s.position, s.outcome",
        journey_id,
        ws.id,
    )
    versions = await kernel.sql.fetch(
        "SELECT version, definition FROM journeys_version WHERE journey = {} AND workspace = {} ORDER BY version",
        journey_id,
        ws.id,
    )
    out: list[VersionStats] = []
    for v in versions:
        number = v["version"]
        steps = definitions.decode(v["definition"]).steps
        mine = [r for r in runs if r["version"] == number]
        if not mine and number != versions[-1]["version"]:
            continue  # a version no run entered on (an edit made before publishing)

        def total(status: str, rows: list[Any] = mine) -> int:
            return sum(int(r["n"]) for r in rows if r["status"] == status)

        entered = sum(int(r["n"]) for r in mine)
        log = {(r["position"], r["outcome"]): int(r["n"]) for r in logged if r["version"] == number}
        counts = []
        for position, step in enumerate(steps):
            here = [r for r in mine if r["position"] == position]
            waiting = sum(int(r["n"]) for r in here if r["status"] == "waiting")
            active = sum(int(r["n"]) for r in here if r["status"] == "active")
            passed = log.get((position, "passed"), 0)
            exited = sum(log.get((position, o), 0) for o in ("exited", "converted", "failed"))
            counts.append(
                StepCount(
                    position=position,
                    type=type(step).__name__.lower(),
                    entered=passed + exited + waiting + active,
                    waiting=waiting,
                    passed=passed,
                    exited=exited,
                )
            )
        converted = total("converted")
        out.append(
            VersionStats(
                version=number,
                entered=entered,
                active=total("active") + total("waiting"),
                completed=total("completed"),
                exited=total("exited") + total("failed"),
                converted=converted,
                conversion=round(converted / entered, 4) if entered else 0.0,
                steps=counts,
            )
        )
    return Stats(journey_id=journey_id, versions=out)
