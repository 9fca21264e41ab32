"""The ledger: append-only transactions, lots that expire, and the balance kept beside them.

Every change of a member's points is one row of ``points_transaction`` (signed ``amount``, a
``reference`` unique in the workspace) written in the same database transaction as the member's
``points_account`` row (balance, lifetime earned points, tier) and the lots it touches:

* a **credit** adds a lot (expiring ``expiry_months`` after it was earned) and raises the balance;
* a **debit** locks the account row, refuses (409 ``points-insufficient``) before writing anything
  when the balance is short, lowers it with ``UPDATE … WHERE balance >= amount`` (a CHECK constraint
  keeps it from going below zero whatever happens), and takes the points from the lots that expire
  first (first in, first out);
* a reference used before changes nothing: that is what makes awards, spends and reversals
  idempotent (the unique index decides, also between concurrent requests).

So at every commit: balance = sum of the member's transactions = sum of the remaining points of
their lots. Callers open the transaction (``kernel.db.transaction()``) around these methods.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scrm_points import clock
from scrm_points.config import PointsSettings
from scrm_points.problems import NotEnoughPoints
from scrm_points.sql import Sql

#: Kinds of transaction whose positive amounts count toward lifetime points (and so tiers).
EARNING_KINDS = frozenset({"award", "adjust"})
_TRANSACTION_COLUMNS = [
    ("member_id", "bigint"),
    ("kind", "text"),
    ("amount", "bigint"),
    ("reason", "text"),
    ("reference", "text"),
    ("rule_id", "bigint"),
    ("event_id", "bigint"),
    ("reverses", "bigint"),
]
_LOT_COLUMNS = [
    ("member_id", "bigint"),
    ("transaction_id", "bigint"),
    ("amount", "bigint"),
    ("earned_at", "timestamptz"),
    ("expires_at", "timestamptz"),
]
_DELTA_COLUMNS = [("member_id", "bigint"), ("balance", "bigint"), ("lifetime", "bigint")]


def add_months(at: datetime, months: int) -> datetime:
    """``at`` plus calendar months (the 31st of a shorter month becomes its last day)."""
    month0 = at.month - 1 + months
    year, month = at.year + month0 // 12, month0 % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Credit:
    """Points given to a member: a transaction, a lot, a higher balance."""

    member_id: int
    amount: int  # > 0
    kind: str
    reason: str
    reference: str
    earned_at: datetime  # the lot expires counting from here
    earns: bool = True  # counts toward lifetime points
    rule_id: int | None = None
    event_id: int | None = None
    reverses: int | None = None


@dataclass(frozen=True)
class Debit:
    """Points taken from a member: refused when the balance is short."""

    member_id: int
    amount: int  # > 0, taken off the balance
    kind: str
    reason: str
    reference: str
    unearn: int = 0  # lifetime points taken back too (a reversed award)
    reverses: int | None = None


@dataclass(frozen=True)
class AccountState:
    member_id: int
    balance: int
    lifetime: int
    tier: str | None


@dataclass
class Credited:
    """What a credit changed: the transactions written (by reference) and the accounts after it."""

    transactions: dict[str, int] = field(default_factory=dict)
    accounts: dict[int, AccountState] = field(default_factory=dict)


@dataclass(frozen=True)
class Posted:
    """A debit's outcome: the new transaction (None when the reference was used before) and balance."""

    transaction_id: int | None
    balance: int


