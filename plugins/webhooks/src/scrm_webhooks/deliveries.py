"""Deliveries: each event, for each subscription that wants it, sent once it succeeds.

How an event gets out, and why it is neither lost nor sent twice:

1. ``scrm_event_batch_recorded`` runs inside the outbox's delivery transaction. It writes one
   ``webhooks_delivery`` row per (subscription, event) — unique, so the outbox delivering a batch
   again writes nothing new — with the payload as it will be sent. After that transaction commits,
   one ``webhooks.deliver`` job per row is queued (a lost job is found by the sweeper).
2. ``webhooks.deliver`` *claims* its row (one conditional ``UPDATE``: pending, due, and not leased by
   another job), sends it with a timeout, logs the attempt, and either marks it ``succeeded`` or
   schedules the next try: exponential backoff with jitter, for a day (the setting ``retry_hours``),
   then ``failed``. Only the
   holder of the lease writes the outcome, so a delivery succeeds once. Each delivery is its own job,
   so a receiver that answers slowly or with 500s delays only its own deliveries.
3. The cron job ``webhooks.sweep`` queues the deliveries that are due (retries, lost jobs, leases of
   dead workers that ran out).

Delivery to the receiver is at least once (a worker may die between the receiver's 2xx and the
commit): receivers deduplicate with ``webhook-id``, which stays the same across retries and replays.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import scrm

from scrm_webhooks import settings, signing, subscriptions
from scrm_webhooks.schemas import AttemptOut, DeliveryDetail, DeliveryOut, DeliveryState

log = logging.getLogger("scrm.webhooks")
#: the wait after the first failure; it doubles after each further one, up to MAX_DELAY_S
FIRST_DELAY_S = 10.0
MAX_DELAY_S = 3600.0
#: how long a receiver has to answer
TIMEOUT_S = 10.0
#: how long a claimed delivery stays with its job (longer than the timeout)
LEASE_S = 60.0
#: deliveries the sweeper queues per run
SWEEP_SIZE = 500
#: the longest error text kept per attempt
ERROR_CHARS = 500
USER_AGENT = "scrm-webhooks/0.1 (Standard Webhooks)"
COLUMNS = (
    "id, subscription, event_id, event_type, state, attempts, next_at, last_status, last_error, created_at, finished_at"
)
_encode = msgspec.json.Encoder()


def now() -> datetime:
    return datetime.now(UTC)


def backoff(failures: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after ``failures`` failed attempts: exponential (10 s, 20 s, 40 s … capped at an
    hour) with jitter — a random point in the upper half of that step, so receivers recovering from an
    outage are not hit by every sender at the same second."""
    step: float = min(MAX_DELAY_S, FIRST_DELAY_S * 2.0 ** max(0, failures - 1))
    jitter: float = (rng or random).uniform(0, step / 2)
    return step / 2 + jitter


def payload(ws: scrm.WorkspaceRef, event: scrm.EventOut) -> str:
    """What a receiver gets for an event: the Standard Webhooks envelope (``type``, ``timestamp``,
    ``data``) around the event as the API shows it, and the workspace it happened in. Never a secret."""
    return _encode.encode(
        {
            "type": event.type,
            "timestamp": event.occurred_at,
            "data": {"workspace": ws.slug, **msgspec.structs.asdict(event)},
        }
    ).decode()


# --- 1. from the outbox -------------------------------------------------------------------------


async def record(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, events: Sequence[scrm.EventOut]) -> None:
    """Write the deliveries of these events (inside the outbox's transaction) and queue them after
    its commit."""
    subs = await kernel.sql.run(
        "SELECT id, event_types FROM webhooks_subscription WHERE workspace = {ws} AND active = {yes}",
        ws=ws.id,
        yes=True,
    )
    if not subs:
        return
    at = now()
    wanted = [(s["id"], msgspec.json.decode(s["event_types"], type=list[str])) for s in subs]
    rows = [
        {"subscription": sub_id, "event_id": e.id, "event_type": e.type, "payload": payload(ws, e)}
        for e in events
        for sub_id, patterns in wanted
        if subscriptions.matches(patterns, e.type)
    ]
    if not rows:
        return
    sql = kernel.sql
    created = await sql.fetch(
        "INSERT INTO webhooks_delivery (workspace, subscription, event_id, event_type, payload, state, attempts, "
        "next_at, retry_until, created_at) SELECT {}, x.subscription, x.event_id, x.event_type, x.payload, 'pending', 0, "
        "{}, {}, {} "
        f"FROM {sql.rows([('subscription', 'bigint'), ('event_id', 'bigint'), ('event_type', 'text'), ('payload', 'text')])} "
        "WHERE true ON CONFLICT (subscription, event_id) DO NOTHING RETURNING id",
        ws.id,
        at,
        at + await settings.retry_for(kernel, ws),
        at,
        sql.encode(rows),
    )
    ids = [r["id"] for r in created]
    if ids:

        async def queue() -> None:
            await enqueue(kernel, ids)

        kernel.db.after_commit(queue)


