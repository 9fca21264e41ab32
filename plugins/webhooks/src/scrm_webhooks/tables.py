"""The webhooks plugin's tables. Every row carries its ``workspace``.

A subscription is an endpoint URL and the event types it wants, with its signing secret (and, during
a rotation, the previous one until ``previous_until``). A delivery is one event for one subscription:
unique per (subscription, event), so an event redelivered by the outbox never becomes a second
delivery; its ``state`` goes ``pending`` → ``succeeded`` or ``failed`` and its ``attempts`` log every
try. ``claimed_until`` is the lease of the one job sending it now. Indexes are in the migration."""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Subscription(Table, tablename="webhooks_subscription"):
    id = BigSerial(primary_key=True)
    workspace = BigInt(index=True)
    url = Text()
    description = Varchar(length=200, default="")
    event_types = Text(default='["*"]')  # JSON list of patterns: "*", "order.paid", "member.*"
    secret = Varchar(length=100)
    previous_secret = Varchar(length=100, null=True, default=None)
    previous_until = Timestamptz(null=True, default=None)
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Delivery(Table, tablename="webhooks_delivery"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    subscription = BigInt()
    event_id = BigInt()
    event_type = Varchar(length=100)
    payload = Text()
    state = Varchar(length=16, default="pending")  # pending | succeeded | failed
    attempts = Integer(default=0)
    next_at = Timestamptz()
    claimed_until = Timestamptz(null=True, default=None)
    last_status = Integer(null=True, default=None)
    last_error = Text(null=True, default=None)
    retry_until = Timestamptz()  # the end of its day of retries (from its creation, or its last replay)
    created_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)


class Attempt(Table, tablename="webhooks_attempt"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    delivery = BigInt()
    at = Timestamptz()
    status = Integer(null=True, default=None)  # the receiver's HTTP status; null: no answer
    error = Text(null=True, default=None)
    duration_ms = Integer(default=0)


TABLES: list[type[Table]] = [Subscription, Delivery, Attempt]
