"""Conversions, detected from delivered events (``scrm_event_batch_recorded``), in the delivery's
transaction: a batch delivered again, or twice at once, converts and rewards nothing twice (see
:mod:`scrm_referrals.rewards` for why). The referrals a batch touches are locked first, in id
order, and rewards paid last, by member: concurrent deliveries wait for each other, never deadlock.

A referral converts on the delivery of

* its own ``referral.joined`` event, when its campaign has no conversion event; or
* the invitee's first event of the campaign's ``conversion_event`` type (``order.paid``, say) that
  occurred within ``conversion_days`` of joining.

A referral with fraud signals, in a campaign that holds suspicious referrals, converts to ``held``:
its rewards wait for an operator (:mod:`scrm_referrals.review`). Each delivery also notes when an
invitee first acted on their own (any event but the core's, this plugin's and the ones the segments
plugin records about them: ``segments.*``, ``segment.*``), which clears the ``inactive`` signal.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import scrm

from scrm_referrals import campaigns, rewards
from scrm_referrals.attribution import JOINED
from scrm_referrals.campaigns import Campaign

PASSIVE_PREFIXES = ("member.", "tags.", "consent.", "referral.", "segments.", "segment.")


async def on_events(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, events: list[scrm.EventOut]) -> None:
    """Convert the pending referrals these events complete, and note invitees' first own acts (a
    workspace event, with no member, is no one's act)."""
    member_ids = sorted({e.member_id for e in events if e.member_id is not None})
    if not member_ids:
        return
    condition, ids = kernel.sql.any_of("invitee_id", member_ids)
    rows = await kernel.sql.fetch(
        "SELECT id, campaign, inviter_id, invitee_id, second_id, state, signals, joined_at, acted_at "
        f"FROM referrals_referral WHERE workspace = {{}} AND {condition} AND (state = 'pending' OR acted_at IS NULL) "
        f"ORDER BY id{kernel.sql.for_update}",
        ws.id,
        ids,
    )
    if not rows:
        return
    by_member: dict[int, list[scrm.EventOut]] = {}
    for e in sorted(events, key=lambda e: e.id):
        if e.member_id is not None:
            by_member.setdefault(e.member_id, []).append(e)
    found = await campaigns.many(kernel, ws, {r["campaign"] for r in rows})
    due: list[tuple[Campaign, Any]] = []
    for row in rows:
        mine = by_member.get(row["invitee_id"], [])
        if row["acted_at"] is None:
            await _note_acted(kernel, row, mine)
        if row["state"] != "pending":
            continue
        campaign = found[row["campaign"]]
        event = next((e for e in mine if completes(campaign, row, e)), None)
        if event is not None:
            due += [(campaign, reward) for reward in await convert(kernel, ws, campaign, row, event.id)]
    await rewards.pay_all(kernel, ws, due)


def completes(campaign: Campaign, referral: Any, event: scrm.EventOut) -> bool:
    """Whether ``event`` converts this referral (see the module's docstring)."""
    wanted = campaign.data.conversion_event
    if wanted is None:
        return event.type == JOINED and event.properties.get("referral_id") == referral["id"]
    joined = scrm.as_datetime(referral["joined_at"])
    return event.type == wanted and joined <= event.occurred_at <= joined + timedelta(
        days=campaign.data.conversion_days
    )


async def _note_acted(kernel: scrm.Kernel, referral: Any, events: list[scrm.EventOut]) -> None:
    own = [e.occurred_at for e in events if not e.type.startswith(PASSIVE_PREFIXES)]
    if own:
        await kernel.sql.fetch(
            "UPDATE referrals_referral SET acted_at = {} WHERE id = {} AND acted_at IS NULL", min(own), referral["id"]
        )


async def convert(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign: Campaign, referral: Any, event_id: int
) -> list[Any]:
    """Convert a pending referral and grant its rewards; the rewards to pay now (none when it was
    not pending any more: converted by another delivery, or voided)."""
    held = campaign.data.hold_suspicious and bool(json.loads(referral["signals"] or "[]"))
    won = await kernel.sql.fetch(
        "UPDATE referrals_referral SET state = {}, converted_at = {}, event_id = {} "
        "WHERE id = {} AND workspace = {} AND state = 'pending' RETURNING id",
        "held" if held else "converted",
        datetime.now(UTC),
        event_id,
        referral["id"],
        ws.id,
    )
    if not won:
        return []
    return await rewards.grant(kernel, ws, campaign, referral, held)
