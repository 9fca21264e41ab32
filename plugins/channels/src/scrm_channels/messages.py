"""The message service: the one way scrm sends anything to a member.

:func:`send` asks the consent door first (``kernel.consents.decide``): a refusal is counted with its
reason and channel by the core's counters (``kernel.consents.refusals``, what the audit report reads)
and nothing is sent; a quiet-hours or frequency-cap veto whose rule allows it *schedules* the message
for when the rule stops holding (not a refusal, so not counted). Then the template is
rendered for the member (their language, else English) and the message stored — unique per
(member, template, reference), so a redelivered call sends once — with a ``channels.queued`` event on
the member's timeline, in one transaction (the caller's, when it has one: a journey step's).

Delivery is a job (``channels.deliver``) queued after the commit; a cron (``channels.sweep``) finds
what is due and what a lost job or a dead worker left behind. A delivery *claims* its message (one
conditional ``UPDATE``: only one worker wins), asks the door again (consent may have been withdrawn
since), respects the provider's rate, takes its place under the purpose's frequency cap in the
database (:func:`scrm_channels.rules.reserve`: concurrent deliveries never exceed it), sends, and records the attempt and the outcome: ``sent``, a
retry with exponential backoff, ``failed`` or ``bounced`` — each a ``channels.*`` event on the
timeline. A worker killed between the provider's acceptance and the record gives a second delivery
after the lease (at least once): SMTP copies carry the same ``Message-ID``, webhooks the same
``message_id``, so receivers can drop them.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import scrm

from scrm_channels import catalog, render, rules, unsubscribe
from scrm_channels.providers import IDENTITY, KINDS, Outgoing
from scrm_channels.schemas import CHANNELS, AttemptOut, ChannelsRefusalCount, MessageOut, Refusals, SendOut

log = logging.getLogger("scrm.channels")

MAX_ATTEMPTS = 6
BACKOFF_S = 30.0  # 30 s, 1 min, 2 min, 4 min, 8 min
LEASE_S = 120.0
RATE_RETRY_S = 5.0
SWEEP_BATCH = 500
MESSAGE_COLUMNS = (
    "id, workspace, member_id, purpose, template, language, reference, channel, provider, recipient, subject, "
    "body, status, attempts, next_at, detail, created_at, sent_at"
)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=BACKOFF_S * 2 ** max(0, attempts - 1))


async def _refuse(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, purpose: str, channel: str, reason: str) -> SendOut:
    await kernel.consents.refusals.count(ws, purpose, reason, channel=channel)
    return SendOut(status="refused", reason=reason)


async def _existing(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int, template: str, reference: str
) -> SendOut | None:
    rows = await kernel.sql.fetch(
        "SELECT id, status, next_at FROM channels_message WHERE workspace = {} AND member_id = {} AND template = {} "
        "AND reference = {}",
        ws.id,
        member_id,
        template,
        reference,
    )
    if not rows:
        return None
    row = rows[0]
    return SendOut(status=row["status"], message_id=row["id"], next_at=scrm.as_datetime(row["next_at"]), duplicate=True)


async def send(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    member_id: int,
    purpose: str,
    template: str,
    data: dict[str, Any] | None = None,
    reference: str | None = None,
) -> SendOut:
    """Send template ``template`` to a member for ``purpose`` — see the module's docstring. The same
    (member, template, ``reference``) sends once; without a reference every call is a new message.
    404 for a member or template not in this workspace; 422 for an unknown purpose or data the
    template cannot render; 409 for a held template or a channel without a provider."""
    data = data or {}
    if reference is None:  # a new message: nothing to look up
        reference = f"once:{secrets.token_hex(12)}"
    elif (found := await _existing(kernel, ws, member_id, template, reference)) is not None:
        return found
    member = await kernel.members.get(ws, member_id)
    chosen, provider_id = await catalog.template_for(
        kernel, ws, template, str(member.attributes.get("language") or "") or None
    )
    decision = await kernel.consents.decide(ws, member_id, purpose)
    scheduled: datetime | None = None
    if not decision.allowed:
        veto = await rules.veto(kernel, ws, member_id, purpose)
        if veto is None or not veto.delay or decision.reason != veto.reason:
            return await _refuse(kernel, ws, purpose, chosen.channel, decision.reason or "not contactable")
        scheduled = veto.until
    recipient = member.identities.get(IDENTITY[chosen.channel], "") if chosen.channel in IDENTITY else str(member_id)
    if not recipient:
        return await _refuse(kernel, ws, purpose, chosen.channel, f"no {IDENTITY[chosen.channel]} identity")
    link = unsubscribe.url(kernel, ws, member_id, purpose) if chosen.channel == "email" else None
    subject = render.render(chosen.subject, member, data, link)
    body = render.render(chosen.body, member, data, link)
    at = datetime.now(UTC)
    status = "scheduled" if scheduled is not None else "queued"
    async with kernel.db.transaction():
        rows = await kernel.sql.fetch(
            "INSERT INTO channels_message (workspace, member_id, purpose, template, language, reference, channel, "
            "provider, recipient, subject, body, status, attempts, next_at, detail, created_at) "
            "VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 0, {}, {}, {}) "
            "ON CONFLICT (workspace, member_id, template, reference) DO NOTHING RETURNING id",
            ws.id,
            member_id,
            purpose,
            template,
            chosen.language,
            reference,
            chosen.channel,
            provider_id,
            recipient,
            subject,
            body,
            status,
            scheduled or at,
            decision.reason or "",
            at,
        )
        if rows:
            message_id = rows[0]["id"]
            await _timeline(kernel, ws, member_id, message_id, status, purpose, template, decision.reason or "")
            if scheduled is None:
                kernel.db.after_commit(lambda: _enqueue(kernel, message_id, 0))
    if not rows:  # a concurrent send with the same reference won
        found = await _existing(kernel, ws, member_id, template, reference)
        assert found is not None
        return found
    return SendOut(status=status, message_id=message_id, next_at=scheduled or at, reason=decision.reason)


async def _timeline(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    member_id: int,
    message_id: int,
    status: str,
    purpose: str,
    template: str,
    detail: str = "",
    attempt: int = 0,
) -> None:
    """A ``channels.<status>`` event on the member's timeline (once per message, status and attempt)."""
    await kernel.events.record(
        ws,
        [
            scrm.NewEvent(
                member_id,
                f"channels.{status}",
                {"message_id": message_id, "purpose": purpose, "template": template, "detail": detail[:500]},
                source="channels",
                idempotency_key=f"channels:{message_id}:{status}:{attempt}",
            )
        ],
    )


