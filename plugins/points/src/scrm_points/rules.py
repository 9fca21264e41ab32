"""Rules that turn delivered events into points, a batch at a time.

A rule matches an event when the event's ``type`` equals the rule's ``event_type`` (exactly: the
plugin's own ``points.*`` events earn only through a rule naming them), the event occurred inside
the rule's window (``starts_at`` ≤ ``occurred_at`` < ``ends_at``) and every condition holds on the
event's top-level properties: a plain value must be equal (a string to a string, a number to a
number, a boolean to a boolean), ``{"min": n}`` needs a number ≥ n.

Caps are in points per member: ``daily_cap`` per day of the workspace's time zone (the day the event
occurred), ``total_cap`` ever. An award that would pass a cap is cut to what is left (and skipped
when nothing is).

One batch costs a fixed number of statements whatever its size, and none when no event matches
(the workspace's rules and settings come from the service's short-lived cache,
:mod:`scrm_points.recent`): the accounts of the members concerned (created and locked, in id
order), the awards already made for these events (a redelivered event earns nothing again; the
unique reference ``rule:<rule>:event:<event>`` is the database's guarantee), the caps' usage, and
the writes (transactions, lots, balances, usage), each one multi-row statement; tier moves, if
any, add their tags and events (:mod:`scrm_points.tiers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec
import scrm

from scrm_points import clock
from scrm_points.config import PointsSettings
from scrm_points.ledger import Credit, Ledger
from scrm_points.schemas import AtLeast, Condition, RuleIn, RuleOut, RulePatch

RULE_COLUMNS = (
    "id, name, event_type, points, conditions, daily_cap, total_cap, starts_at, ends_at, active, created_at, updated_at"
)
_conditions = msgspec.json.Decoder(dict[str, Condition])
_USAGE_COLUMNS = [("rule_id", "bigint"), ("member_id", "bigint"), ("day", "date"), ("points", "bigint")]


def to_rule(row: Any) -> RuleOut:
    created = scrm.as_datetime(row["created_at"])
    updated = scrm.as_datetime(row["updated_at"])
    assert created is not None
    assert updated is not None
    return RuleOut(
        id=int(row["id"]),
        name=row["name"],
        event_type=row["event_type"],
        points=int(row["points"]),
        conditions=_conditions.decode(row["conditions"]),
        daily_cap=row["daily_cap"],
        total_cap=row["total_cap"],
        starts_at=scrm.as_datetime(row["starts_at"]),
        ends_at=scrm.as_datetime(row["ends_at"]),
        active=bool(row["active"]),
        created_at=created,
        updated_at=updated,
    )


def check(rule: RuleIn | RuleOut) -> None:
    """What a type cannot say: the window must not end before it starts."""
    if rule.starts_at is not None and rule.ends_at is not None and rule.ends_at <= rule.starts_at:
        raise scrm.invalid("ends_at", "must be later than starts_at")


def holds(conditions: dict[str, Any], properties: dict[str, Any]) -> bool:
    """Whether an event's properties meet every condition of a rule."""
    for name, wanted in conditions.items():
        value = properties.get(name)
        if isinstance(wanted, AtLeast):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < wanted.min:
                return False
        elif isinstance(wanted, bool) or isinstance(value, bool):
            if not (isinstance(wanted, bool) and isinstance(value, bool) and wanted == value):
                return False
        elif isinstance(wanted, str) != isinstance(value, str) or value != wanted:
            return False
    return True


