"""Birthday greetings: on a member's birthday (the ``birthday`` attribute, ``MM-DD``, in the
workspace's time zone), a member who consented to the purpose gets points from the points plugin
(when it is enabled) and a ``birthday.greeted`` event — once a year, however often this runs."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

import msgspec
import scrm

log = logging.getLogger("scrm_birthday")
NAME = "birthday"
#: the member attribute holding the birthday, month and day: ``"03-14"``
ATTRIBUTE = "birthday"
EVENT = "birthday.greeted"
PAGE = 500


class Settings(msgspec.Struct, forbid_unknown_fields=True):
    """The plugin's settings in a workspace (``POST /api/v1/plugins`` with ``settings``)."""

    points: int = 100  # given on the birthday (0: none)
    purpose: str = "marketing.birthday"  # the consent purpose a greeting needs


class Awarder(Protocol):
    """What this plugin uses of the points service (described here, so it installs without points)."""

    async def award(
        self, ws: scrm.WorkspaceRef, member_id: int, amount: int, *, reason: str, reference: str
    ) -> int: ...


async def settings_of(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> Settings | None:
    """The workspace's settings, or None where the plugin is off (or its settings are unusable)."""
    plugin = await kernel.workspaces.plugin(ws, NAME)
    if not plugin.enabled:
        return None
    try:
        return msgspec.convert(plugin.settings or {}, Settings)
    except msgspec.ValidationError as exc:
        log.warning("birthday settings of workspace %s are unusable: %s", ws.id, exc)
        return None


def today_in(time_zone: str, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(time_zone)).date()


async def greet(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member: scrm.MemberOut, settings: Settings, today: date
) -> bool:
    """Greet ``member`` if today is their birthday, they are active and consented, and they were not
    greeted this year; returns whether they were greeted now. The greeting's row, the points and the
    event commit together, and the row's unique ``once`` makes a second greeting write nothing."""
    if member.attributes.get(ATTRIBUTE) != today.strftime("%m-%d") or member.status != "active":
        return False
    try:
        allowed = await kernel.consents.can_contact(ws, member.id, settings.purpose)
    except scrm.Problem:  # the workspace has no such purpose: nobody consented to it
        return False
    if not allowed:
        return False
    once = f"{ws.id}:{member.id}:{today.year}"
    points: Awarder | None = kernel.service("points", ws) if settings.points > 0 else None
    async with kernel.db.transaction():
        rows = await kernel.sql.run(
            "INSERT INTO birthday_greeting (workspace, member_id, year, once, points, greeted_at) "
            "VALUES ({ws}, {member}, {year}, {once}, {points}, {at}) ON CONFLICT (once) DO NOTHING RETURNING id",
            ws=ws.id,
            member=member.id,
            year=today.year,
            once=once,
            points=settings.points if points else 0,
            at=datetime.now(UTC),
        )
        if not rows:
            return False
        if points is not None:
            await points.award(ws, member.id, settings.points, reason="birthday", reference=f"birthday:{once}")
        properties = {"year": today.year, "points": settings.points if points else 0}
        await kernel.events.record(
            ws, [scrm.NewEvent(member.id, EVENT, properties, source=NAME, idempotency_key=f"{EVENT}:{once}")]
        )
    return True


async def greet_workspace(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, now: datetime | None = None) -> int:
    """Greet everyone whose birthday it is today in the workspace; returns how many were greeted."""
    settings = await settings_of(kernel, ws)
    if settings is None:
        return 0
    workspace = await kernel.workspaces.get(ws.id)
    today = today_in(workspace.time_zone, now)
    birthdays = scrm.MemberFilter(attributes=((ATTRIBUTE, today.strftime("%m-%d")),), status="active")
    greeted, cursor = 0, None
    while True:
        page = await kernel.members.list(ws, birthdays, cursor, PAGE)
        for member in page.items:
            greeted += await greet(kernel, ws, member, settings, today)
        if page.next_cursor is None:
            return greeted
        cursor = page.next_cursor


async def greet_everywhere(ctx: scrm.JobContext) -> None:
    """Cron ``birthday.greet`` (hourly, so each workspace's day is caught in its own time zone)."""
    for workspace in await ctx.kernel.workspaces.list():
        ws = await ctx.kernel.workspace_ref(workspace.id)
        greeted = await greet_workspace(ctx.kernel, ws)
        if greeted:
            log.info("birthday.greet: %s member(s) greeted in workspace %s", greeted, workspace.slug)