async def _enqueue(kernel: scrm.Kernel, message_id: int, attempts: int) -> None:
    try:
        await kernel.jobs.enqueue(
            "channels.deliver", job_id=f"channels.deliver:{message_id}:{attempts}", message_id=message_id
        )
    except scrm.Problem:  # the queue is down: the sweep finds the message
        log.warning("could not queue delivery of message %s; the sweep will", message_id)


# --- delivery ------------------------------------------------------------------------------------


async def deliver(kernel: scrm.Kernel, message_id: int) -> str | None:
    """Deliver one due message (the ``channels.deliver`` job); returns the status it ended in, or None
    when it was not due or another worker holds it."""
    at = datetime.now(UTC)
    rows = await kernel.sql.fetch(
        "UPDATE channels_message SET status = 'sending', attempts = attempts + 1, next_at = {} "
        f"WHERE id = {{}} AND status IN ('queued', 'scheduled') AND next_at <= {{}} RETURNING {MESSAGE_COLUMNS}",
        at + timedelta(seconds=LEASE_S),
        message_id,
        at,
    )
    if not rows:
        return None
    row = rows[0]
    ws = await kernel.workspace_ref(int(row["workspace"]))
    attempt = int(row["attempts"])
    if row["member_id"] is None:
        return await _finish(kernel, ws, row, attempt, "cancelled", "the member was erased")
    try:
        decision = await kernel.consents.decide(ws, row["member_id"], row["purpose"])
    except scrm.Problem as exc:  # the member or the purpose is gone
        return await _finish(kernel, ws, row, attempt, "cancelled", exc.detail)
    if not decision.allowed:
        veto = await rules.veto(kernel, ws, row["member_id"], row["purpose"])
        if veto is None or decision.reason != veto.reason:
            veto = rules.Veto(decision.reason or "not contactable", at, delay=False)
        return await _vetoed(kernel, ws, row, attempt, veto)
    providers = await kernel.sql.fetch(
        "SELECT kind, config, secret, rate_per_minute, enabled FROM channels_provider WHERE id = {} AND workspace = {}",
        row["provider"],
        ws.id,
    )
    if not providers or not providers[0]["enabled"]:
        return await _finish(kernel, ws, row, attempt, "failed", "the provider was deleted or disabled")
    provider = providers[0]
    if (veto := await rules.reserve(kernel, ws, row["member_id"], row["purpose"], row["id"])) is not None:
        return await _vetoed(kernel, ws, row, attempt, veto)  # the cap is full: another delivery took the place
    if not await take_rate(kernel, ws, row["provider"], int(provider["rate_per_minute"]), at):
        return await _later(  # (giving the cap's place back)
            kernel, ws, row, attempt, "queued", at + timedelta(seconds=RATE_RETRY_S), "rate limit", give_back=True
        )
    outgoing = Outgoing(
        message_id=row["id"],
        workspace_id=ws.id,
        member_id=row["member_id"],
        purpose=row["purpose"],
        recipient=row["recipient"],
        subject=row["subject"],
        body=row["body"],
        unsubscribe_url=unsubscribe.url(kernel, ws, row["member_id"], row["purpose"])
        if row["channel"] == "email"
        else None,
    )
    outcome = await KINDS[provider["kind"]].deliver(
        json.loads(provider["config"]), catalog.box(kernel).open(provider["secret"]), outgoing, kernel.outbound
    )
    if outcome.status == "retry" and attempt < MAX_ATTEMPTS:
        return await _later(kernel, ws, row, attempt, "queued", at + backoff(attempt), outcome.detail)
    status = "failed" if outcome.status == "retry" else outcome.status
    return await _finish(kernel, ws, row, attempt, status, outcome.detail)