async def enqueue(kernel: scrm.Kernel, ids: Sequence[int]) -> None:
    """Queue a ``webhooks.deliver`` job per delivery; when the queue is down the sweeper finds them."""
    for delivery_id in ids:
        try:
            await kernel.jobs.enqueue(
                "webhooks.deliver", job_id=f"webhooks.deliver.{delivery_id}", delivery_id=delivery_id
            )
        except scrm.Problem as exc:  # the queue (Redis) is unavailable
            log.warning("webhook deliveries wait for the sweeper: %s", exc.detail)
            return


# --- 2. one delivery ----------------------------------------------------------------------------


async def deliver(ctx: scrm.JobContext, delivery_id: int) -> None:
    """The job ``webhooks.deliver``: send one delivery if it is due and no other job holds it."""
    await attempt(ctx.kernel, delivery_id)


async def attempt(kernel: scrm.Kernel, delivery_id: int) -> str | None:
    """Claim, send and settle one delivery; returns its new state, or None when it was not ours to send
    (not due, already sent, or held by another job)."""
    at = now()
    lease = at + timedelta(seconds=LEASE_S)
    claimed = await kernel.sql.one(
        "UPDATE webhooks_delivery SET claimed_until = {lease} WHERE id = {id} AND state = 'pending' "
        "AND next_at <= {at} AND (claimed_until IS NULL OR claimed_until < {at}) "
        "RETURNING id, workspace, subscription, payload, attempts, retry_until",
        lease=lease,
        id=delivery_id,
        at=at,
    )
    if claimed is None:
        return None
    sub = await kernel.sql.one(
        "SELECT url, secret, previous_secret, previous_until, active FROM webhooks_subscription "
        "WHERE workspace = {ws} AND id = {id}",
        ws=claimed["workspace"],
        id=claimed["subscription"],
    )
    if sub is None or not sub["active"]:
        return await _settle(kernel, claimed, lease, None, "the subscription is paused", 0, final=True)
    body = claimed["payload"].encode()
    sent_at = now()
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signing.headers(f"msg_{claimed['id']}", sent_at, body, subscriptions.valid_secrets(sub)),
    }
    status: int | None = None
    error: str | None = None
    started = time.perf_counter()
    try:
        async with kernel.outbound.client(timeout=TIMEOUT_S, follow_redirects=False) as client:
            response = await client.post(sub["url"], content=body, headers=headers)
        status = response.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}: {response.text[:200]}"
    except scrm.OutboundRefused as exc:  # the address will not become public by waiting: no retries
        return await _settle(kernel, claimed, lease, None, f"refused: {exc}"[:ERROR_CHARS], 0, final=True)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS] or type(exc).__name__
    took = int((time.perf_counter() - started) * 1000)
    return await _settle(kernel, claimed, lease, status, error, took)


async def _settle(
    kernel: scrm.Kernel,
    claimed: Any,
    lease: datetime,
    status: int | None,
    error: str | None,
    took: int,
    final: bool = False,
) -> str | None:
    """Write the attempt and the delivery's outcome, if this job still holds the lease."""
    at = now()
    failures = claimed["attempts"] + 1
    retry_until = scrm.as_datetime(claimed["retry_until"])
    state: DeliveryState
    if error is None:
        state, next_at = "succeeded", None
    else:
        next_at = at + timedelta(seconds=backoff(failures))
        state = "failed" if final or next_at > retry_until else "pending"
        if state == "failed":
            next_at = None
    async with kernel.db.transaction():
        settled = await kernel.sql.run(
            "UPDATE webhooks_delivery SET state = {state}, attempts = {attempts}, next_at = {next_at}, "
            "claimed_until = NULL, last_status = {status}, last_error = {error}, finished_at = {finished} "
            "WHERE id = {id} AND claimed_until = {lease} RETURNING id",
            state=state,
            attempts=failures,
            next_at=next_at or at,
            status=status,
            error=error,
            finished=None if state == "pending" else at,
            id=claimed["id"],
            lease=lease,
        )
        if not settled:  # the lease ran out and another job took over: its outcome counts
            return None
        await kernel.sql.run(
            "INSERT INTO webhooks_attempt (workspace, delivery, at, status, error, duration_ms) "
            "VALUES ({ws}, {id}, {at}, {status}, {error}, {took})",
            ws=claimed["workspace"],
            id=claimed["id"],
            at=at,
            status=status,
            error=error,
            took=took,
        )
    return state


