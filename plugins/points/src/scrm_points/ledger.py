"""The ledger: append-only transactions, lots that expire, and the balance kept beside them.

Every change of a member's points is one row of ``points_transaction`` (signed ``amount``, a
``reference`` unique in the workspace) written in the same database transaction as the member's
``points_account`` row (balance, lifetime earned points, tier) and the lots it touches:

* a **credit** adds a lot (expiring ``expiry_months`` after it was earned) and raises the balance;
* a **debit** locks the account row, refuses (409 ``points-insufficient``) having written nothing
  when the balance is short, lowers it with ``UPDATE … WHERE balance >= amount`` (a CHECK constraint
  keeps it from going below zero whatever happens), and takes the points from the lots that expire
  first (first in, first out);
* a reference used before changes nothing: that is what makes awards, spends and reversals
  idempotent (the unique index decides, also between concurrent requests).

So at every commit: balance = sum of the member's transactions = sum of the remaining points of
their lots. Callers open the transaction (``kernel.db.transaction()``) around these methods.

On PostgreSQL a debit (and a redemption, which is a debit plus a unit of stock and the redemption
row) is **one statement** of data-modifying CTEs (see :data:`_DEBIT`): it locks the account, checks
the balance, writes the transaction, lowers the balance and empties lots in one round trip. Its lots
are read from the statement's snapshot, taken before the account's lock was granted; so the statement
compares the account row it locked with the one in its snapshot (``xmin``, the row version) and,
if another transaction changed the account (and so maybe the lots) in between, writes nothing and
runs again — now holding the lock, with a snapshot that sees the other's commit. Every writer of
lots updates the account row in the same transaction, which is what makes that comparison enough.
SQLite, which runs one writer at a time, takes the same steps one statement after another.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import scrm

from scrm_points import clock, tiers
from scrm_points.config import PointsSettings
from scrm_points.problems import NotEnoughPoints

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
# Credits on PostgreSQL in one statement: the transactions whose reference is new, a lot for each,
# and the balances (a member's credits summed; accounts created or raised in member order). It
# returns the accounts, then the transactions written (one small row each, whatever the batch).
_CREDIT = (
    "WITH x AS (SELECT * FROM json_to_recordset(CAST({rows} AS json)) AS x(member_id bigint, kind text, "
    "amount bigint, reason text, reference text, rule_id bigint, event_id bigint, reverses bigint, "
    "earned_at timestamptz, expires_at timestamptz, earns boolean)), "
    "t AS (INSERT INTO points_transaction (workspace, member_id, kind, amount, reason, reference, rule_id, "
    "event_id, reverses, created_at) SELECT {ws}, member_id, kind, amount, reason, reference, rule_id, event_id, "
    "reverses, {at} FROM x ON CONFLICT (workspace, reference) DO NOTHING RETURNING id, member_id, amount, reference), "
    "l AS (INSERT INTO points_lot (workspace, member_id, transaction_id, amount, remaining, earned_at, expires_at) "
    "SELECT {ws}, t.member_id, t.id, t.amount, t.amount, x.earned_at, x.expires_at FROM t JOIN x USING (reference)), "
    "a AS (INSERT INTO points_account (workspace, member_id, balance, lifetime, tier, updated_at) "
    "SELECT {ws}, t.member_id, SUM(t.amount), SUM(CASE WHEN x.earns THEN t.amount ELSE 0 END), NULL, {at} "
    "FROM t JOIN x USING (reference) GROUP BY t.member_id ORDER BY t.member_id "
    "ON CONFLICT (workspace, member_id) DO UPDATE SET balance = points_account.balance + excluded.balance, "
    "lifetime = points_account.lifetime + excluded.lifetime, updated_at = excluded.updated_at "
    "RETURNING member_id, balance, lifetime, tier) "
    "SELECT member_id, balance, lifetime, tier, NULL AS reference, NULL AS id FROM a "
    "UNION ALL SELECT NULL, NULL, NULL, NULL, reference, id FROM t"
)
_TIER_COLUMNS = [("member_id", "bigint"), ("from_tier", "text"), ("to_tier", "text"), ("lifetime", "bigint")]
#: Runs of the one-statement debit inside a transaction: the second holds the lock, so it is fresh.
_DEBIT_ATTEMPTS = 2

# The one-statement debit on PostgreSQL: ``held`` locks the account (first, so every path locks
# account before reward) and ``state`` says whether the snapshot is fresh; ``go`` (spend or reward)
# yields the amount and reason only when it is and the balance suffices; then the transaction (a
# used reference writes nothing more), the balance, the lots (those expiring first first).
_HELD = (
    "WITH snap AS (SELECT CAST(xmin AS text) AS v FROM points_account WHERE workspace = {ws} AND member_id = {member}), "
    "held AS MATERIALIZED (SELECT balance, CAST(xmin AS text) AS v FROM points_account "
    "WHERE workspace = {ws} AND member_id = {member} FOR UPDATE), "
    "state AS (SELECT COALESCE((SELECT balance FROM held), 0) AS balance, "
    "(SELECT v FROM held) IS NOT DISTINCT FROM (SELECT v FROM snap) AS fresh), "
)
_SPEND = (
    "go AS (SELECT CAST({amount} AS bigint) AS amount, CAST({reason} AS text) AS reason FROM state "
    "WHERE fresh AND balance >= CAST({amount} AS bigint)), "
)
_REWARD = (  # unlimited stock is read, not updated: redemptions of it do not queue on the reward's row
    "stock AS (UPDATE points_reward SET stock = stock - 1 WHERE workspace = {ws} AND id = {reward} AND active "
    "AND stock > 0 AND (SELECT fresh AND balance >= points_reward.cost FROM state) RETURNING cost, name), "
    "go AS (SELECT cost AS amount, 'reward: ' || name AS reason, name FROM stock UNION ALL "
    "SELECT cost, 'reward: ' || name, name FROM points_reward WHERE workspace = {ws} AND id = {reward} AND active "
    "AND stock IS NULL AND (SELECT fresh AND balance >= points_reward.cost FROM state)), "
)
_DEBIT = (
    "t AS (INSERT INTO points_transaction (workspace, member_id, kind, amount, reason, reference, reverses, created_at) "
    "SELECT {ws}, {member}, {kind}, -go.amount, go.reason, {reference}, {reverses}, {at} FROM go "
    "ON CONFLICT (workspace, reference) DO NOTHING RETURNING id, -amount AS amount), "
    "a AS (UPDATE points_account SET balance = balance - t.amount, "
    "lifetime = CASE WHEN lifetime > {unearn} THEN lifetime - {unearn} ELSE 0 END, updated_at = {at} FROM t "
    "WHERE workspace = {ws} AND member_id = {member} AND balance >= t.amount "
    "RETURNING member_id, balance, lifetime, tier), "
    "o AS (SELECT l.id, l.remaining, CAST(SUM(l.remaining) OVER (ORDER BY l.expires_at IS NULL, l.expires_at, l.id) "
    "AS BIGINT) AS upto FROM points_lot l WHERE l.workspace = {ws} AND l.member_id = {member} AND l.remaining > 0 "
    "AND EXISTS (SELECT 1 FROM t)), "
    "lots AS (UPDATE points_lot SET remaining = points_lot.remaining - (CASE WHEN o.upto <= t.amount THEN o.remaining "
    "ELSE t.amount - (o.upto - o.remaining) END) FROM o, t WHERE points_lot.id = o.id AND o.upto - o.remaining < t.amount)"
)
_REDEMPTION = (
    ", r AS (INSERT INTO points_redemption (workspace, member_id, reward_id, reward_name, cost, transaction_id, "
    "created_at) SELECT {ws}, {member}, {reward}, go.name, go.amount, t.id, {at} FROM go, t "
    "RETURNING id, member_id, reward_id, reward_name, cost, transaction_id, created_at)"
)


@dataclass(frozen=True)
class Result:
    """What a one-statement debit reads back: its columns and what they are read from."""

    columns: str
    source: str


_RESULT = Result(
    "state.balance AS held, state.fresh, t.id AS transaction_id, a.member_id, a.balance, a.lifetime, a.tier",
    "state LEFT JOIN t ON true LEFT JOIN a ON true",
)
_REDEMPTION_RESULT = Result(
    f"{_RESULT.columns}, r.id AS redemption_id, r.reward_id, r.reward_name, r.cost, r.created_at",
    f"{_RESULT.source} LEFT JOIN r ON true",
)


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


@dataclass(frozen=True)
class Redeemed:
    """A redemption's outcome: its ``points_redemption`` row, or None when the reward was not
    handed out (gone, withdrawn, out of stock: the caller tells which), and the member's balance."""

    row: Any
    balance: int


