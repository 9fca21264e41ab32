"""Check-in (签到): once per member per day of the workspace's time zone, with a streak.

The day's row in ``points_checkin`` (unique per member and day: the database decides between two
concurrent check-ins), the streak (yesterday's plus one, else 1), the points (``checkin_points``
plus the bonus of a streak of exactly N days) and their credit in the ledger. On PostgreSQL that is
one statement (:data:`_CHECKIN`), also for many members at once (a group commit's batch); on SQLite, which runs one writer at a time, the same steps one
after another. The caller opens the transaction and records the ``points.checkin`` event in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
import scrm

from scrm_points.ledger import AccountState, Credit, Ledger


@dataclass(frozen=True)
class CheckedIn:
    streak: int
    points: int
    bonus: int
    account: AccountState | None  # after the credit; None when the check-in earned nothing
    balance: int


# Check-ins of many members (a group commit's batch, or one) on one day: each member's previous
# check-in gives the streak, the bonus comes from the settings' JSON; the check-in rows (nothing for a
# member whose row of the day exists: no row comes back for it), then — for those that earn — the
# transactions, their lots and the balances. The reason and reference are those of the stepwise path.
# One member at most once per call (two upserts of one account in a statement are an error).
_CHECKIN = (
    "WITH input AS (SELECT * FROM unnest({members}::bigint[], {ats}::timestamptz[], {expires}::timestamptz[], "
    "{refs}::text[]) AS x(member, at, expires, reference)), "
    "s AS (SELECT input.*, CASE WHEN prev.day = CAST({day} AS date) - 1 THEN prev.streak + 1 ELSE 1 END AS streak "
    "FROM input LEFT JOIN LATERAL (SELECT day, streak FROM points_checkin WHERE workspace = {ws} "
    "AND member_id = input.member ORDER BY day DESC LIMIT 1) AS prev ON true "
    "WHERE prev.day IS NULL OR prev.day < CAST({day} AS date)), "
    "b AS (SELECT s.*, COALESCE(CAST(CAST({bonuses} AS jsonb) ->> CAST(streak AS text) AS bigint), 0) AS bonus "
    "FROM s), "
    "c AS (INSERT INTO points_checkin (workspace, member_id, day, streak, points, created_at) "
    "SELECT {ws}, member, {day}, streak, CAST({base} AS bigint) + bonus, at FROM b ORDER BY member "
    "ON CONFLICT (workspace, member_id, day) DO NOTHING RETURNING member_id, streak, points), "
    "t AS (INSERT INTO points_transaction (workspace, member_id, kind, amount, reason, reference, created_at) "
    "SELECT {ws}, c.member_id, 'award', c.points, CASE WHEN c.streak > 1 THEN 'check-in, day ' || c.streak "
    "|| ' of a streak' ELSE 'check-in' END, b.reference, b.at "
    "FROM c JOIN b ON b.member = c.member_id WHERE c.points > 0 "
    "ON CONFLICT (workspace, reference) DO NOTHING RETURNING id, member_id, amount, created_at), "
    "l AS (INSERT INTO points_lot (workspace, member_id, transaction_id, amount, remaining, earned_at, expires_at) "
    "SELECT {ws}, t.member_id, t.id, t.amount, t.amount, t.created_at, b.expires FROM t JOIN b ON b.member = t.member_id), "
    "a AS (INSERT INTO points_account (workspace, member_id, balance, lifetime, tier, updated_at) "
    "SELECT {ws}, member_id, amount, amount, NULL, created_at FROM t ORDER BY member_id "
    "ON CONFLICT (workspace, member_id) DO UPDATE "
    "SET balance = points_account.balance + excluded.balance, lifetime = points_account.lifetime + excluded.lifetime, "
    "updated_at = excluded.updated_at RETURNING member_id, balance, lifetime, tier) "
    "SELECT c.member_id AS member, c.streak, c.points, a.member_id, a.balance, a.lifetime, a.tier, "
    "(SELECT balance FROM points_account p WHERE p.workspace = {ws} AND p.member_id = c.member_id) AS before "
    "FROM c LEFT JOIN a ON a.member_id = c.member_id"
)


def reference(member_id: int, day: date) -> str:
    return f"checkin:{member_id}:{day.isoformat()}"


def reason(streak: int) -> str:
    return f"check-in, day {streak} of a streak" if streak > 1 else "check-in"


async def check_in(ledger: Ledger, member_id: int, day: date, at: datetime) -> CheckedIn | None:
    """Write the member's check-in of ``day`` and its points; None when that day has one already.
    The caller moves the tier (:meth:`Ledger.retier` of the account), once the member is known good."""
    if not ledger.sql.postgres:
        return await _stepwise(ledger, member_id, day, at)
    [done] = await check_in_many(ledger, [(member_id, at)], day)
    return done


async def check_in_many(ledger: Ledger, members: Sequence[tuple[int, datetime]], day: date) -> list[CheckedIn | None]:
    """PostgreSQL: the check-ins of ``day`` of several members (each once), at their times, in one
    statement; for each, what :func:`check_in` gives."""
    settings = ledger.settings
    rows = await ledger.sql.run(
        _CHECKIN,
        ws=ledger.ws,
        members=[member for member, _ in members],
        ats=[at for _, at in members],
        expires=[ledger.expires_at(at) for _, at in members],
        day=day,
        refs=[reference(member, day) for member, _ in members],
        bonuses=msgspec.json.encode({str(n): p for n, p in settings.streak_bonuses.items()}).decode(),
        base=settings.checkin_points,
    )
    by_member = {int(row["member"]): row for row in rows}
    return [_checked_in(settings.checkin_points, by_member.get(member)) for member, _ in members]


def _checked_in(base: int, row: Any) -> CheckedIn | None:
    if row is None:
        return None
    streak, points = int(row["streak"]), int(row["points"])
    if row["balance"] is None:  # earned nothing: the balance is what it was
        return CheckedIn(streak, points, points - base, None, int(row["before"] or 0))
    account = AccountState(int(row["member_id"]), int(row["balance"]), int(row["lifetime"]), row["tier"])
    return CheckedIn(streak, points, points - base, account, account.balance)


async def _stepwise(ledger: Ledger, member_id: int, day: date, at: datetime) -> CheckedIn | None:
    sql, settings = ledger.sql, ledger.settings
    rows = await sql.fetch(
        "SELECT day, streak FROM points_checkin WHERE workspace = {} AND member_id = {} ORDER BY day DESC LIMIT 1",
        ledger.ws,
        member_id,
    )
    last = scrm.as_date(rows[0]["day"]) if rows else None
    if last is not None and last >= day:
        return None
    streak = int(rows[0]["streak"]) + 1 if last is not None and last == day - timedelta(days=1) else 1
    bonus = settings.streak_bonuses.get(streak, 0)
    points = settings.checkin_points + bonus
    inserted = await sql.fetch(
        "INSERT INTO points_checkin (workspace, member_id, day, streak, points, created_at) "
        "VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT (workspace, member_id, day) DO NOTHING RETURNING streak",
        ledger.ws,
        member_id,
        day,
        streak,
        points,
        at,
    )
    if not inserted:
        return None
    if points:
        credit = Credit(member_id, points, "award", reason(streak), reference(member_id, day), at)
        credited = await ledger.credit([credit], retier=False)
        account = credited.accounts.get(member_id)
        if account is not None:
            return CheckedIn(streak, points, bonus, account, account.balance)
    rows = await sql.fetch(
        "SELECT balance FROM points_account WHERE workspace = {} AND member_id = {}", ledger.ws, member_id
    )
    return CheckedIn(streak, points, bonus, None, int(rows[0]["balance"]) if rows else 0)