# --- 3. the sweeper -----------------------------------------------------------------------------


async def sweep(ctx: scrm.JobContext) -> None:
    """The cron job ``webhooks.sweep``: queue every delivery that is due."""
    at = now()
    rows = await ctx.kernel.sql.run(
        "SELECT id FROM webhooks_delivery WHERE state = 'pending' AND next_at <= {at} "
        "AND (claimed_until IS NULL OR claimed_until < {at}) ORDER BY next_at LIMIT {n}",
        at=at,
        n=SWEEP_SIZE,
    )
    await enqueue(ctx.kernel, [r["id"] for r in rows])


# --- the log ------------------------------------------------------------------------------------


def _out(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "subscription_id": row["subscription"],
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "state": row["state"],
        "attempts": row["attempts"],
        "next_at": scrm.as_datetime(row["next_at"]) if row["state"] == "pending" else None,
        "last_status": row["last_status"],
        "last_error": row["last_error"],
        "created_at": scrm.as_datetime(row["created_at"]),
        "finished_at": scrm.as_datetime(row["finished_at"]),
    }


async def listing(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    subscription_id: int,
    state: DeliveryState | None,
    cursor: str | None,
    limit: int,
) -> scrm.Page[DeliveryOut]:
    """A subscription's deliveries, newest first."""
    await subscriptions.row(kernel, ws, subscription_id)  # 404 for another workspace's
    listing_name = f"webhooks.deliveries.{subscription_id}"
    before = kernel.cursors.decode(listing_name, cursor) or scrm.MAX_ID
    rows = await kernel.sql.run(
        f"SELECT {COLUMNS} FROM webhooks_delivery WHERE workspace = {{ws}} AND subscription = {{sub}} "
        f"AND id < {{before}}{' AND state = {state}' if state else ''} ORDER BY id DESC LIMIT {{n}}",
        ws=ws.id,
        sub=subscription_id,
        before=before,
        state=state,
        n=limit + 1,
    )
    items = [DeliveryOut(**_out(r)) for r in rows]
    return kernel.cursors.page(listing_name, items, [r["id"] for r in rows], limit)


async def detail(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, delivery_id: int) -> DeliveryDetail:
    row = await kernel.sql.one(
        f"SELECT {COLUMNS}, payload FROM webhooks_delivery WHERE workspace = {{ws}} AND id = {{id}}",
        ws=ws.id,
        id=delivery_id,
    )
    if row is None:
        raise scrm.NotFound(f"No webhook delivery {delivery_id} in this workspace")
    attempts = await kernel.sql.run(
        "SELECT at, status, error, duration_ms FROM webhooks_attempt WHERE workspace = {ws} AND delivery = {id} "
        "ORDER BY id",
        ws=ws.id,
        id=delivery_id,
    )
    log_ = [
        AttemptOut(at=scrm.as_datetime(a["at"]), status=a["status"], error=a["error"], duration_ms=a["duration_ms"])
        for a in attempts
    ]
    return DeliveryDetail(**_out(row), payload=row["payload"], attempt_log=log_)


async def replay(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, delivery_id: int) -> DeliveryDetail:
    """Send a delivery again, now, with a fresh day of retries (the same ``webhook-id``, so a receiver
    that already has it can tell). A delivery being sent right now is left to finish."""
    at = now()
    async with kernel.db.transaction():
        rows = await kernel.sql.run(
            "UPDATE webhooks_delivery SET state = 'pending', next_at = {at}, retry_until = {until}, finished_at = NULL "
            "WHERE workspace = {ws} AND id = {id} AND (claimed_until IS NULL OR claimed_until < {at}) "
            "RETURNING id",
            at=at,
            until=at + await settings.retry_for(kernel, ws),
            ws=ws.id,
            id=delivery_id,
        )
        if rows:
            kernel.db.after_commit(lambda: enqueue(kernel, [delivery_id]))
    if not rows:
        await detail(kernel, ws, delivery_id)  # 404 for another workspace's
        raise scrm.Conflict(f"Delivery {delivery_id} is being sent right now; replay it once it is done")
    return await detail(kernel, ws, delivery_id)
