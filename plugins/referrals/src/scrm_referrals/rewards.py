"""Rewards: granted once per referral and role, capped per inviter, paid, held, or reversed.

**Exactly once.** A referral converts by a conditional update (``pending`` → ``converted``/``held``)
that one transaction alone can win; its rewards are rows under a unique index on (referral, role),
written ``ON CONFLICT DO NOTHING``; points are awarded with the reward's id as the points ledger's
reference (itself once per reference); the ``referral.rewarded`` event carries an idempotency key.
A redelivered or concurrent conversion therefore writes and pays nothing twice — the database says
so, not a check in Python.

**Caps.** An inviter's rewards in a campaign are counted in ``referrals_quota`` (a row per UTC day
and one for the total) by a conditional upsert that only increments below the cap: concurrent
conversions cannot overshoot it. A conversion past a cap gets an inviter reward row in state
``capped`` (visible, unpaid). Caps apply to the inviter's own reward, not to the invitee's nor to
second-level credit.

**Second level.** With ``levels`` 2, the inviter's own inviter (as attributed when the invitee
joined) gets ``second_reward`` — never anyone further up.

**Lottery tickets.** A reward's tickets are granted through the lottery plugin's public service in
the campaign's ``lottery_campaign_id``, with the reward's reference (once per reference there too),
up to that campaign's ``max_tickets``; the reward row keeps the tickets actually given (0 when the
lottery refused them: not enabled any more, the campaign closed or not a ticket draw).

**Void.** Voiding a referral reverses its paid rewards: points refunded through the points ledger,
lottery tickets taken back through the lottery's service, the reward tags removed (unless another
paid reward gave the member the same tag), the inviter's quota given back. What cannot be taken back
stays and the void stands: points already spent, tickets of a lottery campaign already drawn (its
entry list is published; the lottery refuses to change it), anything of a plugin disabled since.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, date, datetime
from typing import Any

import scrm

from scrm_referrals import lottery, points
from scrm_referrals.campaigns import Campaign
from scrm_referrals.schemas import ReferralRewardOut

REWARDED = "referral.rewarded"
TOTAL = date(1970, 1, 1)  # the quota row of an inviter's total
COLUMNS = "id, referral, member_id, role, points, tag, tickets, state, created_at"
log = logging.getLogger("scrm_referrals")


def reference(reward_id: int) -> str:
    """The points ledger's reference of a reward (once per reference there too)."""
    return f"referrals:reward:{reward_id}"


