"""The points service: everything the API, the console and other plugins do with points.

One object per kernel (what ``scrm_service`` returns, so other plugins reach it as
``kernel.service("points", ws)``). Its public methods for other plugins are :meth:`balance`,
:meth:`award`, :meth:`spend` and :meth:`refund` (documented in docs/plugins/points.md; their
signatures are an API). The reads the console's pages need — :meth:`account`, :meth:`history`,
:meth:`rules`, :meth:`rewards`, :meth:`leaderboard`, :meth:`redemptions` — are methods here too,
not only routes. Every write is atomic and joins the caller's transaction when one is open (a
spend and the caller's own rows commit, or roll back, together): several statements run inside
``kernel.db.transaction()``; a redemption or a spend on PostgreSQL is one statement, which needs none.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

import msgspec
import scrm

from scrm_points import checkins, clock, config
from scrm_points.config import PointsSettings
from scrm_points.ledger import EARNING_KINDS, Credit, Debit, Ledger
from scrm_points.problems import (
    AlreadyCheckedIn,
    AlreadyReversed,
    MemberErased,
    NotEnoughPoints,
    NotReversible,
    OutOfStock,
    ReferenceReused,
    RewardInactive,
)
from scrm_points.recent import Recent
from scrm_points.rules import Rules
from scrm_points.schemas import (
    AccountOut,
    CheckinOut,
    Leaderboard,
    LeaderboardEntry,
    MemberRef,
    PostedOut,
    RedemptionOut,
    RewardIn,
    RewardOut,
    RewardPatch,
    RuleIn,
    RuleOut,
    RulePatch,
    TransactionOut,
)

#: "Expiring soon" in a member's balance: points of lots expiring within this many days.
EXPIRING_DAYS = 30
#: References the plugin writes itself; other plugins' references may not start with these.
RESERVED_PREFIXES = ("rule:", "checkin:", "expire:", "reverse:", "adjust:", "redemption:")
TRANSACTION_COLUMNS = "id, member_id, kind, amount, reason, reference, rule_id, event_id, reverses, created_at"
REWARD_COLUMNS = "id, name, description, cost, stock, active, created_at, updated_at"
REDEMPTION_COLUMNS = "id, member_id, reward_id, reward_name, cost, transaction_id, created_at"


class PointsService:
    """Points of every workspace, through one kernel."""

    def __init__(self, kernel: scrm.Kernel) -> None:
        self.k = kernel
        self.sql = kernel.sql
        self.rules_store = Rules(self.sql)
        self._settings: Recent[PointsSettings] = Recent()
        self._active_rules: Recent[list[RuleOut]] = Recent()

    # --- the public service (other plugins) ---------------------------------------------------

    async def balance(self, ws: scrm.WorkspaceRef, member_id: int) -> int:
        """The member's points now (0 for a member who never had any)."""
        rows = await self.sql.fetch(
            "SELECT balance FROM points_account WHERE workspace = {} AND member_id = {}", ws.id, member_id
        )
        return int(rows[0]["balance"]) if rows else 0

    def balance_condition(self, ws: scrm.WorkspaceRef, low: int, high: int | None) -> scrm.MemberCondition:
        """Members whose balance is from ``low`` to ``high`` (None: no limit), as SQL over the member
        row ``m`` (the segments plugin's ``points`` clause); a member who never had points has 0."""
        upper, args = (" AND balance <= {}", [high]) if high is not None else ("", [])
        if low > 0:
            return scrm.MemberCondition(
                "m.id IN (SELECT member_id FROM points_account WHERE workspace = {} AND balance >= {}" + upper + ")",
                (ws.id, low, *args),
            )
        if high is None:
            return scrm.MemberCondition("(1 = 1)", ())
        return scrm.MemberCondition(
            "NOT (m.id IN (SELECT member_id FROM points_account WHERE workspace = {} AND balance > {}))", (ws.id, high)
        )

    async def award(self, ws: scrm.WorkspaceRef, member_id: int, amount: int, *, reason: str, reference: str) -> int:
        """Give the member ``amount`` points (they count toward tiers); returns the new balance.
        The same ``reference`` twice awards once (the second call returns the balance)."""
        _check_call(amount, reason, reference)
        await self.member(ws, member_id)
        async with self.k.db.transaction():
            credited = await (await self._ledger(ws)).credit(
                [Credit(member_id, amount, "award", reason, reference, clock.now())]
            )
            if not credited.transactions:
                await self._same_member(ws, reference, member_id)
                return await self.balance(ws, member_id)
            return credited.accounts[member_id].balance

    async def spend(self, ws: scrm.WorkspaceRef, member_id: int, amount: int, *, reason: str, reference: str) -> int:
        """Take ``amount`` points from the member (those expiring first first); returns the new
        balance. Raises ``NotEnoughPoints`` (409 ``points-insufficient``) having changed nothing when
        the balance is short. The same ``reference`` twice spends once."""
        _check_call(amount, reason, reference)
        posted = await (await self._ledger(ws)).debit(Debit(member_id, amount, "redeem", reason, reference))
        if posted.transaction_id is None:
            await self._same_member(ws, reference, member_id)
        return posted.balance

    async def refund(self, ws: scrm.WorkspaceRef, reference: str, *, reason: str) -> int:
        """Give back what the transaction with this ``reference`` took (a spend), or take back what
        it gave (an award); returns the member's new balance. Refunding twice refunds once; an
        unknown reference is a 404."""
        rows = await self.sql.fetch(
            "SELECT id, member_id FROM points_transaction WHERE workspace = {} AND reference = {}", ws.id, reference
        )
        if not rows:
            raise scrm.NotFound(f"No points transaction with reference {reference!r} in this workspace")
        try:
            return (await self.reverse(ws, int(rows[0]["id"]), reason)).balance
        except AlreadyReversed:
            return await self.balance(ws, int(rows[0]["member_id"]))

    # --- members and their accounts -----------------------------------------------------------

    async def member(self, ws: scrm.WorkspaceRef, member_id: int) -> int:
        """The member's id, after checking it is a member of this workspace (404) not erased (409)."""
        return _usable(await self.k.members.get(ws, member_id))

    async def resolve(self, ws: scrm.WorkspaceRef, ref: MemberRef) -> int:
        """The id of a member given by id or by external id (exactly one of them). An external id is
        looked up (404, 409 when erased); an id is returned as given, for :meth:`checkin` and
        :meth:`redeem`, which check it as part of their work (saving a query on the hot paths)."""
        if (ref.member_id is None) == (ref.external_id is None):
            field = "member_id" if ref.member_id is None else "external_id"
            raise scrm.invalid(field, "give exactly one of member_id and external_id")
        if ref.member_id is not None:
            return ref.member_id
        assert ref.external_id is not None
        return _usable(await self.k.members.get_by_external_id(ws, ref.external_id))

    async def account(self, ws: scrm.WorkspaceRef, member_id: int) -> AccountOut:
        """A member's balance, lifetime points, tier and the points expiring soon."""
        await self.k.members.get(ws, member_id)
        at = clock.now()
        rows = await self.sql.fetch(
            "SELECT a.balance, a.lifetime, a.tier, "
            "(SELECT COALESCE(SUM(l.remaining), 0) FROM points_lot l WHERE l.workspace = a.workspace "
            "AND l.member_id = a.member_id AND l.remaining > 0 AND l.expires_at <= {}) AS expiring, "
            "(SELECT MIN(l.expires_at) FROM points_lot l WHERE l.workspace = a.workspace "
            "AND l.member_id = a.member_id AND l.remaining > 0 AND l.expires_at IS NOT NULL) AS next_expiry "
            "FROM points_account a WHERE a.workspace = {} AND a.member_id = {}",
            at + timedelta(days=EXPIRING_DAYS),
            ws.id,
            member_id,
        )
        row: Any = rows[0] if rows else {"balance": 0, "lifetime": 0, "tier": None, "expiring": 0, "next_expiry": None}
        return AccountOut(
            member_id=member_id,
            balance=int(row["balance"]),
            lifetime=int(row["lifetime"]),
            tier=row["tier"],
            expiring_points=int(row["expiring"]),
            expiring_days=EXPIRING_DAYS,
            next_expiry=scrm.as_datetime(row["next_expiry"]),
        )

    async def history(
        self, ws: scrm.WorkspaceRef, member_id: int, cursor: str | None = None, limit: int = scrm.DEFAULT_LIMIT
    ) -> scrm.Page[TransactionOut]:
        """A member's transactions, newest first, a page at a time."""
        await self.k.members.get(ws, member_id)
        before = self.k.cursors.decode("pointshistory", cursor) or scrm.MAX_ID
        rows = await self.sql.fetch(
            f"SELECT {TRANSACTION_COLUMNS} FROM points_transaction WHERE workspace = {{}} AND member_id = {{}} "
            "AND id < CAST({} AS BIGINT) ORDER BY id DESC LIMIT {}",
            ws.id,
            member_id,
            before,
            limit + 1,
        )
        items = [to_transaction(row) for row in rows]
        return self.k.cursors.page("pointshistory", items, [t.id for t in items], limit)

    async def transaction(self, ws: scrm.WorkspaceRef, transaction_id: int) -> TransactionOut:
        rows = await self.sql.fetch(
            f"SELECT {TRANSACTION_COLUMNS} FROM points_transaction WHERE workspace = {{}} AND id = {{}}",
            ws.id,
            transaction_id,
        )
        if not rows:
            raise scrm.NotFound(f"No points transaction {transaction_id} in this workspace")
        return to_transaction(rows[0])

    # --- check-in -----------------------------------------------------------------------------

    async def checkin(self, ws: scrm.WorkspaceRef, member_id: int) -> CheckinOut:
        """Record the member's check-in of today (the workspace's day): the streak of consecutive
        days, base points plus the bonus of a streak reaching a length in ``streak_bonuses``, and
        the event ``points.checkin`` — all in one transaction. A second check-in the same day is a
        409 ``points-already-checked-in``.

        The member is checked by recording the event (the core refuses a member not of this
        workspace, or erased), which rolls the check-in back: then the 404 or 409 says why. So the
        tier, whose tag needs a real member, moves after the event. On PostgreSQL check-ins arriving
        at once share a transaction (:data:`CHECKINS`), each with its own answer."""
        at = clock.now()
        return await CHECKINS.submit(self.k, Checkin(self, ws, member_id, clock.local_day(at, ws.time_zone), at))

    async def _checkin_one(self, item: Checkin) -> CheckinOut:
        """One check-in in its own transaction; its answer, or the problem that refused it."""
        ws, member_id, day = item.ws, item.member_id, item.day
        again = AlreadyCheckedIn(f"Member {member_id} has already checked in on {day}", day=day.isoformat())
        ledger = await self._ledger(ws)
        try:
            async with self.k.db.transaction(on_duplicate=again):
                done = await checkins.check_in(ledger, member_id, day, item.at)
                if done is None:
                    raise again
                await self._after_checkins(ledger, [(item, done)])
        except scrm.ValidationFailed:  # the event's member is not usable: say why (rolled back)
            await self.member(ws, member_id)
            raise
        return item.out(done)

    async def _checkin_batch(self, items: Sequence[Checkin]) -> list[CheckinOut | None]:
        """PostgreSQL: check-ins of one workspace and day (each member once) in one transaction —
        one statement for their rows, one for their events; None for a member already checked in
        (its own write says so). A member not usable fails the batch as a whole."""
        ledger = await self._ledger(items[0].ws)
        async with self.k.db.transaction():
            done = await checkins.check_in_many(ledger, [(i.member_id, i.at) for i in items], items[0].day)
            await self._after_checkins(ledger, [(i, d) for i, d in zip(items, done, strict=True) if d is not None])
        return [None if d is None else i.out(d) for i, d in zip(items, done, strict=True)]

    async def _after_checkins(self, ledger: Ledger, written: list[tuple[Checkin, checkins.CheckedIn]]) -> None:
        """The ``points.checkin`` events (they check the members) and the tiers, in the transaction."""
        if not written:
            return
        events = [
            scrm.NewEvent(
                item.member_id,
                "points.checkin",
                {"day": item.day.isoformat(), "streak": done.streak, "points": done.points, "bonus": done.bonus},
                occurred_at=item.at,
                source="points",
                idempotency_key=f"points.checkin:{item.member_id}:{item.day.isoformat()}",
            )
            for item, done in written
        ]
        await self.k.events.record(ledger.workspace, events)
        accounts = [done.account for _, done in written if done.account is not None]
        if accounts:
            await ledger.retier(accounts)

    # --- operators' changes --------------------------------------------------------------------

    async def adjust(
        self, ws: scrm.WorkspaceRef, member_id: int, amount: int, reason: str, reference: str | None = None
    ) -> PostedOut:
        """Add (positive ``amount``, counted toward tiers) or take away points by hand, with a reason.
        Taking more than the balance is a 409 ``points-insufficient``."""
        if amount == 0:
            raise scrm.invalid("amount", "must not be 0")
        await self.member(ws, member_id)
        reference = f"adjust:{reference or secrets.token_hex(12)}"
        ledger = await self._ledger(ws)
        async with self.k.db.transaction():
            if amount > 0:
                await ledger.credit([Credit(member_id, amount, "adjust", reason, reference, clock.now())])
            else:
                await ledger.debit(Debit(member_id, -amount, "adjust", reason, reference))
            return await self._posted(ws, reference, member_id)

    async def reverse(self, ws: scrm.WorkspaceRef, transaction_id: int, reason: str) -> PostedOut:
        """Undo a transaction with one of the opposite sign (kind ``reverse``): an award taken back
        (its lifetime points too, so the tier may drop; 409 ``points-insufficient`` if the points
        were spent), a spend given back as a new lot. A reversal cannot be reversed; a transaction
        is reversed at most once (409 ``points-already-reversed``)."""
        original = await self.transaction(ws, transaction_id)
        if original.kind == "reverse":
            raise NotReversible(f"Transaction {transaction_id} is itself a reversal")
        reference = f"reverse:{transaction_id}"
        ledger = await self._ledger(ws)
        async with self.k.db.transaction():
            done = await self.sql.fetch(
                "SELECT id FROM points_transaction WHERE workspace = {} AND reference = {}", ws.id, reference
            )
            if done:
                raise AlreadyReversed(
                    f"Transaction {transaction_id} was reversed by transaction {done[0]['id']}",
                    reversal_id=int(done[0]["id"]),
                )
            member_id, amount = original.member_id, original.amount
            if amount > 0:
                unearn = amount if original.kind in EARNING_KINDS else 0
                await ledger.debit(
                    Debit(member_id, amount, "reverse", reason, reference, unearn=unearn, reverses=transaction_id)
                )
            else:
                credit = Credit(
                    member_id, -amount, "reverse", reason, reference, clock.now(), earns=False, reverses=transaction_id
                )
                await ledger.credit([credit])
            return await self._posted(ws, reference, member_id)

    # --- rewards ------------------------------------------------------------------------------

    async def rewards(
        self,
        ws: scrm.WorkspaceRef,
        cursor: str | None = None,
        limit: int = scrm.DEFAULT_LIMIT,
        active: bool | None = None,
    ) -> scrm.Page[RewardOut]:
        after = self.k.cursors.decode("pointsrewards", cursor)
        only_active, args = ("", []) if active is None else (" AND active = {}", [active])
        rows = await self.sql.fetch(
            f"SELECT {REWARD_COLUMNS} FROM points_reward WHERE workspace = {{}} AND id > {{}}{only_active} "
            "ORDER BY id LIMIT {}",
            ws.id,
            after,
            *args,
            limit + 1,
        )
        items = [to_reward(row) for row in rows]
        return self.k.cursors.page("pointsrewards", items, [r.id for r in items], limit)

    async def reward(self, ws: scrm.WorkspaceRef, reward_id: int) -> RewardOut:
        rows = await self.sql.fetch(
            f"SELECT {REWARD_COLUMNS} FROM points_reward WHERE workspace = {{}} AND id = {{}}", ws.id, reward_id
        )
        if not rows:
            raise scrm.NotFound(f"No reward {reward_id} in this workspace")
        return to_reward(rows[0])

    async def create_reward(self, ws: scrm.WorkspaceRef, data: RewardIn) -> RewardOut:
        at = clock.now()
        rows = await self.sql.fetch(
            "INSERT INTO points_reward (workspace, name, description, cost, stock, active, created_at, updated_at) "
            f"VALUES ({{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}) RETURNING {REWARD_COLUMNS}",
            ws.id,
            data.name,
            data.description,
            data.cost,
            data.stock,
            data.active,
            at,
            at,
        )
        return to_reward(rows[0])

    async def update_reward(self, ws: scrm.WorkspaceRef, reward_id: int, patch: RewardPatch) -> RewardOut:
        async with self.k.db.transaction():
            current = await self.reward(ws, reward_id)
            merged = msgspec.structs.replace(current, **scrm.sent_fields(patch))
            rows = await self.sql.fetch(
                "UPDATE points_reward SET name = {}, description = {}, cost = {}, stock = {}, active = {}, "
                f"updated_at = {{}} WHERE workspace = {{}} AND id = {{}} RETURNING {REWARD_COLUMNS}",
                merged.name,
                merged.description,
                merged.cost,
                merged.stock,
                merged.active,
                clock.now(),
                ws.id,
                reward_id,
            )
            return to_reward(rows[0])

    async def delete_reward(self, ws: scrm.WorkspaceRef, reward_id: int) -> None:
        """Remove a reward from the catalogue; its redemptions stay (with the reward's name)."""
        rows = await self.sql.fetch(
            "DELETE FROM points_reward WHERE workspace = {} AND id = {} RETURNING id", ws.id, reward_id
        )
        if not rows:
            raise scrm.NotFound(f"No reward {reward_id} in this workspace")

    async def redeem(self, ws: scrm.WorkspaceRef, reward_id: int, member_id: int) -> RedemptionOut:
        """Hand a reward to a member for its cost, in one transaction: one unit of stock taken
        (``UPDATE … WHERE stock > 0``: never oversold), the points spent, the redemption recorded —
        or nothing at all (409 ``points-insufficient``, ``points-out-of-stock``, …).

        The member is looked up only when the redemption is refused: points to pay with mean an
        account in this workspace, which exists only for its members and goes when one is erased."""
        reference = f"redemption:{reward_id}:{secrets.token_hex(10)}"
        try:
            redeemed = await (await self._ledger(ws)).redeem(member_id, reward_id, reference)
        except NotEnoughPoints:  # SQLite's stepwise debit refuses by raising (and rolls back)
            await self.member(ws, member_id)
            raise
        if redeemed.row is None:  # nothing was written; say why
            await self.member(ws, member_id)  # 404 or 409 first (a redemption paid implies a member)
            reward = await self.reward(ws, reward_id)
            if not reward.active:
                raise RewardInactive(f"Reward {reward_id} is not offered at the moment")
            if reward.stock == 0 or redeemed.balance >= reward.cost:  # the last unit went meanwhile
                raise OutOfStock(f"Reward {reward_id} is out of stock")
            raise NotEnoughPoints(
                f"Member {member_id} has {redeemed.balance} points; {reward.cost} are needed",
                balance=redeemed.balance,
                needed=reward.cost,
            )
        out = to_redemption(redeemed.row)
        out.balance = redeemed.balance
        return out

    async def redemptions(
        self,
        ws: scrm.WorkspaceRef,
        member_id: int | None = None,
        reward_id: int | None = None,
        cursor: str | None = None,
        limit: int = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[RedemptionOut]:
        """Redemptions, newest first, of one member and/or one reward (or all)."""
        before = self.k.cursors.decode("pointsredemptions", cursor) or scrm.MAX_ID
        conditions, args = "", []
        if member_id is not None:
            conditions += " AND member_id = {}"
            args.append(member_id)
        if reward_id is not None:
            conditions += " AND reward_id = {}"
            args.append(reward_id)
        rows = await self.sql.fetch(
            f"SELECT {REDEMPTION_COLUMNS} FROM points_redemption WHERE workspace = {{}}{conditions} AND id < CAST({{}} AS BIGINT) "
            "ORDER BY id DESC LIMIT {}",
            ws.id,
            *args,
            before,
            limit + 1,
        )
        items = [to_redemption(row) for row in rows]
        return self.k.cursors.page("pointsredemptions", items, [r.id for r in items], limit)

    # --- rules, settings, leaderboard -----------------------------------------------------------

    async def rules(
        self, ws: scrm.WorkspaceRef, cursor: str | None = None, limit: int = scrm.DEFAULT_LIMIT
    ) -> scrm.Page[RuleOut]:
        after = self.k.cursors.decode("pointsrules", cursor)
        items = await self.rules_store.page(ws.id, after, limit + 1)
        return self.k.cursors.page("pointsrules", items, [r.id for r in items], limit)

    async def rule(self, ws: scrm.WorkspaceRef, rule_id: int) -> RuleOut:
        return await self.rules_store.get(ws.id, rule_id)

    async def create_rule(self, ws: scrm.WorkspaceRef, data: RuleIn) -> RuleOut:
        async with self.k.db.transaction():
            self._changed(self._active_rules, ws)
            return await self.rules_store.create(ws.id, data)

    async def update_rule(self, ws: scrm.WorkspaceRef, rule_id: int, patch: RulePatch) -> RuleOut:
        async with self.k.db.transaction():
            self._changed(self._active_rules, ws)
            return await self.rules_store.update(ws.id, rule_id, patch)

    async def delete_rule(self, ws: scrm.WorkspaceRef, rule_id: int) -> None:
        async with self.k.db.transaction():
            self._changed(self._active_rules, ws)
            await self.rules_store.delete(ws.id, rule_id)

    async def active_rules(self, ws: scrm.WorkspaceRef) -> list[RuleOut]:
        """The workspace's active rules (cached for a few seconds, see :mod:`scrm_points.recent`)."""
        return await self._active_rules.get(ws.id, lambda: self.rules_store.active(ws.id))

    async def settings(self, ws: scrm.WorkspaceRef) -> PointsSettings:
        """The workspace's settings (cached for a few seconds, see :mod:`scrm_points.recent`)."""
        return await self._settings.get(ws.id, lambda: config.load(self.sql, ws.id))

    async def put_settings(self, ws: scrm.WorkspaceRef, settings: PointsSettings) -> PointsSettings:
        """Replace the workspace's settings. New tiers apply to members as their lifetime points next
        change; expiry applies to points earned from now on."""
        async with self.k.db.transaction():
            self._changed(self._settings, ws)
            return await config.save(self.sql, ws.id, settings)

    async def apply_rules(self, ws: scrm.WorkspaceRef, events: list[scrm.EventOut]) -> int:
        """Award the points of delivered events, in the delivery's transaction (see
        :mod:`scrm_points.rules`); returns the number of awards."""
        rules = await self.active_rules(ws)
        if not rules:
            return 0
        return await self.rules_store.apply(self.k, ws, events, rules, await self.settings(ws))

    async def leaderboard(
        self,
        ws: scrm.WorkspaceRef,
        by: Literal["balance", "lifetime", "earned"] = "balance",
        limit: int = 10,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Leaderboard:
        """The top members by balance, by lifetime points, or by points earned (awards and positive
        adjustments) in a period (``since`` … ``until``, by default the last 30 days)."""
        if by == "earned":
            until = until or clock.now()
            since = since or until - timedelta(days=30)
            rows = await self.sql.fetch(
                "SELECT t.member_id, SUM(t.amount) AS points, MAX(a.tier) AS tier FROM points_transaction t "
                "LEFT JOIN points_account a ON a.workspace = t.workspace AND a.member_id = t.member_id "
                "WHERE t.workspace = {} AND t.kind IN ('award', 'adjust') AND t.amount > 0 "
                "AND t.created_at >= {} AND t.created_at < {} "
                "GROUP BY t.member_id ORDER BY points DESC, t.member_id LIMIT {}",
                ws.id,
                since,
                until,
                limit,
            )
        else:
            if since is not None or until is not None:
                raise scrm.invalid("since", "applies to by=earned only", "query")
            rows = await self.sql.fetch(
                f"SELECT member_id, {by} AS points, tier FROM points_account WHERE workspace = {{}} AND {by} > 0 "
                f"ORDER BY {by} DESC, member_id LIMIT {{}}",
                ws.id,
                limit,
            )
        entries = [
            LeaderboardEntry(rank=n, member_id=int(row["member_id"]), points=int(row["points"]), tier=row["tier"])
            for n, row in enumerate(rows, 1)
        ]
        return Leaderboard(by=by, since=since, until=until, entries=entries)

    # --- helpers --------------------------------------------------------------------------------

    async def _ledger(self, ws: scrm.WorkspaceRef) -> Ledger:
        return Ledger(self.k, ws, await self.settings(ws))

    def _changed(self, cache: Recent[Any], ws: scrm.WorkspaceRef) -> None:
        """Forget the workspace's cached entry now and once the change commits (a request reading
        the old row meanwhile must not keep it). Called inside the change's transaction."""
        cache.forget(ws.id)

        async def forget() -> None:
            cache.forget(ws.id)

        self.k.db.after_commit(forget)

    async def _posted(self, ws: scrm.WorkspaceRef, reference: str, member_id: int) -> PostedOut:
        rows = await self.sql.fetch(
            f"SELECT {TRANSACTION_COLUMNS} FROM points_transaction WHERE workspace = {{}} AND reference = {{}}",
            ws.id,
            reference,
        )
        transaction = to_transaction(rows[0])
        if transaction.member_id != member_id:
            raise ReferenceReused(f"Reference {reference!r} names a transaction of another member")
        return PostedOut(transaction=transaction, balance=await self.balance(ws, member_id))

    async def _same_member(self, ws: scrm.WorkspaceRef, reference: str, member_id: int) -> None:
        """A reused reference must be the same member's (else the caller mixed up its references)."""
        await self._posted(ws, reference, member_id)


def _usable(member: scrm.MemberOut) -> int:
    """A member points apply to: not erased (409)."""
    if member.status == "erased":
        raise MemberErased(f"Member {member.id} was erased; points no longer apply to them")
    return member.id


def _check_call(amount: int, reason: str, reference: str) -> None:
    """Arguments of the public service, checked as the API checks a body."""
    errors = []
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= config.MAX_POINTS:
        errors.append(scrm.field_error("amount", f"must be from 1 to {config.MAX_POINTS}"))
    if not reason or len(reason) > 500:
        errors.append(scrm.field_error("reason", "1 to 500 characters"))
    if not reference or len(reference) > 200 or reference.startswith(RESERVED_PREFIXES):
        errors.append(scrm.field_error("reference", "1 to 200 characters, not starting with rule:, checkin:, …"))
    if errors:
        raise scrm.invalid_fields(errors)


def to_transaction(row: Any) -> TransactionOut:
    created = scrm.as_datetime(row["created_at"])
    assert created is not None
    return TransactionOut(
        id=int(row["id"]),
        member_id=int(row["member_id"]),
        kind=row["kind"],
        amount=int(row["amount"]),
        reason=row["reason"],
        reference=row["reference"],
        rule_id=row["rule_id"],
        event_id=row["event_id"],
        reverses=row["reverses"],
        created_at=created,
    )


def to_reward(row: Any) -> RewardOut:
    created, updated = scrm.as_datetime(row["created_at"]), scrm.as_datetime(row["updated_at"])
    assert created is not None
    assert updated is not None
    return RewardOut(
        id=int(row["id"]),
        name=row["name"],
        description=row["description"],
        cost=int(row["cost"]),
        stock=row["stock"],
        active=bool(row["active"]),
        created_at=created,
        updated_at=updated,
    )


def to_redemption(row: Any) -> RedemptionOut:
    created = scrm.as_datetime(row["created_at"])
    assert created is not None
    return RedemptionOut(
        id=int(row["id"]),
        member_id=int(row["member_id"]),
        reward_id=int(row["reward_id"]),
        reward_name=row["reward_name"],
        cost=int(row["cost"]),
        transaction_id=int(row["transaction_id"]),
        created_at=created,
    )


@dataclass(frozen=True)
class Checkin:
    """A check-in asked for: by whom (the service), where, who, on which day and when."""

    service: PointsService
    ws: scrm.WorkspaceRef
    member_id: int
    day: date
    at: datetime

    def out(self, done: checkins.CheckedIn) -> CheckinOut:
        return CheckinOut(
            member_id=self.member_id,
            day=self.day,
            streak=done.streak,
            points=done.points,
            bonus=done.bonus,
            balance=done.balance,
        )


async def _write_checkins(kernel: scrm.Kernel, items: Sequence[Checkin]) -> list[CheckinOut | None]:
    return await items[0].service._checkin_batch(items)


async def _write_checkin(kernel: scrm.Kernel, item: Checkin) -> CheckinOut:
    return await item.service._checkin_one(item)


#: Check-ins of a workspace arriving at once, on PostgreSQL, share a transaction (batches of one day;
#: a member's two check-ins never in two batches at once). See :class:`scrm.GroupCommit`.
CHECKINS: scrm.GroupCommit[Checkin, CheckinOut] = scrm.GroupCommit(
    "points.checkins",
    _write_checkins,
    _write_checkin,
    lane=lambda item: (item.ws.id, item.day),
    conflict=lambda item: item.member_id,
)
