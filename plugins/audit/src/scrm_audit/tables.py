"""The audit plugin's tables (piccolo app ``audit``). ``workspace`` is a plain id, as in the core's
word list: the rows go with the workspace through ``scrm_workspace_deleted``."""

from __future__ import annotations

from piccolo.columns import BigInt, Integer, Text, Timestamptz, Varchar
from piccolo.columns.column_types import BigSerial, Boolean
from piccolo.table import Table


class DataSubjectRequest(Table, tablename="audit_request"):
    """A data-subject request (PIPL / GDPR) tracked from receipt to its result. ``member_id`` is kept
    after an erasure (the member row stays, pseudonymised), ``note`` is the operator's — never the
    requester's personal data, which lives in the member row."""

    id = BigSerial(primary_key=True)
    workspace = BigInt()
    member_id = BigInt()
    kind = Varchar(length=16)  # access | rectification | erasure | withdrawal
    status = Varchar(length=16, default="open")  # open | done | rejected
    received_at = Timestamptz()
    due_at = Timestamptz()
    closed_at = Timestamptz(null=True, default=None)
    handled_by = Varchar(length=100, default="")
    result = Text(default="")
    note = Text(default="")


class Policy(Table, tablename="audit_policy"):
    """A workspace's compliance policy. Retention: how long events are kept (0: for good), how long an
    erased member's remaining events are kept, and the audit trail's legal minimum (reported, never
    cut). Data-subject requests: when one falls due, in days or in calendar months after receipt."""

    id = BigSerial(primary_key=True)
    workspace = BigInt()
    dsr_due_days = Integer(default=15)
    dsr_due_months = Integer(default=0)
    events_days = Integer(default=0)
    erased_events_days = Integer(default=30)
    trail_years = Integer(default=3)
    updated_at = Timestamptz()
    last_applied_at = Timestamptz(null=True, default=None)
    last_deleted = BigInt(default=0)


class ChainCheck(Table, tablename="audit_check"):
    """One verification of a workspace's hash chains (the consent ledger and the audit trail), by
    the schedule or on request; a broken one keeps the dashboard's alert up until a sound check."""

    id = BigSerial(primary_key=True)
    workspace = BigInt()
    checked_at = Timestamptz()
    consent_ok = Boolean(default=True)
    trail_ok = Boolean(default=True)
    detail = Text(default="")


TABLES: list[type[Table]] = [DataSubjectRequest, Policy, ChainCheck]
