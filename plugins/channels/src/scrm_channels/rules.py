"""Quiet hours and frequency caps per workspace and purpose, as ``scrm_can_contact`` vetoes.

A rule for purpose ``marketing.email`` might say: nothing between 22:00 and 08:00 in the
workspace's time zone, at most 3 sent per member in 7 days. The plugin's ``scrm_can_contact``
answers with the reason while a rule holds, so *every* caller of the consent door sees it (the
lottery, a journey, the API's can-contact probe). The message service asks :func:`veto` for the same
answer with the time it ends: where the rule's ``delay`` is on, the send is scheduled for then
instead of dropped.

Caps count messages *sent* in the window, and those on their way out that hold a place under the cap
(:func:`reserve`). The door's answer is advisory — two workers could both read "under the cap" — so
a delivery takes its place in the database: :func:`reserve` locks the member's row of
``channels_cap_lock`` for the purpose (an upsert: PostgreSQL's row lock, SQLite's write lock), counts
under the lock and marks the message as holding a place (its ``sent_at``) in the same transaction. A
burst of concurrent deliveries to one member therefore sends exactly ``cap``; the rest are scheduled
for when the window frees a place (or refused, where the rule does not delay). A place held by a
message still in flight is re-checked after :data:`IN_FLIGHT_RECHECK_S`: its delivery may yet fail
and give the place back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import scrm

from scrm_channels.schemas import RuleIn, RuleOut

#: how soon a message kept out by places held in flight (not yet sent) looks again
IN_FLIGHT_RECHECK_S = 60.0


def now() -> datetime:
    """The clock the rules read (tests move it)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Veto:
    reason: str
    until: datetime
    delay: bool


def _out(row: Any) -> RuleOut:
    return RuleOut(
        purpose=row["purpose"],
        quiet_from=row["quiet_from"],
        quiet_until=row["quiet_until"],
        cap=row["cap"],
        cap_days=row["cap_days"],
        delay=bool(row["delay"]),
    )


async def get(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, purpose: str) -> RuleOut | None:
    rows = await kernel.sql.fetch(
        "SELECT purpose, quiet_from, quiet_until, cap, cap_days, delay FROM channels_rule "
        "WHERE workspace = {} AND purpose = {}",
        ws.id,
        purpose,
    )
    return _out(rows[0]) if rows else None


async def listing(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> list[RuleOut]:
    rows = await kernel.sql.fetch(
        "SELECT purpose, quiet_from, quiet_until, cap, cap_days, delay FROM channels_rule WHERE workspace = {} "
        "ORDER BY purpose",
        ws.id,
    )
    return [_out(r) for r in rows]


async def put(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, purpose: str, data: RuleIn) -> RuleOut:
    """Set a purpose's rule (replacing the one there). Quiet hours need both ends; the purpose must be
    one of the workspace's (422 naming the field otherwise)."""
    if (data.quiet_from is None) != (data.quiet_until is None):
        raise scrm.invalid("quiet_until" if data.quiet_until is None else "quiet_from", "quiet hours need both ends")
    if data.quiet_from is not None and data.quiet_from == data.quiet_until:
        raise scrm.invalid("quiet_until", "quiet hours must not start and end at the same time")
    if purpose not in await kernel.consents.purposes.names(ws):
        raise scrm.invalid("purpose", "no such purpose in this workspace", "path")
    async with kernel.db.transaction():
        await kernel.sql.fetch("DELETE FROM channels_rule WHERE workspace = {} AND purpose = {}", ws.id, purpose)
        await kernel.sql.fetch(
            "INSERT INTO channels_rule (workspace, purpose, quiet_from, quiet_until, cap, cap_days, delay) "
            "VALUES ({}, {}, {}, {}, {}, {}, {})",
            ws.id,
            purpose,
            data.quiet_from,
            data.quiet_until,
            data.cap,
            data.cap_days,
            data.delay,
        )
    found = await get(kernel, ws, purpose)
    assert found is not None
    return found


async def delete(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, purpose: str) -> None:
    rows = await kernel.sql.fetch(
        "DELETE FROM channels_rule WHERE workspace = {} AND purpose = {} RETURNING id", ws.id, purpose
    )
    if not rows:
        raise scrm.NotFound(f"No rule for purpose {purpose!r}")


def quiet_until(rule: RuleOut, zone: str, at: datetime) -> datetime | None:
    """When the quiet hours holding at ``at`` end (UTC), or None when ``at`` is not in them."""
    if rule.quiet_from is None or rule.quiet_until is None:
        return None
    tz = ZoneInfo(zone)
    local = at.astimezone(tz)
    start, end = _clock(rule.quiet_from), _clock(rule.quiet_until)
    now_t = local.time().replace(tzinfo=None)
    inside = start <= now_t < end if start < end else (now_t >= start or now_t < end)
    if not inside:
        return None
    day = local.date() if now_t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz).astimezone(UTC)


