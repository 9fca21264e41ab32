"""Telling winners through channels: the facts other plugins record become messages.

The lottery's "notify winners" records a ``lottery.notify`` event for each winner the consent door
lets it reach, contests record ``contests.notify`` for their awarded places, and referrals record
``referral.rewarded`` when a reward is paid (no purpose: ``marketing.email``). Where channels is
enabled and the workspace has a template of the matching name, each such event is sent as that
template to its member, for the purpose the event names — from the core's event delivery (durable:
the outbox), idempotent per event (the send's reference is the event's id), and through the door
again. Neither plugin imports channels; without channels (or without the template) nothing changes.
"""

from __future__ import annotations

import logging

import scrm

from scrm_channels import messages

log = logging.getLogger("scrm.channels")

#: event type → the template it is sent as (``data`` is the event's properties)
TEMPLATES = {
    "lottery.notify": "lottery-winner",
    "contests.notify": "contests-winner",
    "referral.rewarded": "referral-reward",
}
DEFAULT_PURPOSE = "marketing.email"


async def on_events(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, events: list[scrm.EventOut]) -> None:
    wanted = [e for e in events if e.type in TEMPLATES]
    if not wanted:
        return
    names = sorted({TEMPLATES[e.type] for e in wanted})
    condition, arg = kernel.sql.any_of("name", names, "text")
    rows = await kernel.sql.fetch(
        f"SELECT DISTINCT name FROM channels_template WHERE workspace = {{}} AND {condition}", ws.id, arg
    )
    present = {r["name"] for r in rows}
    for event in wanted:
        template = TEMPLATES[event.type]
        if template not in present or event.member_id is None:  # a workspace event has no one to tell
            continue
        purpose = str(event.properties.get("purpose") or DEFAULT_PURPOSE)
        try:
            await messages.send(
                kernel, ws, event.member_id, purpose, template, dict(event.properties), f"event:{event.id}"
            )
        except scrm.Problem as exc:  # no provider, a held template …: the operator sees it; the delivery goes on
            log.warning("could not send %s for event %s: %s", template, event.id, exc.detail)
