"""The consent ledger: append-only, hash-chained records of members granting and withdrawing consent.

Each workspace has one chain. A record's ``hash`` is the SHA-256 of its canonical content (see
:func:`canonical`), which includes ``prev_hash``, the hash of the record before it, so changing,
removing or reordering any stored record breaks every link after it. Appends lock the chain's head
row (``scrm_consent_chain``), which serialises them per workspace in the database; ``verify``
recomputes the chain.

``can_contact`` is the one door every outbound message must pass: a current grant, an active member
and no veto from a plugin (``scrm_can_contact``). Each refusal it gives is counted
(:mod:`scrm.services.refusals`); ``decide`` only answers, for a caller that counts what it really
refuses itself (one that may delay a message instead). ``without_consent`` checks contacts a sender
made against the ledger as it stood when each was made.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from scrm.problems import NotFound, ValidationFailed, duplicate, field_error
from scrm.schemas import (
    MAX_ATTRIBUTES_BYTES,
    BrokenLink,
    ChainReport,
    ConsentIn,
    ConsentOut,
    ConsentState,
    ContactDecision,
    PurposeOut,
)
from scrm.services.context import WorkspaceRef
from scrm.services.events import EARLIEST, MAX_CLOCK_SKEW, NewEvent, check_batch_size
from scrm.services.personal import personal_data_in
from scrm.services.refusals import Refusals
from scrm.services.values import now, timestamp

if TYPE_CHECKING:
    from scrm.kernel import Kernel

log = logging.getLogger("scrm.consents")

#: The purposes every new workspace starts with (operators add more).
DEFAULT_PURPOSES: dict[str, str] = {
    "marketing.email": "Marketing messages by email",
    "marketing.sms": "Marketing messages by SMS",
    "marketing.wecom": "Marketing messages on WeCom / WeChat",
    "profiling": "Analysing behaviour to personalise offers",
    "data.share": "Sharing personal data with partners",
}
#: ``prev_hash`` of a workspace's first record, and the hash of an empty chain.
GENESIS_HASH = "0" * 64
#: Records read per query while verifying a chain.
VERIFY_CHUNK = 1000

COLUMNS = (
    "id, seq, member, purpose, status, source, policy_version, evidence, occurred_at, recorded_at, prev_hash, hash"
)


def iso(value: datetime) -> str:
    """A timestamp as the chain hashes it: ISO 8601 in UTC with microseconds (``2026-11-23T21:30:00.000000Z``)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no whitespace and non-ASCII characters as they are (UTF-8 when encoded)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical(
    *,
    workspace: int,
    seq: int,
    member: int,
    purpose: str,
    status: str,
    source: str,
    policy_version: str,
    evidence: dict[str, Any],
    occurred_at: datetime,
    recorded_at: datetime,
    prev_hash: str,
) -> bytes:
    """The bytes a record's hash is taken of."""
    content = {
        "workspace": workspace,
        "seq": seq,
        "member": member,
        "purpose": purpose,
        "status": status,
        "source": source,
        "policy_version": policy_version,
        "evidence": evidence,
        "occurred_at": iso(occurred_at),
        "recorded_at": iso(recorded_at),
        "prev_hash": prev_hash,
    }
    return canonical_json(content).encode("utf-8")


def record_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _error(index: int, field: str, message: str) -> dict[str, Any]:
    return field_error(f"[{index}].{field}", message)