async def _vetoed(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, row: Any, attempt: int, veto: rules.Veto) -> str:
    """A claimed message the door or a rule turned away: scheduled for when the veto ends where the
    rule delays, else cancelled and the refusal counted."""
    if veto.delay:
        return await _later(kernel, ws, row, attempt, "scheduled", veto.until, veto.reason, give_back=True)
    await _refuse(kernel, ws, row["purpose"], row["channel"], veto.reason)
    return await _finish(kernel, ws, row, attempt, "cancelled", veto.reason)


async def take_rate(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, provider_id: int, rate: int, at: datetime) -> bool:
    """Count one call to the provider in this clock minute, unless ``rate`` are counted already: one
    conditional increment (the row's lock serialises concurrent deliveries, so no minute exceeds the
    rate). False when the minute is full."""
    rows = await kernel.sql.fetch(
        "INSERT INTO channels_rate (workspace, provider, minute, calls) VALUES ({}, {}, {}, 1) "
        "ON CONFLICT (provider, minute) DO UPDATE SET calls = channels_rate.calls + 1 "
        "WHERE channels_rate.calls < {} RETURNING calls",
        ws.id,
        provider_id,
        at.replace(second=0, microsecond=0),
        rate,
    )
    return bool(rows)


async def _attempt(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, row: Any, attempt: int, status: str, detail: str
) -> None:
    await kernel.sql.fetch(
        "INSERT INTO channels_attempt (workspace, message, attempt, status, detail, at) VALUES ({}, {}, {}, {}, {}, {})",
        ws.id,
        row["id"],
        attempt,
        status,
        detail[:1000],
        datetime.now(UTC),
    )


async def _later(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    row: Any,
    attempt: int,
    status: str,
    when: datetime,
    detail: str,
    *,
    give_back: bool = False,
) -> str:
    """Put a claimed message back for later: a retry (the attempt counts), or a delay (a veto, a rate
    limit: ``give_back`` returns the attempt)."""
    async with kernel.db.transaction():
        await kernel.sql.fetch(
            "UPDATE channels_message SET status = {}, next_at = {}, detail = {}, attempts = attempts - {}, "
            "sent_at = NULL WHERE id = {} AND status = 'sending'",
            status,
            when,
            detail[:1000],
            1 if give_back else 0,
            row["id"],
        )
        await _attempt(kernel, ws, row, attempt, "delayed" if give_back else "retry", detail)
        if not give_back:
            await _timeline(
                kernel, ws, row["member_id"], row["id"], "retry", row["purpose"], row["template"], detail, attempt
            )
    return status