class Ledger:
    """Writes to the ledger of one workspace with its settings, inside the caller's transaction."""

    def __init__(self, kernel: scrm.Kernel, workspace: scrm.WorkspaceRef, settings: PointsSettings) -> None:
        self.kernel = kernel
        self.sql = kernel.sql
        self.workspace = workspace
        self.ws = workspace.id
        self.settings = settings

    def expires_at(self, earned_at: datetime) -> datetime | None:
        months = self.settings.expiry_months
        return add_months(earned_at, months) if months else None

    async def credit(self, credits: Sequence[Credit], *, retier: bool = True) -> Credited:
        """Write credits whose reference is new; the others change nothing. Moves tiers unless
        ``retier`` is false (the caller does it)."""
        if not credits:
            return Credited()
        by_reference = {c.reference: c for c in credits}
        if self.sql.postgres:
            credited = await self._credit_statement(by_reference.values())
        else:
            credited = await self._credit_stepwise(by_reference)
        if retier:
            await self.retier(credited.accounts.values())
        return credited

    async def _credit_statement(self, credits: Iterable[Credit]) -> Credited:
        """The credits as one statement (:data:`_CREDIT`): transactions, their lots, the balances."""
        rows = await self.sql.run(
            _CREDIT,
            ws=self.ws,
            at=clock.now(),
            rows=self.sql.encode(
                {
                    **_transaction_row(c, c.amount),
                    "earned_at": c.earned_at,
                    "expires_at": self.expires_at(c.earned_at),
                    "earns": c.earns,
                }
                for c in credits
            ),
        )
        written = {row["reference"]: int(row["id"]) for row in rows if row["reference"] is not None}
        return Credited(written, {row["member_id"]: _state(row) for row in rows if row["member_id"] is not None})

    async def _credit_stepwise(self, by_reference: dict[str, Credit]) -> Credited:
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
        return Credited(written, await self._add(deltas, at))

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
        if not self.sql.postgres:
            async with self.kernel.db.transaction():
                return await self._debit_stepwise(debit)
        row = await self._debit_statement(_HELD + _SPEND + _DEBIT, _RESULT, debit, amount=debit.amount)
        if row["transaction_id"] is None:
            if row["held"] < debit.amount:
                raise _short(debit.member_id, int(row["held"]), debit.amount)
            return Posted(None, int(row["held"]))  # the reference was used before: nothing changed
        state = await self._debited(row, debit)
        return Posted(int(row["transaction_id"]), state.balance)

    async def redeem(self, member_id: int, reward_id: int, reference: str) -> Redeemed:
        """Take one unit of the reward's stock (never below 0) and its cost in points, and record
        the redemption; ``Redeemed(None, balance)`` having written nothing when the reward is not
        offered or the member cannot pay for it (the caller says why)."""
        debit = Debit(member_id, 0, "redeem", "", reference)
        if not self.sql.postgres:
            async with self.kernel.db.transaction():
                return await self._redeem_stepwise(debit, reward_id)
        row = await self._debit_statement(
            _HELD + _REWARD + _DEBIT + _REDEMPTION, _REDEMPTION_RESULT, debit, reward=reward_id
        )
        if row["transaction_id"] is None:
            return Redeemed(None, int(row["held"]))
        await self._debited(row, debit)
        return Redeemed(
            {
                "id": row["redemption_id"],
                "member_id": member_id,
                "reward_id": row["reward_id"],
                "reward_name": row["reward_name"],
                "cost": row["cost"],
                "transaction_id": row["transaction_id"],
                "created_at": row["created_at"],
            },
            int(row["balance"]),
        )

    async def _debit_statement(self, ctes: str, result: Result, debit: Debit, **values: Any) -> Any:
        """Run a one-statement debit until its snapshot is fresh. Alone, the statement needs no
        transaction of its own (it is atomic, and commits or writes nothing); when it must run
        again, it does so in one (the caller's, if open), where the second run holds the lock."""
        row = await self._debit_once(ctes, result, debit, values)
        if row["fresh"]:
            return row
        async with self.kernel.db.transaction():
            for _ in range(_DEBIT_ATTEMPTS):
                row = await self._debit_once(ctes, result, debit, values)
                if row["fresh"]:
                    return row
        raise RuntimeError("the account kept changing under its own lock")  # cannot happen: we hold the lock

    async def _debit_once(self, ctes: str, result: Result, debit: Debit, values: dict[str, Any]) -> Any:
        """One run of a debit's statement. Outside a transaction it carries the request's audit record
        (``kernel.audit.appending``), appended if the points' transaction went in: one commit for the
        write and its record, instead of a second statement after it that every other write of the
        workspace would wait for (the trail's head is locked until it commits)."""
        appending = self.kernel.audit.appending(self.ws, "EXISTS (SELECT 1 FROM t)")
        audit_ctes, audit_values = appending.named() if appending is not None else ("", {})
        statement = (
            f"WITH RECURSIVE {ctes.removeprefix('WITH ')}, {audit_ctes} "
            f"SELECT {result.columns}, (SELECT count(*) FROM audit_moved) AS audit_moved FROM {result.source}"
            if appending is not None
            else f"{ctes} SELECT {result.columns} FROM {result.source}"
        )
        rows = await self.sql.run(
            statement,
            ws=self.ws,
            member=debit.member_id,
            kind=debit.kind,
            reason=debit.reason,
            reference=debit.reference,
            reverses=debit.reverses,
            unearn=debit.unearn,
            at=clock.now(),
            **values,
            **audit_values,
        )
        row = rows[0]
        if appending is not None and row["transaction_id"] is not None:
            await self.kernel.audit.appended(appending, row["audit_moved"])
        return row

    async def _debited(self, row: Any, debit: Debit) -> AccountState:
        """The account after a one-statement debit that wrote its transaction."""
        if row["balance"] is None:  # unreachable under the lock; the database has the last word
            raise _short(debit.member_id, int(row["held"]), debit.amount)
        state = _state(row)
        if debit.unearn:
            await self.retier([state])
        return state

    async def _redeem_stepwise(self, debit: Debit, reward_id: int) -> Redeemed:
        rows = await self.sql.fetch(
            "UPDATE points_reward SET stock = stock - 1 WHERE workspace = {} AND id = {} AND active = {} "
            "AND (stock IS NULL OR stock > 0) RETURNING name, cost",
            self.ws,
            reward_id,
            True,
        )
        if not rows:
            return Redeemed(None, 0)
        name, cost = rows[0]["name"], int(rows[0]["cost"])
        posted = await self._debit_stepwise(Debit(debit.member_id, cost, "redeem", f"reward: {name}", debit.reference))
        created = await self.sql.fetch(
            "INSERT INTO points_redemption (workspace, member_id, reward_id, reward_name, cost, transaction_id, "
            "created_at) VALUES ({}, {}, {}, {}, {}, {}, {}) RETURNING id, member_id, reward_id, reward_name, cost, "
            "transaction_id, created_at",
            self.ws,
            debit.member_id,
            reward_id,
            name,
            cost,
            posted.transaction_id,
            clock.now(),
        )
        return Redeemed(created[0], posted.balance)

    async def _debit_stepwise(self, debit: Debit) -> Posted:
        sql = self.sql
        rows = await sql.fetch(
            "SELECT balance FROM points_account WHERE workspace = {} AND member_id = {}", self.ws, debit.member_id
        )
        balance = int(rows[0]["balance"]) if rows else 0
        if balance < debit.amount:
            raise _short(debit.member_id, balance, debit.amount)
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
        if not updated:  # SQLite's write lock makes this unreachable; the database has the last word
            raise _short(debit.member_id, balance, debit.amount)
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

    async def retier(self, accounts: Iterable[AccountState]) -> None:
        """Move members whose lifetime points now reach another tier, in the caller's transaction:
        the account's tier, the history row in ``points_tier_change``, and the core's facts (tag
        ``tier:<name>`` and event ``points.tier_changed``, see :mod:`scrm_points.tiers`)."""
        if not self.settings.tiers:
            return
        moves = [
            {"member_id": a.member_id, "from_tier": a.tier, "to_tier": tier, "lifetime": a.lifetime}
            for a in accounts
            if (tier := self.settings.tier_for(a.lifetime)) != a.tier
        ]
        if not moves:
            return
        sql = self.sql
        rows = sql.encode(moves)
        await sql.fetch(
            f"UPDATE points_account SET tier = x.to_tier FROM {sql.rows(_TIER_COLUMNS)} "
            "WHERE points_account.workspace = {} AND points_account.member_id = x.member_id",
            rows,
            self.ws,
        )
        written = await sql.fetch(
            "INSERT INTO points_tier_change (workspace, member_id, from_tier, to_tier, lifetime, created_at) "
            f"SELECT {{}}, x.member_id, x.from_tier, x.to_tier, x.lifetime, {{}} FROM {sql.rows(_TIER_COLUMNS)} "
            "WHERE true RETURNING id, member_id, from_tier, to_tier, lifetime",
            self.ws,
            clock.now(),
            rows,
        )
        await tiers.announce(self.kernel, self.workspace, written)

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


def _short(member_id: int, balance: int, needed: int) -> NotEnoughPoints:
    return NotEnoughPoints(
        f"Member {member_id} has {balance} points; {needed} are needed", balance=balance, needed=needed
    )


def _state(row: Any) -> AccountState:
    return AccountState(
        member_id=int(row["member_id"]), balance=int(row["balance"]), lifetime=int(row["lifetime"]), tier=row["tier"]
    )
