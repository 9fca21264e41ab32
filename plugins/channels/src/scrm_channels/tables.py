"""The channels plugin's tables. Every row carries its ``workspace``; members are core ids kept as
plain ``BigInt``.

A provider is one configured way out (an SMTP server, an SMS or WeCom account, a webhook), its
secret kept encrypted (:mod:`scrm_channels.secrets`). A template is one message per language,
moderated before use. A message is one send to one member — unique per (member, template,
reference), which is what makes sends idempotent — and each delivery try is an attempt. A refusal is
not stored here: the core counts it (``kernel.consents.refusals``). A rule holds a purpose's quiet
hours and frequency cap; a cap lock is what a delivery locks to take its place under a cap, and a
rate count the calls made to a provider in a minute. Unique rules and indexes are in the migration."""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Provider(Table, tablename="channels_provider"):
    id = BigSerial(primary_key=True)
    workspace = BigInt(index=True)
    name = Varchar(length=100)
    kind = Varchar(length=16)  # smtp | sms | wecom | webhook
    channel = Varchar(length=16)  # email | sms | wecom | webhook
    config = Text(default="{}")  # JSON: what is not secret (host, port, sender, url …)
    secret = Text(default="")  # Fernet token of the secret (password, token, signing key)
    rate_per_minute = Integer(default=600)
    enabled = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Template(Table, tablename="channels_template"):
    id = BigSerial(primary_key=True)
    workspace = BigInt(index=True)
    name = Varchar(length=100)
    language = Varchar(length=16)
    channel = Varchar(length=16)
    subject = Text(default="")
    body = Text()
    status = Varchar(length=16)  # approved | held (moderation found something)
    findings = Text(default="[]")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Message(Table, tablename="channels_message"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    member_id = BigInt(null=True, default=None)  # NULL once the member is erased
    purpose = Varchar(length=100)
    template = Varchar(length=100)
    language = Varchar(length=16)
    reference = Varchar(length=200)
    channel = Varchar(length=16)
    provider = BigInt(null=True, default=None)
    recipient = Text(default="")
    subject = Text(default="")
    body = Text(default="")
    status = Varchar(length=16)  # scheduled | queued | sending | sent | failed | bounced | cancelled
    attempts = Integer(default=0)
    next_at = Timestamptz()
    detail = Text(default="")
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)


class Attempt(Table, tablename="channels_attempt"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    message = BigInt()
    attempt = Integer()
    status = Varchar(length=16)  # sent | retry | failed | bounced | delayed | refused
    detail = Text(default="")
    at = Timestamptz()


class Rule(Table, tablename="channels_rule"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    purpose = Varchar(length=100)
    quiet_from = Varchar(length=5, null=True, default=None)  # "22:00", the workspace's time zone
    quiet_until = Varchar(length=5, null=True, default=None)  # "08:00"
    cap = Integer(null=True, default=None)  # at most this many sent …
    cap_days = Integer(default=7)  # … in this many days
    delay = Boolean(default=True)  # a veto schedules the message (True) or refuses it


class CapLock(Table, tablename="channels_cap_lock"):
    """One row per member and capped purpose, locked while a delivery takes its place under the cap
    (:func:`scrm_channels.rules.reserve`): what serialises concurrent deliveries to one member."""

    id = BigSerial(primary_key=True)
    workspace = BigInt()
    member_id = BigInt()
    purpose = Varchar(length=100)
    at = Timestamptz()


class RateCount(Table, tablename="channels_rate"):
    """Calls made to a provider in one clock minute: the delivery's conditional increment
    (:func:`scrm_channels.messages.take_rate`) keeps it at the provider's ``rate_per_minute``."""

    id = BigSerial(primary_key=True)
    workspace = BigInt()
    provider = BigInt()
    minute = Timestamptz()
    calls = Integer(default=0)


TABLES: list[type[Table]] = [Provider, Template, Message, Attempt, Rule, CapLock, RateCount]