async def _finish(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, row: Any, attempt: int, status: str, detail: str) -> str:
    at = datetime.now(UTC)
    async with kernel.db.transaction():
        await kernel.sql.fetch(
            "UPDATE channels_message SET status = {}, detail = {}, sent_at = {} WHERE id = {} AND status = 'sending'",
            status,
            detail[:1000],
            at if status == "sent" else None,
            row["id"],
        )
        await _attempt(kernel, ws, row, attempt, "refused" if status == "cancelled" else status, detail)
        if row["member_id"] is not None:
            await _timeline(
                kernel, ws, row["member_id"], row["id"], status, row["purpose"], row["template"], detail, attempt
            )
    return status


async def sweep(kernel: scrm.Kernel, limit: int = SWEEP_BATCH) -> list[int]:
    """Release the messages of workers that died mid-delivery (their lease ran out), forget the rate
    counts of past minutes, and queue the deliveries that are due (scheduled ones, retries, those
    whose job was lost). Returns their ids."""
    at = datetime.now(UTC)
    await kernel.sql.fetch(
        "UPDATE channels_message SET status = 'queued', sent_at = NULL WHERE status = 'sending' AND next_at <= {}",
        at,
    )
    await kernel.sql.fetch("DELETE FROM channels_rate WHERE minute < {}", at - timedelta(minutes=2))
    rows = await kernel.sql.fetch(
        "SELECT id, attempts FROM channels_message WHERE status IN ('queued', 'scheduled') AND next_at <= {} "
        "ORDER BY next_at LIMIT {}",
        at,
        limit,
    )
    for row in rows:
        await _enqueue(kernel, row["id"], row["attempts"])
    return [row["id"] for row in rows]


# --- reading -------------------------------------------------------------------------------------


def _message(row: Any, history: list[AttemptOut] | None = None) -> MessageOut:
    return MessageOut(
        id=row["id"],
        member_id=row["member_id"],
        purpose=row["purpose"],
        template=row["template"],
        language=row["language"],
        reference=row["reference"],
        channel=row["channel"],
        provider_id=row["provider"],
        recipient=row["recipient"],
        subject=row["subject"],
        status=row["status"],
        attempts=row["attempts"],
        next_at=scrm.as_datetime(row["next_at"]),
        detail=row["detail"],
        created_at=scrm.as_datetime(row["created_at"]),
        sent_at=scrm.as_datetime(row["sent_at"]),
        history=history or [],
    )


async def get(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, message_id: int) -> MessageOut:
    rows = await kernel.sql.fetch(
        f"SELECT {MESSAGE_COLUMNS} FROM channels_message WHERE id = {{}} AND workspace = {{}}", message_id, ws.id
    )
    if not rows:
        raise scrm.NotFound(f"No message {message_id} in this workspace")
    attempts = await kernel.sql.fetch(
        "SELECT attempt, status, detail, at FROM channels_attempt WHERE message = {} AND workspace = {} ORDER BY id",
        message_id,
        ws.id,
    )
    history = [AttemptOut(a["attempt"], a["status"], a["detail"], scrm.as_datetime(a["at"])) for a in attempts]
    return _message(rows[0], history)


async def listing(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    member_id: int | None,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> scrm.Page[MessageOut]:
    """Messages newest first, optionally of one member or in one status."""
    name = "channels-messages"
    where, args = "workspace = {}", list[Any]([ws.id])
    if cursor:
        where += " AND id < {}"
        args.append(kernel.cursors.decode(name, cursor))
    if member_id is not None:
        where += " AND member_id = {}"
        args.append(member_id)
    if status is not None:
        where += " AND status = {}"
        args.append(status)
    rows = await kernel.sql.fetch(
        f"SELECT {MESSAGE_COLUMNS} FROM channels_message WHERE {where} ORDER BY id DESC LIMIT {{}}", *args, limit + 1
    )
    return kernel.cursors.page(name, [_message(r) for r in rows], [r["id"] for r in rows], limit)


async def refusals(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> Refusals:
    """The refusals on this plugin's channels, from the core's counters, summed per purpose and reason."""
    summed: dict[tuple[str, str], int] = {}
    for found in await kernel.consents.refusals.totals(ws):
        if found.channel in CHANNELS:
            summed[found.purpose, found.reason] = summed.get((found.purpose, found.reason), 0) + found.count
    counts = [ChannelsRefusalCount(purpose, reason, n) for (purpose, reason), n in sorted(summed.items())]
    return Refusals(total=sum(c.count for c in counts), counts=counts)
