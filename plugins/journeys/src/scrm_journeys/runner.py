"""Running journeys: members enter from delivered events, and due runs take their next step.

**Entering** happens in the event delivery's transaction (``scrm_event_batch_recorded``, from the
core's durable outbox): the run row is inserted with the delivery, or not at all, and its unique
index (journey, member, entry key) keeps a member from entering twice however often a batch is
redelivered. A goal event converts the member's runs in flight in the same way.

**Stepping**: a run is *due* when its ``due_at`` has passed. :func:`advance` (the cron job
``journeys.tick``, every 5 seconds, on any number of workers) takes due runs and runs **one step per
transaction**: the run row is locked (``FOR UPDATE SKIP LOCKED``: two workers never take the same run),
the step's effects are written (a tag, points, a message queued through channels — all joining the
transaction), the step's outcome is logged (unique per run, position and outcome) and the run moves
on, then it commits. A worker killed mid-step rolls the whole step back: the run is still due and the
next tick does the step once. A wait sets ``due_at`` in the future (it is a scheduled job kept in the
database, so a Redis restart loses no wait). Effects outside the database — a webhook action's POST,
the SMTP delivery channels does after the commit — are at least once; the webhook carries an
``Idempotency-Key`` (the run and step) so its receiver can drop a repeat.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import httpx
import scrm

from scrm_journeys import definitions
from scrm_journeys.schemas import Action, Condition, Definition, Exit, Trigger, Wait

log = logging.getLogger("scrm.journeys")
BATCH = 500
WEBHOOK_TIMEOUT_S = 10.0
RUN_COLUMNS = "id, workspace, journey, version, member_id, position, status, due_at, waited, test, entered_at"


def now() -> datetime:
    return datetime.now(UTC)


class Segments(Protocol):
    """What journeys use of the segments plugin (``kernel.service("segments", ws)``), when installed."""

    async def contains(self, ws: scrm.WorkspaceRef, segment: str, member_id: int) -> bool: ...

    async def watch(self, ws: scrm.WorkspaceRef, segment: str, watcher: str) -> int | None: ...

    async def unwatch(self, ws: scrm.WorkspaceRef, watcher: str) -> None: ...


class Channels(Protocol):
    async def send(
        self,
        ws: scrm.WorkspaceRef,
        member_id: int,
        purpose: str,
        template: str,
        data: dict[str, Any] | None = None,
        reference: str | None = None,
    ) -> Any: ...


class Lottery(Protocol):
    async def enter(self, ws: scrm.WorkspaceRef, campaign_id: int, member_id: int) -> Any: ...


class Points(Protocol):
    async def award(
        self, ws: scrm.WorkspaceRef, member_id: int, amount: int, *, reason: str, reference: str
    ) -> int: ...


# --- entering ------------------------------------------------------------------------------------


def matches(trigger: Trigger, event: scrm.EventOut) -> bool:
    props = event.properties
    if trigger.kind == "event":
        return event.type == trigger.event_type and all(props.get(k) == v for k, v in trigger.where.items())
    if trigger.kind == "tag":  # added later, or given when the member was created
        added = (
            props.get("added")
            if event.type == "tags.changed"
            else props.get("tags")
            if event.type == "member.created"
            else None
        )
        return trigger.tag in (added or [])
    if trigger.kind == "segment":  # named by its id (digits) or its name, as the segments plugin resolves it
        named = props.get("segment_id") if (trigger.segment or "").isdecimal() else props.get("segment")
        return event.type == "segment.entered" and str(named) == trigger.segment
    return False  # a date trigger is not an event: see :func:`dates`


async def on_events(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, events: list[scrm.EventOut]) -> None:
    """Enter members into live journeys their events trigger, and convert runs whose goal they met
    (inside the delivery's transaction). A workspace event (no member) enters and converts no one."""
    live = await kernel.sql.fetch(
        "SELECT j.id, j.reentry, v.version, v.trigger_key, v.goal_event, v.definition FROM journeys_journey j "
        "JOIN journeys_version v ON v.journey = j.id AND v.version = j.version "
        "WHERE j.workspace = {} AND j.status = 'live'",
        ws.id,
    )
    goals = await kernel.sql.fetch(
        "SELECT DISTINCT v.journey, v.version, v.goal_event FROM journeys_version v JOIN journeys_run r "
        "ON r.journey = v.journey AND r.version = v.version WHERE v.workspace = {} AND v.goal_event IS NOT NULL "
        "AND r.status IN ('active', 'waiting')",
        ws.id,
    )
    if not live and not goals:
        return
    at = now()
    triggers = {j["id"]: definitions.decode(j["definition"]).trigger for j in live}
    entered = False
    for event in events:
        if event.member_id is None:
            continue
        for goal in goals:
            if goal["goal_event"] == event.type:
                await _convert(kernel, ws, goal["journey"], goal["version"], event)
        for journey in live:
            if not matches(triggers[journey["id"]], event):
                continue
            key = f"event:{event.id}" if journey["reentry"] else "once"
            entered |= await enter(kernel, ws, journey["id"], journey["version"], event.member_id, key, at) is not None
    if entered:
        kernel.db.after_commit(lambda: _wake(kernel))


async def enter(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    journey_id: int,
    version: int,
    member_id: int,
    key: str,
    at: datetime,
    *,
    test: bool = False,
) -> int | None:
    """Insert a run (due now); None when the member already entered with this key. A member with
    a run in flight in this journey does not enter again, even where re-entry is allowed."""
    if not test:
        busy = await kernel.sql.fetch(
            "SELECT 1 AS busy FROM journeys_run WHERE journey = {} AND member_id = {} AND status IN ('active', 'waiting') "
            "AND NOT test LIMIT 1",
            journey_id,
            member_id,
        )
        if busy:
            return None
    rows = await kernel.sql.fetch(
        "INSERT INTO journeys_run (workspace, journey, version, member_id, entry_key, position, status, due_at, waited, "
        "test, detail, entered_at, updated_at) VALUES ({}, {}, {}, {}, {}, 0, 'active', {}, FALSE, {}, '', {}, {}) "
        "ON CONFLICT (journey, member_id, entry_key) DO NOTHING RETURNING id",
        ws.id,
        journey_id,
        version,
        member_id,
        key,
        at,
        test,
        at,
        at,
    )
    return int(rows[0]["id"]) if rows else None


async def _convert(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, journey_id: int, version: int, event: scrm.EventOut
) -> None:
    rows = await kernel.sql.fetch(
        "UPDATE journeys_run SET status = 'converted', due_at = NULL, updated_at = {} WHERE journey = {} AND version = {} "
        "AND member_id = {} AND status IN ('active', 'waiting') AND entered_at <= {} RETURNING id, position",
        now(),
        journey_id,
        version,
        event.member_id,
        event.occurred_at,
    )
    for row in rows:
        await _log(kernel, ws, row["id"], journey_id, version, row["position"], "converted", event.type)


async def _wake(kernel: scrm.Kernel) -> None:
    try:
        await kernel.jobs.enqueue("journeys.advance", job_id="journeys.advance")
    except scrm.Problem:
        log.warning("could not queue journeys.advance; the tick will run the new runs")


async def dates(kernel: scrm.Kernel) -> int:
    """Enter members whose date attribute (``YYYY-MM-DD``: a birthday) falls on today in their
    workspace's time zone into the live journeys with a ``date`` trigger — once a year each (the cron
    job ``journeys.dates``, hourly: a day's entries come on its first run, and again is harmless).
    Returns how many entered. It reads every active member of those workspaces (a page at a time)."""
    live = await kernel.sql.fetch(
        "SELECT j.id, j.workspace, j.version, v.definition FROM journeys_journey j "
        "JOIN journeys_version v ON v.journey = j.id AND v.version = j.version "
        "WHERE j.status = 'live' AND v.trigger_kind = 'date'"
    )
    entered = 0
    for journey in live:
        ws = await kernel.workspace_ref(int(journey["workspace"]))
        if "journeys" not in ws.enabled_plugins:
            continue
        attribute = definitions.decode(journey["definition"]).trigger.attribute or ""
        today = now().astimezone(ZoneInfo(ws.time_zone)).date()
        cursor: str | None = None
        while True:
            page = await kernel.members.list(ws, scrm.MemberFilter(status="active"), cursor, scrm.MAX_LIMIT)
            for member in page.items:
                value = member.attributes.get(attribute)
                if isinstance(value, str) and value[4:10] == today.strftime("-%m-%d"):
                    async with kernel.db.transaction():
                        key = f"date:{today.year}"
                        if (
                            await enter(kernel, ws, journey["id"], journey["version"], member.id, key, now())
                            is not None
                        ):
                            entered += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    if entered:
        await _wake(kernel)
    return entered


# --- stepping ------------------------------------------------------------------------------------


async def advance(kernel: scrm.Kernel, limit: int = BATCH, concurrency: int = 4) -> int:
    """Run the due runs' steps (up to ``limit`` runs, each until it waits or ends); returns the number
    of steps run."""
    rows = await kernel.sql.fetch(
        "SELECT id FROM journeys_run WHERE status IN ('active', 'waiting') AND due_at <= {} AND NOT test "
        "ORDER BY due_at LIMIT {}",
        now(),
        limit,
    )
    ids = [int(r["id"]) for r in rows]
    if not kernel.sql.postgres:  # one writer at a time anyway
        return sum([await run_steps(kernel, run_id) for run_id in ids])
    gate = asyncio.Semaphore(concurrency)

    async def one(run_id: int) -> int:
        async with gate:
            return await run_steps(kernel, run_id)

    return sum(await asyncio.gather(*(one(i) for i in ids)))


async def run_steps(kernel: scrm.Kernel, run_id: int) -> int:
    """Take one run's steps, one transaction each, while it is due; returns how many were taken."""
    taken = 0
    while True:
        try:
            if not await step(kernel, run_id):
                return taken
        except Exception as exc:  # a bug or a broken row: the step was rolled back; stop retrying it
            log.exception("journey run %s failed", run_id)
            await _fail(kernel, run_id, f"{type(exc).__name__}: {exc}")
            return taken
        taken += 1


async def _fail(kernel: scrm.Kernel, run_id: int, detail: str) -> None:
    await kernel.sql.fetch(
        "UPDATE journeys_run SET status = 'failed', due_at = NULL, detail = {}, updated_at = {} "
        "WHERE id = {} AND status IN ('active', 'waiting')",
        detail[:1000],
        now(),
        run_id,
    )


_versions: dict[tuple[int, int], tuple[str, Definition]] = {}


async def _version(kernel: scrm.Kernel, journey_id: int, version: int) -> tuple[str, Definition]:
    """(journey name, definition) of a version; versions are never changed, so they are kept."""
    key = (journey_id, version)
    if key not in _versions:
        rows = await kernel.sql.fetch(
            "SELECT j.name, v.definition FROM journeys_version v JOIN journeys_journey j ON j.id = v.journey "
            "WHERE v.journey = {} AND v.version = {}",
            journey_id,
            version,
        )
        if not rows:
            raise LookupError(f"journey {journey_id} has no version {version}")
        if len(_versions) > 10_000:
            _versions.clear()
        _versions[key] = (rows[0]["name"], definitions.decode(rows[0]["definition"]))
    return _versions[key]


async def step(kernel: scrm.Kernel, run_id: int) -> bool:
    """Take the run's next step if it is due, in one transaction; False when it was not due (or
    another worker holds it)."""
    at = now()
    skip_locked = " FOR UPDATE SKIP LOCKED" if kernel.sql.postgres else ""
    async with kernel.db.transaction():
        rows = await kernel.sql.fetch(
            f"SELECT {RUN_COLUMNS} FROM journeys_run WHERE id = {{}} AND status IN ('active', 'waiting') "
            f"AND due_at <= {{}}{skip_locked}",
            run_id,
            at,
        )
        if not rows:
            return False
        run = rows[0]
        ws = await kernel.workspace_ref(int(run["workspace"]))
        name, definition = await _version(kernel, run["journey"], run["version"])
        position = int(run["position"])
        if run["member_id"] is None:
            await _end(kernel, ws, run, position, "exited", "the member was erased", at)
            return True
        if position >= len(definition.steps):
            await _move(kernel, run, position, "completed", None, at)
            return True
        current = definition.steps[position]
        try:
            outcome, detail, due = await _do(kernel, ws, run, name, position, current, at)
        except scrm.Problem as exc:
            outcome, detail, due = "failed", f"{exc.title}: {exc.detail}", None
        if outcome == "waiting":
            await kernel.sql.fetch(
                "UPDATE journeys_run SET status = 'waiting', waited = TRUE, due_at = {}, updated_at = {} WHERE id = {}",
                due,
                at,
                run["id"],
            )
            await _log(kernel, ws, run["id"], run["journey"], run["version"], position, "waiting", detail)
        elif outcome == "passed":
            await _log(kernel, ws, run["id"], run["journey"], run["version"], position, "passed", detail)
            last = position + 1 >= len(definition.steps)
            await _move(kernel, run, position + 1, "completed" if last else "active", None if last else at, at)
        else:
            await _end(kernel, ws, run, position, outcome, detail, at)
    return True


async def _move(kernel: scrm.Kernel, run: Any, position: int, status: str, due: datetime | None, at: datetime) -> None:
    await kernel.sql.fetch(
        "UPDATE journeys_run SET position = {}, status = {}, waited = FALSE, due_at = {}, updated_at = {} WHERE id = {}",
        position,
        status,
        due,
        at,
        run["id"],
    )


async def _end(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, run: Any, position: int, outcome: str, detail: str, at: datetime
) -> None:
    await kernel.sql.fetch(
        "UPDATE journeys_run SET status = {}, due_at = NULL, detail = {}, updated_at = {} WHERE id = {}",
        outcome,
        detail[:1000],
        at,
        run["id"],
    )
    await _log(kernel, ws, run["id"], run["journey"], run["version"], position, outcome, detail)


async def _log(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    run_id: int,
    journey_id: int,
    version: int,
    position: int,
    outcome: str,
    detail: str,
) -> None:
    await kernel.sql.fetch(
        "INSERT INTO journeys_step (workspace, run, journey, version, position, outcome, detail, at) "
        "VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
        ws.id,
        run_id,
        journey_id,
        version,
        position,
        outcome,
        detail[:1000],
        now(),
    )


async def _do(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, run: Any, name: str, position: int, current: Any, at: datetime
) -> tuple[str, str, datetime | None]:
    """(outcome, detail, due) of one step: ``waiting`` (until ``due``), ``passed``, ``exited`` or ``failed``."""
    member_id = int(run["member_id"])
    if isinstance(current, Wait):
        if run["test"]:
            return "passed", "skipped in a test run", None
        if run["waited"]:
            return "passed", "", None
        due = wait_until(current, ws.time_zone, at)
        return ("waiting", f"until {due.isoformat()}", due) if due > at else ("passed", "", None)
    if isinstance(current, Condition):
        held, why = await holds(kernel, ws, current, member_id, scrm.as_datetime(run["entered_at"]))
        return ("passed" if held else "exited"), why, None
    if isinstance(current, Exit):
        return "exited", "exit step", None
    assert isinstance(current, Action)
    return await act(kernel, ws, current, run, name, position)


def wait_until(wait: Wait, zone: str, at: datetime) -> datetime:
    """When a wait entered at ``at`` ends: ``seconds`` later, then the next ``until`` in ``zone``."""
    due = at + timedelta(seconds=wait.seconds or 0)
    if wait.until is not None:
        tz = ZoneInfo(zone)
        local = due.astimezone(tz)
        hours, minutes = (int(x) for x in wait.until.split(":"))
        target = datetime.combine(local.date(), time(hours, minutes), tzinfo=tz)
        if target < local:
            target = datetime.combine(local.date() + timedelta(days=1), time(hours, minutes), tzinfo=tz)
        due = target.astimezone(UTC)
    return due


async def holds(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, c: Condition, member_id: int, entered_at: datetime
) -> tuple[bool, str]:
    """Whether a condition holds for the member, and why not (every given test must hold)."""
    member = await kernel.members.get(ws, member_id)
    failed: list[str] = []
    if c.has_tag is not None and c.has_tag not in member.tags:
        failed.append(f"no tag {c.has_tag!r}")
    if c.attribute is not None:
        value = member.attributes.get(c.attribute)
        if (c.equals is None and value in (None, "")) or (c.equals is not None and value != c.equals):
            failed.append(f"attribute {c.attribute!r} is {value!r}")
    if c.segment is not None:
        segments: Segments | None = kernel.service("segments", ws)
        if segments is None:
            failed.append("the segments plugin is not enabled here")
        elif not await segments.contains(ws, c.segment, member_id):
            failed.append(f"not in segment {c.segment!r}")
    if c.event_since_entry is not None:
        seen = await kernel.events.list(
            ws, scrm.EventFilter(type=c.event_since_entry, member_id=member_id, after=entered_at), None, 1
        )
        if not seen.items:
            failed.append(f"no {c.event_since_entry} event since entry")
    held = not failed
    if c.negate:
        return (not held), ("" if not held else "negated: every test held")
    return held, "; ".join(failed)


async def act(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, a: Action, run: Any, name: str, position: int
) -> tuple[str, str, datetime | None]:
    member_id = int(run["member_id"])
    reference = f"journey:{run['id']}:{position}"
    if a.action == "send":
        channels: Channels | None = kernel.service("channels", ws)
        if channels is None:
            return "failed", "the channels plugin is not enabled here", None
        assert a.purpose is not None
        assert a.template is not None
        sent = await channels.send(
            ws, member_id, a.purpose, a.template, {"journey": name, "run_id": run["id"]}, reference=reference
        )
        return "passed", f"{sent.status}{': ' + sent.reason if sent.reason else ''}", None
    if a.action in ("tag_add", "tag_remove"):
        assert a.tag is not None
        if a.action == "tag_add":
            changed = await kernel.tags.attach(ws, [member_id], [a.tag])
            change = scrm.TagChange(member_id, [t for _, t in changed], [])
        else:
            changed = await kernel.tags.detach(ws, [member_id], [a.tag])
            change = scrm.TagChange(member_id, [], [t for _, t in changed])
        if changed:
            await kernel.tags.record(ws, [change])
            kernel.db.after_commit(lambda: kernel.tags.notify(ws, change))
        return "passed", f"{a.action} {a.tag}", None
    if a.action == "points":
        points: Points | None = kernel.service("points", ws)
        if points is None:
            return "failed", "the points plugin is not enabled here", None
        assert a.amount is not None
        await points.award(ws, member_id, a.amount, reason=f"journey: {name}", reference=reference)
        return "passed", f"+{a.amount} points", None
    if a.action == "lottery":
        lottery: Lottery | None = kernel.service("lottery", ws)
        if lottery is None:
            return "failed", "the lottery plugin is not enabled here", None
        assert a.campaign_id is not None
        await lottery.enter(ws, a.campaign_id, member_id)
        return "passed", f"entered lottery {a.campaign_id}", None
    assert a.url is not None
    body = {
        "journey_id": run["journey"],
        "journey": name,
        "run_id": run["id"],
        "member_id": member_id,
        "step": position,
    }
    try:
        async with kernel.outbound.client(timeout=WEBHOOK_TIMEOUT_S) as client:
            response = await client.post(a.url, json=body, headers={"Idempotency-Key": reference})
    except scrm.OutboundRefused as exc:
        return "failed", f"webhook refused: {exc}", None
    except httpx.HTTPError as exc:
        return "failed", f"webhook: {type(exc).__name__}: {exc}", None
    if not response.is_success:
        return "failed", f"webhook: HTTP {response.status_code}", None
    return "passed", f"webhook: HTTP {response.status_code}", None


async def test_run(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, journey_id: int, version: int, member_id: int) -> int:
    """A test run of the journey's current version on one member, now: waits are skipped, the steps'
    actions are real (a message is really sent). Test runs are left out of the statistics and of
    :func:`advance`: the caller runs them to the end."""
    await kernel.members.get(ws, member_id)
    async with kernel.db.transaction():
        run_id = await enter(
            kernel, ws, journey_id, version, member_id, f"test:{secrets.token_hex(8)}", now(), test=True
        )
    assert run_id is not None
    await run_steps(kernel, run_id)
    return run_id