class Ledger:
    """Writes to the ledger of one workspace with its settings, inside the caller's transaction."""

    def __init__(self, sql: Sql, workspace_id: int, settings: PointsSettings) -> None:
        self.sql = sql
        self.ws = workspace_id
        self.settings = settings

    def expires_at(self, earned_at: datetime) -> datetime | None:
        months = self.settings.expiry_months
        return add_months(earned_at, months) if months else None

    async def credit(self, credits: Sequence[Credit]) -> Credited:
        """Write credits whose reference is new; the others change nothing."""
        if not credits:
            return Credited()
        by_reference = {c.reference: c for c in credits}
        sql = self.sql
        at = clock.now()
        rows = await sql.fetch(
            "INSERT INTO points_transaction (workspace, member_id, kind, amount, reason, reference, rule_id, "
            "event_id, reverses, created_at) SELECT {}, x.member_id, x.kind, x.amount, x.reason, x.reference, "
            f"x.rule_id, x.event_id, x.reverses, {{}} FROM {sql.rows(_TRANSACTION_COLUMNS)} WHERE true "
            "ON CONFLICT (workspace, reference) DO NOTHING RETURNING id, reference",
            self.ws,
            at,
            sql.encode(_transaction_row(c, c.amount) for c in by_reference.values()),
        )
        written = {row["reference"]: row["id"] for row in rows}
        if not written:
            return Credited()
        fresh = [by_reference[reference] for reference in written]
        await sql.fetch(
            "INSERT INTO points_lot (workspace, member_id, transaction_id, amount, remaining, earned_at, expires_at) "
            f"SELECT {{}}, x.member_id, x.transaction_id, x.amount, x.amount, x.earned_at, x.expires_at "
            f"FROM {sql.rows(_LOT_COLUMNS)} WHERE true",
            self.ws,
            sql.encode(
                {
                    "member_id": c.member_id,
                    "transaction_id": written[c.reference],
                    "amount": c.amount,
                    "earned_at": c.earned_at,
                    "expires_at": self.expires_at(c.earned_at),
                }
                for c in fresh
            ),
        )
        deltas: dict[int, list[int]] = {}
        for c in fresh:
            delta = deltas.setdefault(c.member_id, [0, 0])
            delta[0] += c.amount
            delta[1] += c.amount if c.earns else 0
        accounts = await self._add(deltas, at)
        await self.retier(accounts.values())
        return Credited(written, accounts)

    async def _add(self, deltas: dict[int, list[int]], at: datetime) -> dict[int, AccountState]:
        sql = self.sql
        rows = await sql.fetch(
            "INSERT INTO points_account (workspace, member_id, balance, lifetime, tier, updated_at) "
            f"SELECT {{}}, x.member_id, x.balance, x.lifetime, NULL, {{}} FROM {sql.rows(_DELTA_COLUMNS)} WHERE true "
            "ON CONFLICT (workspace, member_id) DO UPDATE SET balance = points_account.balance + excluded.balance, "
            "lifetime = points_account.lifetime + excluded.lifetime, updated_at = excluded.updated_at "
            "RETURNING member_id, balance, lifetime, tier",
            self.ws,
            at,
            sql.encode({"member_id": m, "balance": d[0], "lifetime": d[1]} for m, d in sorted(deltas.items())),
        )
        return {row["member_id"]: _state(row) for row in rows}

    async def lock(self, member_ids: Iterable[int]) -> dict[int, AccountState]:
        """Make sure the members have accounts and lock them (in id order, so two deliveries
        locking overlapping members cannot deadlock); returns their state."""
        sql = self.sql
        ids = sorted(set(member_ids))
        at = clock.now()
        await sql.fetch(
            "INSERT INTO points_account (workspace, member_id, balance, lifetime, tier, updated_at) "
            f"SELECT {{}}, x.member_id, 0, 0, NULL, {{}} FROM {sql.rows([('member_id', 'bigint')])} WHERE true "
            "ON CONFLICT (workspace, member_id) DO NOTHING",
            self.ws,
            at,
            sql.encode({"member_id": m} for m in ids),
        )
        condition, arg = sql.any_of("member_id", ids)
        rows = await sql.fetch(
            f"SELECT member_id, balance, lifetime, tier FROM points_account WHERE workspace = {{}} AND {condition} "
            f"ORDER BY member_id{sql.for_update}",
            self.ws,
            arg,
        )
        return {row["member_id"]: _state(row) for row in rows}

    async def debit(self, debit: Debit) -> Posted:
        """Take points from a member, or raise :class:`NotEnoughPoints` having written nothing."""
        sql = self.sql
        rows = await sql.fetch(
            "SELECT balance FROM points_account WHERE workspace = {} AND member_id = {}" + sql.for_update,
            self.ws,
            debit.member_id,
        )
        balance = int(rows[0]["balance"]) if rows else 0
        if balance < debit.amount:
            raise NotEnoughPoints(
                f"Member {debit.member_id} has {balance} points; {debit.amount} are needed",
                balance=balance,
                needed=debit.amount,
            )
        at = clock.now()
        written = await sql.fetch(
            "INSERT INTO points_transaction (workspace, member_id, kind, amount, reason, reference, reverses, "
            "created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}) ON CONFLICT (workspace, reference) DO NOTHING "
            "RETURNING id",
            self.ws,
            debit.member_id,
            debit.kind,
            -debit.amount,
            debit.reason,
            debit.reference,
            debit.reverses,
            at,
        )
        if not written:  # the reference was used before: nothing changes
            return Posted(None, balance)
        updated = await sql.fetch(
            "UPDATE points_account SET balance = balance - {}, "
            "lifetime = CASE WHEN lifetime > {} THEN lifetime - {} ELSE 0 END, updated_at = {} "
            "WHERE workspace = {} AND member_id = {} AND balance >= {} RETURNING member_id, balance, lifetime, tier",
            debit.amount,
            debit.unearn,
            debit.unearn,
            at,
            self.ws,
            debit.member_id,
            debit.amount,
        )
        if not updated:  # the row lock above makes this unreachable; the database has the last word
            raise NotEnoughPoints(f"Member {debit.member_id} does not have {debit.amount} points")
        await self.consume(debit.member_id, debit.amount)
        state = _state(updated[0])
        if debit.unearn:
            await self.retier([state])
        return Posted(int(written[0]["id"]), state.balance)

    async def consume(self, member_id: int, amount: int) -> None:
        """Take ``amount`` points from the member's lots, those expiring first first (lots that
        never expire last, older before newer): one statement, whatever the number of lots."""
        await self.sql.fetch(
            "WITH ordered AS (SELECT id, remaining, CAST(SUM(remaining) OVER "
            "(ORDER BY expires_at IS NULL, expires_at, id) AS BIGINT) AS upto "
            "FROM points_lot WHERE workspace = {} AND member_id = {} AND remaining > 0) "
            "UPDATE points_lot SET remaining = points_lot.remaining - "
            "(CASE WHEN o.upto <= CAST({} AS BIGINT) THEN o.remaining ELSE CAST({} AS BIGINT) - (o.upto - o.remaining) END) "
            "FROM ordered o WHERE points_lot.id = o.id AND o.upto - o.remaining < CAST({} AS BIGINT)",
            self.ws,
            member_id,
            amount,
            amount,
            amount,
        )

    async def retier(self, accounts: Iterable[AccountState]) -> list[int]:
        """Move members whose lifetime points now reach another tier; the change is recorded in
        ``points_tier_change`` (history, and what :func:`scrm_points.tiers.apply` turns into the tag
        and the event). Returns the members whose tier changed."""
        if not self.settings.tiers:
            return []
        moves = [(a, self.settings.tier_for(a.lifetime)) for a in accounts]
        moves = [(a, tier) for a, tier in moves if tier != a.tier]
        at = clock.now()
        for account, tier in moves:
            await self.sql.fetch(
                "UPDATE points_account SET tier = {} WHERE workspace = {} AND member_id = {}",
                tier,
                self.ws,
                account.member_id,
            )
            await self.sql.fetch(
                "INSERT INTO points_tier_change (workspace, member_id, from_tier, to_tier, lifetime, created_at) "
                "VALUES ({}, {}, {}, {}, {}, {})",
                self.ws,
                account.member_id,
                account.tier,
                tier,
                account.lifetime,
                at,
            )
        return [account.member_id for account, _ in moves]

    async def expire(self, member_id: int, at: datetime) -> int:
        """Expire the member's lots due at ``at``: one ``expire`` transaction per lot (reference
        ``expire:lot:<id>``, so running twice expires nothing twice); returns the points expired."""
        sql = self.sql
        await sql.fetch(
            "SELECT balance FROM points_account WHERE workspace = {} AND member_id = {}" + sql.for_update,
            self.ws,
            member_id,
        )
        lots = await sql.fetch(
            "SELECT id, remaining FROM points_lot WHERE workspace = {} AND member_id = {} AND remaining > 0 "
            "AND expires_at <= {} ORDER BY id",
            self.ws,
            member_id,
            at,
        )
        if not lots:
            return 0
        rows = await sql.fetch(
            "INSERT INTO points_transaction (workspace, member_id, kind, amount, reason, reference, created_at) "
            f"SELECT {{}}, x.member_id, x.kind, x.amount, x.reason, x.reference, {{}} "
            f"FROM {sql.rows(_TRANSACTION_COLUMNS)} WHERE true "
            "ON CONFLICT (workspace, reference) DO NOTHING RETURNING reference",
            self.ws,
            clock.now(),
            sql.encode(
                {
                    "member_id": member_id,
                    "kind": "expire",
                    "amount": -int(lot["remaining"]),
                    "reason": "points expired",
                    "reference": f"expire:lot:{lot['id']}",
                }
                for lot in lots
            ),
        )
        expired = {row["reference"] for row in rows}
        due = [lot for lot in lots if f"expire:lot:{lot['id']}" in expired]
        if not due:
            return 0
        total = sum(int(lot["remaining"]) for lot in due)
        condition, arg = sql.any_of("id", [lot["id"] for lot in due])
        await sql.fetch(f"UPDATE points_lot SET remaining = 0 WHERE workspace = {{}} AND {condition}", self.ws, arg)
        await sql.fetch(
            "UPDATE points_account SET balance = balance - {}, updated_at = {} WHERE workspace = {} AND member_id = {}",
            total,
            clock.now(),
            self.ws,
            member_id,
        )
        return total


def _transaction_row(c: Credit, amount: int) -> dict[str, Any]:
    return {
        "member_id": c.member_id,
        "kind": c.kind,
        "amount": amount,
        "reason": c.reason,
        "reference": c.reference,
        "rule_id": c.rule_id,
        "event_id": c.event_id,
        "reverses": c.reverses,
    }


def _state(row: Any) -> AccountState:
    return AccountState(
        member_id=int(row["member_id"]), balance=int(row["balance"]), lifetime=int(row["lifetime"]), tier=row["tier"]
    )