async def grant(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign: Campaign, referral: Any, held: bool) -> list[Any]:
    """Write the rewards of a referral that has just converted (one statement); the rows to pay now
    (none when ``held``) — pay them with :func:`pay_all`, after every other row of the transaction is
    locked."""
    parties = [("invitee", referral["invitee_id"]), ("inviter", referral["inviter_id"])]
    if campaign.data.levels >= 2 and referral["second_id"] is not None:
        parties.append(("second", referral["second_id"]))
    at = datetime.now(UTC)
    args: list[Any] = []
    for role, member_id in parties:
        if member_id is None:
            continue  # unlinked by an erasure
        state = "held" if held else "paid"
        if role == "inviter" and not await take_quota(kernel, ws, campaign, member_id, at.date()):
            state = "capped"
        rule = campaign.reward(role)
        args += [ws.id, campaign.id, referral["id"], member_id, role, rule.points, rule.tag, rule.tickets, state, at]
    if not args:
        return []
    rows = await kernel.sql.fetch(
        "INSERT INTO referrals_reward (workspace, campaign, referral, member_id, role, points, tag, tickets, state, "
        "created_at) VALUES "
        + ", ".join("({}, {}, {}, {}, {}, {}, {}, {}, {}, {})" for _ in range(len(args) // 10))
        + f" ON CONFLICT (referral, role) DO NOTHING RETURNING {COLUMNS}",
        *args,
    )
    return [row for row in rows if row["state"] == "paid"]


async def take_quota(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign: Campaign, member_id: int, day: date) -> bool:
    """Count one inviter reward against the caps; False (counting nothing) when a cap is reached."""
    taken: list[date] = []
    for key, cap in ((day, campaign.data.daily_cap), (TOTAL, campaign.data.total_cap)):
        if cap is None:
            continue
        rows = await kernel.sql.fetch(
            "INSERT INTO referrals_quota (workspace, campaign, member_id, day, n) VALUES ({}, {}, {}, {}, 1) "
            "ON CONFLICT (campaign, member_id, day) DO UPDATE SET n = referrals_quota.n + 1 "
            "WHERE referrals_quota.n < {} RETURNING n",
            ws.id,
            campaign.id,
            member_id,
            key,
            cap,
        )
        if not rows:
            await give_back_quota(kernel, campaign.id, member_id, taken)
            return False
        taken.append(key)
    return True


async def give_back_quota(kernel: scrm.Kernel, campaign_id: int, member_id: int, days: list[date]) -> None:
    for key in days:
        await kernel.sql.fetch(
            "UPDATE referrals_quota SET n = n - 1 WHERE campaign = {} AND member_id = {} AND day = {} AND n > 0",
            campaign_id,
            member_id,
            key,
        )


async def pay_all(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, due: list[tuple[Campaign, Any]]) -> None:
    """Pay rewards in one order — by member, then reward — so that concurrent transactions paying the
    same members (their points accounts, their tags) lock them in the same order and never deadlock;
    their ``referral.rewarded`` events are recorded together (one statement, one delivery)."""
    paid = [await pay(kernel, ws, c, r) for c, r in sorted(due, key=lambda d: (d[1]["member_id"], d[1]["id"]))]
    await kernel.events.record(ws, paid)


async def pay(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign: Campaign, reward: Any) -> scrm.NewEvent:
    """Points and tag of one reward (inside the caller's transaction); its ``referral.rewarded`` event,
    to record."""
    member_id, amount, tag = reward["member_id"], reward["points"], reward["tag"]
    service = points.service(kernel, ws)
    if amount and service is not None:
        await service.award(
            ws, member_id, amount, reason=f"referral: {campaign.data.name}", reference=reference(reward["id"])
        )
    if tag:
        added = await kernel.tags.attach(ws, [member_id], [tag])
        if added:
            await kernel.tags.record(ws, [scrm.TagChange(member_id=member_id, added=[tag], removed=[])])
    tickets = await _tickets(kernel, ws, campaign, reward) if reward["tickets"] else 0
    return scrm.NewEvent(
        member_id,
        REWARDED,
        {
            "campaign_id": campaign.id,
            "referral_id": reward["referral"],
            "reward_id": reward["id"],
            "role": reward["role"],
            "points": amount,
            "tickets": tickets,
        },
        source="referrals",
        idempotency_key=f"referrals:rewarded:{reward['id']}",
    )


async def _tickets(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign: Campaign, reward: Any) -> int:
    """Grant a reward's lottery tickets; the tickets given (kept on the reward row when they differ
    from the rule's: the lottery's cap, or a refusal, which does not undo the rest of the reward)."""
    service = lottery.service(kernel, ws)
    given = 0
    if service is not None and campaign.data.lottery_campaign_id is not None:
        try:
            grant = await service.grant_tickets(
                ws,
                campaign.data.lottery_campaign_id,
                reward["member_id"],
                reward["tickets"],
                reference=reference(reward["id"]),
            )
            given = grant.tickets
        except scrm.Problem as refused:
            log.warning("referral reward %s: the lottery gave no tickets: %s", reward["id"], refused.detail)
    if given != reward["tickets"]:
        await kernel.sql.fetch("UPDATE referrals_reward SET tickets = {} WHERE id = {}", given, reward["id"])
    return given


async def release(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign: Campaign, referral_id: int) -> None:
    """Pay a referral's held rewards (an operator approved it)."""
    rows = await kernel.sql.fetch(
        f"UPDATE referrals_reward SET state = 'paid' WHERE referral = {{}} AND workspace = {{}} AND state = 'held' "
        f"RETURNING {COLUMNS}",
        referral_id,
        ws.id,
    )
    await pay_all(kernel, ws, [(campaign, row) for row in rows])


async def reverse(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign: Campaign, referral_id: int, note: str) -> None:
    """Void a referral's rewards: reverse those paid, give back the inviter's quota."""
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM referrals_reward WHERE referral = {{}} AND workspace = {{}} "
        f"AND state IN ('paid', 'held'){kernel.sql.for_update}",
        referral_id,
        ws.id,
    )
    service = points.service(kernel, ws)
    tickets = lottery.service(kernel, ws)
    for row in sorted(rows, key=lambda r: (r["member_id"] or 0, r["id"])):  # the order pay_all locks in
        await kernel.sql.fetch("UPDATE referrals_reward SET state = 'void' WHERE id = {}", row["id"])
        member_id = row["member_id"]
        if row["role"] == "inviter" and member_id is not None:
            created = scrm.as_datetime(row["created_at"]).date()
            await give_back_quota(kernel, campaign.id, member_id, [created, TOTAL])
        if row["state"] != "paid" or member_id is None:
            continue
        if row["points"] and service is not None:
            # points short or gone (erased): the void stands; the ledger shows what was taken back
            with contextlib.suppress(scrm.Problem):
                await service.refund(ws, reference(row["id"]), reason=f"referral voided: {note or campaign.data.name}")
        if row["tickets"] and tickets is not None:
            # a lottery campaign already drawn keeps them: its entry list is published
            with contextlib.suppress(scrm.Problem):
                await tickets.revoke_tickets(ws, reference(row["id"]))
        if row["tag"] and not await _tag_still_earned(kernel, ws, member_id, row["tag"]):
            removed = await kernel.tags.detach(ws, [member_id], [row["tag"]])
            if removed:
                await kernel.tags.record(ws, [scrm.TagChange(member_id=member_id, added=[], removed=[row["tag"]])])


async def _tag_still_earned(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int, tag: str) -> bool:
    """Whether another paid reward gave the member this tag (then voiding one keeps it)."""
    rows = await kernel.sql.fetch(
        "SELECT id FROM referrals_reward WHERE workspace = {} AND member_id = {} AND tag = {} AND state = 'paid' LIMIT 1",
        ws.id,
        member_id,
        tag,
    )
    return bool(rows)


def to_reward(row: Any) -> ReferralRewardOut:
    return ReferralRewardOut(
        id=row["id"],
        referral_id=row["referral"],
        member_id=row["member_id"],
        role=row["role"],
        points=row["points"],
        tag=row["tag"],
        tickets=row["tickets"],
        state=row["state"],
        created_at=scrm.as_datetime(row["created_at"]),
    )


async def of_referral(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, referral_id: int) -> list[ReferralRewardOut]:
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM referrals_reward WHERE referral = {{}} AND workspace = {{}} ORDER BY id",
        referral_id,
        ws.id,
    )
    return [to_reward(r) for r in rows]