class Rules:
    """The rules of workspaces: storage (CRUD) and their application to delivered events."""

    def __init__(self, sql: scrm.Sql) -> None:
        self.sql = sql

    async def page(self, ws_id: int, after: int, limit: int) -> list[RuleOut]:
        rows = await self.sql.fetch(
            f"SELECT {RULE_COLUMNS} FROM points_rule WHERE workspace = {{}} AND id > {{}} ORDER BY id LIMIT {{}}",
            ws_id,
            after,
            limit,
        )
        return [to_rule(row) for row in rows]

    async def get(self, ws_id: int, rule_id: int) -> RuleOut:
        rows = await self.sql.fetch(
            f"SELECT {RULE_COLUMNS} FROM points_rule WHERE workspace = {{}} AND id = {{}}", ws_id, rule_id
        )
        if not rows:
            raise scrm.NotFound(f"No points rule {rule_id} in this workspace")
        return to_rule(rows[0])

    async def create(self, ws_id: int, data: RuleIn) -> RuleOut:
        check(data)
        at = clock.now()
        rows = await self.sql.fetch(
            "INSERT INTO points_rule (workspace, name, event_type, points, conditions, daily_cap, total_cap, "
            "starts_at, ends_at, active, created_at, updated_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}) "
            f"RETURNING {RULE_COLUMNS}",
            ws_id,
            data.name,
            data.event_type,
            data.points,
            msgspec.json.encode(data.conditions).decode(),
            data.daily_cap,
            data.total_cap,
            data.starts_at,
            data.ends_at,
            data.active,
            at,
            at,
        )
        return to_rule(rows[0])

    async def update(self, ws_id: int, rule_id: int, patch: RulePatch) -> RuleOut:
        current = await self.get(ws_id, rule_id)
        merged = msgspec.structs.replace(current, **scrm.sent_fields(patch))
        check(merged)
        rows = await self.sql.fetch(
            "UPDATE points_rule SET name = {}, event_type = {}, points = {}, conditions = {}, daily_cap = {}, "
            "total_cap = {}, starts_at = {}, ends_at = {}, active = {}, updated_at = {} "
            f"WHERE workspace = {{}} AND id = {{}} RETURNING {RULE_COLUMNS}",
            merged.name,
            merged.event_type,
            merged.points,
            msgspec.json.encode(merged.conditions).decode(),
            merged.daily_cap,
            merged.total_cap,
            merged.starts_at,
            merged.ends_at,
            merged.active,
            clock.now(),
            ws_id,
            rule_id,
        )
        if not rows:
            raise scrm.NotFound(f"No points rule {rule_id} in this workspace")
        return to_rule(rows[0])

    async def delete(self, ws_id: int, rule_id: int) -> None:
        rows = await self.sql.fetch(
            "DELETE FROM points_rule WHERE workspace = {} AND id = {} RETURNING id", ws_id, rule_id
        )
        if not rows:
            raise scrm.NotFound(f"No points rule {rule_id} in this workspace")
        await self.sql.fetch("DELETE FROM points_rule_usage WHERE workspace = {} AND rule_id = {}", ws_id, rule_id)

    async def active(self, ws_id: int) -> list[RuleOut]:
        rows = await self.sql.fetch(
            f"SELECT {RULE_COLUMNS} FROM points_rule WHERE workspace = {{}} AND active = {{}} ORDER BY id", ws_id, True
        )
        return [to_rule(row) for row in rows]

    async def apply(
        self,
        kernel: scrm.Kernel,
        ws: scrm.WorkspaceRef,
        events: Sequence[scrm.EventOut],
        rules: Sequence[RuleOut],
        settings: PointsSettings,
    ) -> int:
        """Award the points the workspace's active ``rules`` give for these events (oldest first),
        inside the delivery's transaction; returns the number of awards made."""
        if not rules:
            return 0
        by_type: dict[str, list[RuleOut]] = {}
        for rule in rules:
            by_type.setdefault(rule.event_type, []).append(rule)
        matches: list[tuple[scrm.EventOut, int, RuleOut]] = []  # (event, its member, rule)
        for event in events:
            candidates = by_type.get(event.type)
            if not candidates or event.member_id is None:  # a workspace event credits no one
                continue
            at = event.occurred_at
            for rule in candidates:
                if rule.starts_at is not None and at < rule.starts_at:
                    continue
                if rule.ends_at is not None and at >= rule.ends_at:
                    continue
                if holds(rule.conditions, event.properties):
                    matches.append((event, event.member_id, rule))
        if not matches:
            return 0
        ledger = Ledger(kernel, ws, settings)
        members = {member_id for _, member_id, _ in matches}
        await ledger.lock(members)  # serialises deliveries touching the same members (caps, balances)
        done = await self._awarded(ws.id, [event.id for event, _, _ in matches])
        capped = {rule.id: rule for _, _, rule in matches if rule.daily_cap is not None or rule.total_cap is not None}
        usage = await self._usage(ws.id, capped, members) if capped else Usage({}, {})
        credits: list[Credit] = []
        used_today: dict[tuple[int, int, date], int] = {}
        for event, member_id, rule in matches:
            event_id, at = event.id, event.occurred_at
            if (rule.id, event_id) in done:
                continue
            amount = rule.points
            day = clock.local_day(at, ws.time_zone)
            if rule.id in capped:
                amount = usage.allowance(rule, member_id, day, amount)
                if amount <= 0:
                    continue
                usage.add(rule.id, member_id, day, amount)
                key = (rule.id, member_id, day)
                used_today[key] = used_today.get(key, 0) + amount
            credits.append(
                Credit(
                    member_id=member_id,
                    amount=amount,
                    kind="award",
                    reason=rule.name,
                    reference=f"rule:{rule.id}:event:{event_id}",
                    earned_at=at,
                    rule_id=rule.id,
                    event_id=event_id,
                )
            )
        credited = await ledger.credit(credits)
        if used_today:
            await self._record_usage(ws.id, used_today)
        return len(credited.transactions)

    async def _awarded(self, ws_id: int, event_ids: list[int]) -> set[tuple[int, int]]:
        """(rule, event) pairs already awarded: a redelivered event earns nothing again."""
        condition, arg = self.sql.any_of("event_id", sorted(set(event_ids)))
        rows = await self.sql.fetch(
            f"SELECT rule_id, event_id FROM points_transaction WHERE workspace = {{}} AND {condition} "
            "AND rule_id IS NOT NULL",
            ws_id,
            arg,
        )
        return {(int(row["rule_id"]), int(row["event_id"])) for row in rows}

    async def _usage(self, ws_id: int, rules: dict[int, RuleOut], members: set[int]) -> Usage:
        rule_condition, rule_arg = self.sql.any_of("rule_id", sorted(rules))
        member_condition, member_arg = self.sql.any_of("member_id", sorted(members))
        rows = await self.sql.fetch(
            f"SELECT rule_id, member_id, day, points FROM points_rule_usage WHERE workspace = {{}} AND {rule_condition} "
            f"AND {member_condition}",
            ws_id,
            rule_arg,
            member_arg,
        )
        daily: dict[tuple[int, int, date], int] = {}
        total: dict[tuple[int, int], int] = {}
        for row in rows:
            rule_id, member_id, points = int(row["rule_id"]), int(row["member_id"]), int(row["points"])
            daily[(rule_id, member_id, scrm.as_date(row["day"]))] = points
            total[(rule_id, member_id)] = total.get((rule_id, member_id), 0) + points
        return Usage(daily, total)

    async def _record_usage(self, ws_id: int, used: dict[tuple[int, int, date], int]) -> None:
        sql = self.sql
        await sql.fetch(
            "INSERT INTO points_rule_usage (workspace, rule_id, member_id, day, points) "
            f"SELECT {{}}, x.rule_id, x.member_id, x.day, x.points FROM {sql.rows(_USAGE_COLUMNS)} WHERE true "
            "ON CONFLICT (rule_id, member_id, day) DO UPDATE SET points = points_rule_usage.points + excluded.points",
            ws_id,
            sql.encode(
                {"rule_id": rule_id, "member_id": member_id, "day": day, "points": points}
                for (rule_id, member_id, day), points in sorted(used.items())
            ),
        )


@dataclass
class Usage:
    """Points capped rules gave members: per day, and in total."""

    daily: dict[tuple[int, int, date], int]
    total: dict[tuple[int, int], int]

    def allowance(self, rule: RuleOut, member_id: int, day: date, points: int) -> int:
        if rule.daily_cap is not None:
            points = min(points, rule.daily_cap - self.daily.get((rule.id, member_id, day), 0))
        if rule.total_cap is not None:
            points = min(points, rule.total_cap - self.total.get((rule.id, member_id), 0))
        return points

    def add(self, rule_id: int, member_id: int, day: date, points: int) -> None:
        self.daily[(rule_id, member_id, day)] = self.daily.get((rule_id, member_id, day), 0) + points
        self.total[(rule_id, member_id)] = self.total.get((rule_id, member_id), 0) + points