async def cap_until(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, rule: RuleOut, member_id: int, at: datetime
) -> datetime | None:
    """When the member falls back under the purpose's cap (UTC), or None when under it now. Sent
    messages and those holding a place on their way out (``sending`` with a ``sent_at``) count."""
    if rule.cap is None:
        return None
    window = timedelta(days=rule.cap_days)
    rows = await kernel.sql.fetch(
        "SELECT status, sent_at FROM channels_message WHERE workspace = {} AND member_id = {} AND purpose = {} "
        "AND status IN ('sent', 'sending') AND sent_at > {} ORDER BY sent_at DESC LIMIT {}",
        ws.id,
        member_id,
        rule.purpose,
        at - window,
        rule.cap,
    )
    if len(rows) < rule.cap:
        return None
    until: datetime = scrm.as_datetime(rows[-1]["sent_at"]) + window
    if any(r["status"] == "sending" for r in rows):
        until = min(until, at + timedelta(seconds=IN_FLIGHT_RECHECK_S))
    return until


async def reserve(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int, purpose: str, message_id: int
) -> Veto | None:
    """Take a place under the purpose's frequency cap for message ``message_id`` (claimed, about to
    go out), or the rule's veto: the cap's when there is no place left — see the module's docstring —
    or the quiet hours', looked at again as late as can be (they may have begun since the door
    answered). None as well when the purpose has no rule."""
    rule = await get(kernel, ws, purpose)
    if rule is None:
        return None
    at = now()
    if (end := quiet_until(rule, ws.time_zone, at)) is not None:
        return Veto(_quiet_reason(rule, ws), end, rule.delay)
    if rule.cap is None:
        return None
    async with kernel.db.transaction():
        await kernel.sql.fetch(
            "INSERT INTO channels_cap_lock (workspace, member_id, purpose, at) VALUES ({}, {}, {}, {}) "
            "ON CONFLICT (workspace, member_id, purpose) DO UPDATE SET at = excluded.at",
            ws.id,
            member_id,
            purpose,
            at,
        )
        end = await cap_until(kernel, ws, rule, member_id, at)
        if end is None:
            await kernel.sql.fetch(
                "UPDATE channels_message SET sent_at = {} WHERE id = {} AND status = 'sending'", at, message_id
            )
            return None
    return Veto(_cap_reason(rule), quiet_until(rule, ws.time_zone, end) or end, rule.delay)


def _quiet_reason(rule: RuleOut, ws: scrm.WorkspaceRef) -> str:
    return f"quiet hours {rule.quiet_from}–{rule.quiet_until} ({ws.time_zone})"


def _cap_reason(rule: RuleOut) -> str:
    return f"frequency cap: {rule.cap} per {rule.cap_days} days"


async def veto(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int, purpose: str) -> Veto | None:
    """The rule's veto now, with when it ends: quiet hours first, then the cap (if both hold, the
    later end)."""
    rule = await get(kernel, ws, purpose)
    if rule is None:
        return None
    at = now()
    reasons: list[str] = []
    until = at
    if (end := quiet_until(rule, ws.time_zone, at)) is not None:
        reasons.append(_quiet_reason(rule, ws))
        until = max(until, end)
    if (end := await cap_until(kernel, ws, rule, member_id, at)) is not None:
        reasons.append(_cap_reason(rule))
        until = max(until, end)
        if (later := quiet_until(rule, ws.time_zone, until)) is not None:
            until = later
    if not reasons:
        return None
    return Veto("; ".join(reasons), until, rule.delay)


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))
