"""Tier changes turned into the core's facts: the tag ``tier:<name>`` and the event
``points.tier_changed``.

The ledger writes them in the transaction that changed the member's lifetime points — a route's, or
the event delivery's (every hook receives the kernel, so the delivery writes them itself): a tier,
its tag and its event commit or roll back together. The event's idempotency key is the id of the
change's history row in ``points_tier_change``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import scrm

TAG_PREFIX = "tier:"
#: The tag group the tier tags are created in (the console lists tags by group).
TAG_GROUP = "tier"


def tag(tier: str) -> str:
    return TAG_PREFIX + tier


async def announce(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, changes: Sequence[Any]) -> None:
    """Move the tier tags of these changes (rows of ``points_tier_change``) and record their events,
    inside the caller's transaction: one tag statement per tier concerned, one event statement."""
    leaving: dict[str, list[int]] = {}
    reaching: dict[str, list[int]] = {}
    for change in changes:
        if change["from_tier"]:
            leaving.setdefault(change["from_tier"], []).append(int(change["member_id"]))
        if change["to_tier"]:
            reaching.setdefault(change["to_tier"], []).append(int(change["member_id"]))
    for tier, member_ids in leaving.items():
        await kernel.tags.detach(ws, member_ids, [tag(tier)])
    new = {tag(tier) for tier in reaching} - set(await kernel.tags.ids(ws, [tag(tier) for tier in reaching]))
    for name in sorted(new):  # a tier reached for the first time: its tag, in the tiers' group
        await kernel.tags.ensure(ws, [name])
        await kernel.tags.update(ws, name, scrm.TagUpdate(group=TAG_GROUP))
    for tier, member_ids in reaching.items():
        await kernel.tags.attach(ws, member_ids, [tag(tier)])
    await kernel.events.record(
        ws,
        [
            scrm.NewEvent(
                int(change["member_id"]),
                "points.tier_changed",
                {"from": change["from_tier"], "to": change["to_tier"], "lifetime": int(change["lifetime"])},
                source="points",
                idempotency_key=f"points.tier_changed:{change['id']}",
            )
            for change in changes
        ],
    )