class Purposes:
    """The purposes a workspace's members can consent to (``kernel.consents.purposes``)."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    async def list(self, ws: WorkspaceRef) -> builtins.list[PurposeOut]:
        rows = await self.k.db.fetch(
            "SELECT name, description, created_at FROM scrm_consent_purpose WHERE workspace = {} ORDER BY name", ws.id
        )
        return [
            PurposeOut(name=r["name"], description=r["description"], created_at=timestamp(r["created_at"]))
            for r in rows
        ]

    async def create(self, ws: WorkspaceRef, name: str, description: str = "") -> PurposeOut:
        conflict = duplicate("name", f"A purpose {name!r} already exists")
        at = now()
        async with self.k.db.transaction(on_duplicate=conflict):
            await self.k.db.fetch(
                "INSERT INTO scrm_consent_purpose (workspace, name, description, created_at) VALUES ({}, {}, {}, {})",
                ws.id,
                name,
                description,
                at,
            )
        return PurposeOut(name=name, description=description, created_at=at)

    async def names(self, ws: WorkspaceRef) -> set[str]:
        rows = await self.k.db.fetch("SELECT name FROM scrm_consent_purpose WHERE workspace = {}", ws.id)
        return {r["name"] for r in rows}

    async def seed(self, workspace_id: int) -> None:
        """Give a workspace the default purposes (inside the caller's transaction)."""
        at = now()
        for name, description in DEFAULT_PURPOSES.items():
            await self.k.db.fetch(
                "INSERT INTO scrm_consent_purpose (workspace, name, description, created_at) VALUES ({}, {}, {}, {}) "
                "ON CONFLICT (workspace, name) DO NOTHING",
                workspace_id,
                name,
                description,
                at,
            )


@dataclass(frozen=True)
class Contact:
    """A message that reached a member for a purpose at a time (:meth:`Consents.without_consent`)."""

    member_id: int
    purpose: str
    at: datetime


class Consents:
    """Append to, read and verify a workspace's consent ledger; decide whether a member may be
    contacted (``kernel.consents``). No method changes or deletes a record."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.purposes = Purposes(kernel)
        self.refusals = Refusals(kernel)

    async def seed_purposes(self, workspace_id: int) -> None:
        """Give a new workspace :data:`DEFAULT_PURPOSES` (inside the caller's transaction)."""
        await self.purposes.seed(workspace_id)

    # --- appending ------------------------------------------------------------------------------

    async def append(self, ws: WorkspaceRef, items: Sequence[ConsentIn]) -> builtins.list[ConsentOut]:
        """Append records to the workspace's chain: all of them, in order, or none (a 422 naming
        every bad item as ``[i].field``). Joins the caller's transaction, if any; plugins hear of
        each record (``scrm_consent_changed``) after the commit."""
        check_batch_size(items, "consent records")
        async with self.k.db.transaction():
            member_ids, evidence = await self._check(ws, items)
            head_seq, head_hash = await self._lock_head(ws)
            recorded_at = now()
            previous = await self._latest_statuses(ws, member_ids)
            records: builtins.list[ConsentOut] = []
            changes: builtins.list[tuple[ConsentOut, str | None]] = []
            prev_hash, seq = head_hash, head_seq
            for item, member_id, evidence_text in zip(items, member_ids, evidence, strict=True):
                seq += 1
                occurred_at = (item.occurred_at or recorded_at).astimezone(UTC)
                fields: dict[str, Any] = {
                    "workspace": ws.id,
                    "seq": seq,
                    "member": member_id,
                    "purpose": item.purpose,
                    "status": item.status,
                    "source": item.source,
                    "policy_version": item.policy_version,
                    "evidence": item.evidence,
                    "occurred_at": occurred_at,
                    "recorded_at": recorded_at,
                    "prev_hash": prev_hash,
                }
                digest = record_hash(canonical(**fields))
                rows = await self.k.db.fetch(
                    "INSERT INTO scrm_consent (workspace, seq, member, purpose, status, source, policy_version, "
                    "evidence, occurred_at, recorded_at, prev_hash, hash) "
                    "VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}) RETURNING id",
                    ws.id,
                    seq,
                    member_id,
                    item.purpose,
                    item.status,
                    item.source,
                    item.policy_version,
                    evidence_text,
                    occurred_at,
                    recorded_at,
                    prev_hash,
                    digest,
                )
                record = ConsentOut(
                    id=rows[0]["id"],
                    seq=seq,
                    member_id=member_id,
                    purpose=item.purpose,
                    status=item.status,
                    source=item.source,
                    policy_version=item.policy_version,
                    evidence=json.loads(evidence_text),
                    occurred_at=occurred_at,
                    recorded_at=recorded_at,
                    prev_hash=prev_hash,
                    hash=digest,
                )
                records.append(record)
                key = (member_id, item.purpose)
                changes.append((record, previous.get(key)))
                previous[key] = item.status
                prev_hash = digest
            await self.k.db.fetch(
                "UPDATE scrm_consent_chain SET seq = {}, hash = {} WHERE workspace = {}", seq, prev_hash, ws.id
            )
            await self.k.events.record(
                ws,
                [
                    NewEvent(
                        member_id=r.member_id,
                        type=f"consent.{r.status}",
                        properties={
                            "purpose": r.purpose,
                            "record_id": r.id,
                            "source": r.source,
                            "policy_version": r.policy_version,
                        },
                        occurred_at=r.occurred_at,
                        source="core",
                    )
                    for r in records
                ],
            )

            async def notify() -> None:
                for record, previous_status in changes:
                    consent = msgspec.to_builtins(record)
                    consent["previous_status"] = previous_status
                    await self.k.plugins.notify(
                        "scrm_consent_changed",
                        ws.enabled_plugins,
                        workspace=ws,
                        member_id=record.member_id,
                        purpose=record.purpose,
                        consent=consent,
                        kernel=self.k,
                    )

            self.k.db.after_commit(notify)
        return records

    async def _check(
        self, ws: WorkspaceRef, items: Sequence[ConsentIn]
    ) -> tuple[builtins.list[int], builtins.list[str]]:
        """Every item's member id and canonical evidence text; a 422 naming every bad item."""
        known = await self.purposes.names(ws)
        latest = now() + MAX_CLOCK_SKEW
        errors: builtins.list[dict[str, Any]] = []
        evidence: builtins.list[str] = []
        for index, item in enumerate(items):
            if item.purpose not in known:
                errors.append(_error(index, "purpose", "no such purpose in this workspace"))
            if item.occurred_at is not None:
                if item.occurred_at.tzinfo is None:
                    errors.append(_error(index, "occurred_at", "needs a time zone"))
                elif not EARLIEST <= item.occurred_at <= latest:
                    errors.append(_error(index, "occurred_at", "must lie between 1970 and a few minutes from now"))
            try:
                text = canonical_json(item.evidence)
            except (TypeError, ValueError):
                errors.append(_error(index, "evidence", "must be a JSON object of finite numbers, strings, …"))
                text = "{}"
            if len(text.encode("utf-8")) > MAX_ATTRIBUTES_BYTES:
                errors.append(_error(index, "evidence", f"larger than {MAX_ATTRIBUTES_BYTES} bytes of JSON"))
            # the record is hashed into the chain and outlives an erasure: no personal data in it
            for field, value in (("evidence", item.evidence), ("source", item.source)):
                found = personal_data_in(value)
                if found:
                    errors.append(_error(index, field, f"must hold no personal data ({found}); refer to the member"))
            evidence.append(text)
        try:
            member_ids = await self.k.members.resolve(ws, items)
        except ValidationFailed as exc:
            errors += exc.errors or []
            member_ids = []
        if errors:
            errors.sort(key=lambda e: _item_index(e["field"]))
            raise ValidationFailed(f"{len(errors)} problem(s) in the consent records", errors=errors[:100])
        return member_ids, evidence

    async def _lock_head(self, ws: WorkspaceRef) -> tuple[int, str]:
        """The chain's last seq and hash, locked until the transaction ends (created on first use).
        On SQLite the write transaction (``BEGIN IMMEDIATE``) already holds the database's lock."""
        await self.k.db.fetch(
            "INSERT INTO scrm_consent_chain (workspace, seq, hash) VALUES ({}, 0, {}) ON CONFLICT (workspace) DO NOTHING",
            ws.id,
            GENESIS_HASH,
        )
        lock = " FOR UPDATE" if self.k.db.dialect.name == "postgres" else ""
        rows = await self.k.db.fetch(f"SELECT seq, hash FROM scrm_consent_chain WHERE workspace = {{}}{lock}", ws.id)
        return int(rows[0]["seq"]), rows[0]["hash"]

    async def _latest_statuses(self, ws: WorkspaceRef, member_ids: Sequence[int]) -> dict[tuple[int, str], str]:
        """The current status per (member, purpose) of these members."""
        in_members, arg = self.k.db.dialect.any_of("member", set(member_ids), "bigint")
        rows = await self.k.db.fetch(
            "SELECT c.member, c.purpose, c.status FROM scrm_consent c JOIN ("
            f"SELECT member, purpose, MAX(seq) AS seq FROM scrm_consent WHERE workspace = {{}} AND {in_members} "
            "GROUP BY member, purpose) latest ON c.workspace = {} AND c.seq = latest.seq",
            ws.id,
            arg,
            ws.id,
        )
        return {(r["member"], r["purpose"]): r["status"] for r in rows}

    # --- reading --------------------------------------------------------------------------------

    async def history(self, ws: WorkspaceRef, member_id: int) -> builtins.list[ConsentOut]:
        """Every record of a member, oldest first (404 for a member not in this workspace)."""
        await self._member_status(ws, member_id)
        rows = await self.k.db.fetch(
            f"SELECT {COLUMNS} FROM scrm_consent WHERE member = {{}} AND workspace = {{}} ORDER BY seq",
            member_id,
            ws.id,
        )
        return [_to_consent(r) for r in rows]

    async def current(self, ws: WorkspaceRef, member_id: int) -> builtins.list[ConsentOut]:
        """The latest record per purpose of a member, by purpose name."""
        return latest_per_purpose(await self.history(ws, member_id))

    async def state(self, ws: WorkspaceRef, member_id: int) -> ConsentState:
        history = await self.history(ws, member_id)
        return ConsentState(member_id=member_id, current=latest_per_purpose(history), history=history)

    # --- deciding -------------------------------------------------------------------------------

    async def can_contact(self, ws: WorkspaceRef, member_id: int, purpose: str, *, channel: str = "") -> bool:
        """Whether ``member_id`` may be contacted for ``purpose`` (on ``channel``, when the caller
        says) now: the one door every outbound message must pass. A refusal is counted with its
        reason (:attr:`refusals`); :meth:`decide` tells the reason without counting."""
        return (await self.attempt(ws, member_id, purpose, channel=channel)).allowed

    async def attempt(self, ws: WorkspaceRef, member_id: int, purpose: str, *, channel: str = "") -> ContactDecision:
        """:meth:`can_contact` with the reason: :meth:`decide`, and a refusal counted."""
        decision = await self.decide(ws, member_id, purpose)
        if not decision.allowed:
            await self.refusals.count(ws, purpose, decision.reason or "not contactable", channel=channel)
        return decision

    async def decide(self, ws: WorkspaceRef, member_id: int, purpose: str) -> ContactDecision:
        """Allowed only with a current grant for ``purpose``, a member who is neither blocked nor
        erased, and no veto from a plugin enabled here (``scrm_can_contact``). A member not in this
        workspace is a 404 (asked first: another workspace's member is never told apart by its
        purposes); a purpose it does not have is a 422."""
        await self._member_status(ws, member_id)
        return (await self.decide_many(ws, [member_id], purpose))[member_id]

    async def decide_many(
        self, ws: WorkspaceRef, member_ids: Sequence[int], purpose: str
    ) -> dict[int, ContactDecision]:
        """:meth:`decide` for many members at once (a page of winners, a campaign's audience): one
        query for the ledger and the members' states, then the plugins' vetoes for those the ledger
        allows. Members not in this workspace are left out; a purpose it does not have is a 422."""
        known = await self.k.db.fetch(
            "SELECT COUNT(*) AS n FROM scrm_consent_purpose WHERE workspace = {} AND name = {}", ws.id, purpose
        )
        if not known[0]["n"]:
            raise ValidationFailed(
                f"purpose: no purpose {purpose!r} in this workspace",
                errors=[field_error("purpose", "no such purpose in this workspace", "query")],
            )
        ids = sorted(set(member_ids))
        if not ids:
            return {}
        in_ids, arg = self.k.db.dialect.any_of("m.id", ids, "bigint")
        rows = await self.k.db.fetch(
            "SELECT m.id, m.status, "
            "(SELECT c.status FROM scrm_consent c WHERE c.member = m.id AND c.purpose = {} "
            "ORDER BY c.seq DESC LIMIT 1) AS consent "
            f"FROM scrm_member m WHERE m.workspace = {{}} AND {in_ids}",
            purpose,
            ws.id,
            arg,
        )
        decisions: dict[int, ContactDecision] = {}
        for row in rows:
            member_id = int(row["id"])
            if row["status"] != "active":
                reason: str | None = f"the member is {row['status']}"
            elif row["consent"] is None:
                reason = "no consent recorded"
            elif row["consent"] != "granted":
                reason = "consent withdrawn"
            else:
                reason = await self._veto(ws, member_id, purpose)
            decisions[member_id] = ContactDecision(
                member_id=member_id, purpose=purpose, allowed=reason is None, reason=reason
            )
        return decisions

    async def without_consent(self, ws: WorkspaceRef, contacts: Sequence[Contact]) -> builtins.list[Contact]:
        """The contacts made without a grant in force: those whose member's latest record for the
        purpose *recorded* before the contact (what the door could see then) is not a grant, or who
        have none, or are not members of ``ws``. A compliant sender's contacts give an empty list."""
        found: builtins.list[Contact] = []
        for start in range(0, len(contacts), VERIFY_CHUNK):
            chunk = contacts[start : start + VERIFY_CHUNK]
            in_members, arg = self.k.db.dialect.any_of("member", {c.member_id for c in chunk}, "bigint")
            rows = await self.k.db.fetch(
                "SELECT member, purpose, status, recorded_at FROM scrm_consent "
                f"WHERE workspace = {{}} AND {in_members} ORDER BY seq",
                ws.id,
                arg,
            )
            history: dict[tuple[int, str], builtins.list[tuple[datetime, str]]] = {}
            for row in rows:
                history.setdefault((int(row["member"]), row["purpose"]), []).append(
                    (timestamp(row["recorded_at"]), row["status"])
                )
            for contact in chunk:
                before = [
                    status for at, status in history.get((contact.member_id, contact.purpose), []) if at <= contact.at
                ]
                if not before or before[-1] != "granted":
                    found.append(contact)
        return found

    async def _veto(self, ws: WorkspaceRef, member_id: int, purpose: str) -> str | None:
        """The first reason a plugin enabled here gives not to contact the member (None: none)."""
        try:
            vetoes = await self.k.plugins.call(
                "scrm_can_contact",
                ws.enabled_plugins,
                workspace=ws,
                member_id=member_id,
                purpose=purpose,
                kernel=self.k,
            )
        except Exception:
            log.exception("a scrm_can_contact implementation failed; answering no")
            return "a plugin's check failed"
        reasons = [str(v) for v in vetoes if v]
        return reasons[0] if reasons else None

    # --- verifying ------------------------------------------------------------------------------

    async def verify(self, ws: WorkspaceRef) -> ChainReport:
        """Recompute the workspace's chain: every record's hash, every link to the record before, seq
        1..n without gaps, and the head (so a deleted tail shows). Reports the first broken link."""
        head_rows = await self.k.db.fetch("SELECT seq, hash FROM scrm_consent_chain WHERE workspace = {}", ws.id)
        head_seq = int(head_rows[0]["seq"]) if head_rows else 0
        head_hash = head_rows[0]["hash"] if head_rows else GENESIS_HASH
        broken: BrokenLink | None = None
        expected, prev_hash, count, after = 1, GENESIS_HASH, 0, 0
        while True:
            rows = await self.k.db.fetch(
                f"SELECT {COLUMNS} FROM scrm_consent WHERE workspace = {{}} AND seq > {{}} ORDER BY seq LIMIT {{}}",
                ws.id,
                after,
                VERIFY_CHUNK,
            )
            for row in rows:
                count += 1
                after = int(row["seq"])
                if broken is not None:
                    continue
                broken = _check_record(ws.id, row, expected, prev_hash)
                prev_hash, expected = row["hash"], after + 1
            if len(rows) < VERIFY_CHUNK:
                break
        if broken is None:
            last = expected - 1
            if head_seq != last:
                broken = BrokenLink(
                    seq=max(head_seq, last),
                    record_id=None,
                    reason=f"head says {head_seq} records, ledger has {last}",
                )
            elif head_hash != prev_hash:
                broken = BrokenLink(seq=last, record_id=None, reason=f"head hash does not match record {last}")
        return ChainReport(ok=broken is None, records=count, head_hash=head_hash, broken=broken)

    # --- helpers --------------------------------------------------------------------------------

    async def _member_status(self, ws: WorkspaceRef, member_id: int) -> str:
        rows = await self.k.db.fetch(
            "SELECT status FROM scrm_member WHERE id = {} AND workspace = {}", member_id, ws.id
        )
        if not rows:
            raise NotFound(f"No member {member_id} in this workspace")
        status: str = rows[0]["status"]
        return status


def _check_record(workspace: int, row: dict[str, Any], expected: int, prev_hash: str) -> BrokenLink | None:
    """What is wrong with one stored record, given where it should sit in the chain."""
    seq, record_id = int(row["seq"]), row["id"]
    if seq != expected:
        return BrokenLink(seq=expected, record_id=None, reason=f"record {expected} is missing")
    if row["prev_hash"] != prev_hash:
        what = "the start of the chain" if seq == 1 else f"record {seq - 1}"
        return BrokenLink(seq=seq, record_id=record_id, reason=f"prev_hash does not match {what}")
    try:
        evidence = json.loads(row["evidence"])
        content = canonical(
            workspace=workspace,
            seq=seq,
            member=int(row["member"]),
            purpose=row["purpose"],
            status=row["status"],
            source=row["source"],
            policy_version=row["policy_version"],
            evidence=evidence,
            occurred_at=timestamp(row["occurred_at"]),
            recorded_at=timestamp(row["recorded_at"]),
            prev_hash=row["prev_hash"],
        )
    except (TypeError, ValueError):
        return BrokenLink(seq=seq, record_id=record_id, reason="the record cannot be read (evidence or a timestamp)")
    if record_hash(content) != row["hash"]:
        return BrokenLink(seq=seq, record_id=record_id, reason="hash does not match its content")
    return None


def latest_per_purpose(history: Sequence[ConsentOut]) -> builtins.list[ConsentOut]:
    """From records in seq order, the last one of each purpose, by purpose name."""
    latest: dict[str, ConsentOut] = {}
    for record in history:
        latest[record.purpose] = record
    return [latest[name] for name in sorted(latest)]


def _item_index(field: str) -> tuple[int, str]:
    """Sort key of an error field ``[3].purpose``: the item's index, then the field."""
    index, _, rest = field.removeprefix("[").partition("]")
    return (int(index) if index.isdecimal() else -1, rest)


def _to_consent(row: dict[str, Any]) -> ConsentOut:
    return ConsentOut(
        id=row["id"],
        seq=int(row["seq"]),
        member_id=row["member"],
        purpose=row["purpose"],
        status=row["status"],
        source=row["source"],
        policy_version=row["policy_version"],
        evidence=json.loads(row["evidence"]),
        occurred_at=timestamp(row["occurred_at"]),
        recorded_at=timestamp(row["recorded_at"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )
