"""The audit trail: every write through the API, the console and the CLI, recorded in the write's own
transaction, append-only and hash-chained per workspace.

How a write gets recorded, once for the core and every plugin: the request (or CLI command) opens an
:class:`AuditContext` (:mod:`scrm.auditing`) naming the channel, the client's address and user agent;
the guards that authenticate fill in the :class:`Actor` and the workspace. Every outermost
``kernel.db.transaction()`` opened by that request runs :meth:`Audit.before_commit` just before it
commits, which appends the records — so the write and its record commit together or not at all.
What a record says of the change comes from the route (its ``operation_id`` as the action, its path
parameters as the target) unless a service said more with :meth:`Audit.note` (a before/after summary).
A write request that succeeded without a transaction of its own (a single-statement write) gets its
record right after, as a statement of its own (:meth:`Audit.record_request`).

The chain: a record's ``hash`` is SHA-256 of ``"<seq>:<prev_hash>:<body>"``, where ``body`` is the
canonical JSON of its own fields (:func:`record_body`); ``scrm_audit_chain`` holds each workspace's
head and is locked by every append, which serialises appends per workspace (PostgreSQL does it in one
statement, hashing in SQL — a group commit's records of one workspace too). Workspace 0 is the deployment's own chain (operator-level writes).

What a record never holds: secrets (a summary's keys that name one are masked) and personal values
(a value that reads like personal data is masked; services note which personal fields changed, not
their values), so the trail needs no rewriting when a member is erased.
"""

from __future__ import annotations

import asyncio
import builtins
import contextvars
import csv
import hashlib
import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from scrm.schemas import BrokenLink, ChainReport
from scrm.services.consents import GENESIS_HASH, canonical_json, iso
from scrm.services.personal import personal_data_in
from scrm.services.values import now, timestamp

if TYPE_CHECKING:
    from scrm.kernel import Kernel
    from scrm.pagination import Page

log = logging.getLogger("scrm.audit")
#: records read per query while verifying or exporting
CHUNK = 1000
#: the deployment's own chain: writes that belong to no workspace (creating one, operator accounts)
DEPLOYMENT = 0
_SECRET_KEY = re.compile(r"pass(word)?|secret|token|credential|api_?key|key_hash|^key$|private", re.IGNORECASE)
MASKED = "***"
PERSONAL = "[personal]"


@dataclass(frozen=True)
class Actor:
    """Who made a write. ``kind`` is open-ended — the core knows ``operator`` (a console session),
    ``api_key``, ``cli`` (the OS user running ``scrm``), ``system`` and ``anonymous`` (a sign-in
    attempt); an integration adds its own (``oauth_app``). ``id`` identifies it within its kind and
    ``label`` is what a person reads (a username, a key's name); neither is ever a secret."""

    kind: str
    id: str = ""
    label: str = ""


ANONYMOUS = Actor("anonymous")
#: background work acting on its own account (:meth:`Audit.record`)
SYSTEM = Actor("system")


@dataclass(frozen=True)
class Note:
    """What a service says about a write it makes (:meth:`Audit.note`)."""

    action: str | None
    target_type: str
    target_id: str
    summary: dict[str, Any]
    workspace_id: int | None


@dataclass
class AuditContext:
    """One request's (or command's) part in the trail: set when it starts, completed by the guards
    that authenticate (actor, workspace) and read when its transactions commit."""

    channel: str  # api | console | cli
    action: str = ""
    actor: Actor = ANONYMOUS
    address: str = ""
    user_agent: str = ""
    workspace_id: int | None = None
    #: whether this context's transactions are writes to record (a GET's are not)
    writes: bool = True
    #: what a record says when no service noted more: the route's target and other parameters
    target_type: str = ""
    target_id: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    recorded: int = 0
    task: asyncio.Task[Any] | None = field(default_factory=asyncio.current_task)

    def set_actor(self, actor: Actor) -> None:
        self.actor = actor


_current: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar("scrm_audit", default=None)
_batch: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar("scrm_audit_batch", default=None)


def current() -> AuditContext | None:
    """The audit context of the running request or command (None in background work)."""
    return _current.get()


def begin(context: AuditContext) -> contextvars.Token[AuditContext | None]:
    return _current.set(context)


def end(token: contextvars.Token[AuditContext | None]) -> None:
    _current.reset(token)


def set_actor(actor: Actor, workspace_id: int | None = None) -> None:
    """Say who the running request acts as (and, when known, in which workspace): what an
    authenticating guard calls — the core's API key guard, the console's session guard, and any
    other kind of credential a plugin or integration brings."""
    context = _current.get()
    if context is not None:
        context.actor = actor
        if workspace_id is not None:
            context.workspace_id = workspace_id


@dataclass
class _Batch:
    """A group commit's batch as the trail sees it: the requests' contexts, one per item in order
    (None: not recorded by the batch), and the notes said for items (by position). Like a request's
    context it belongs to the task writing it: a task started from there (an in-process job queued
    after the commit) inherits the variable, not the batch."""

    contexts: builtins.list[AuditContext | None]
    notes: dict[int, builtins.list[Note]] = field(default_factory=dict)
    task: asyncio.Task[Any] | None = field(default_factory=asyncio.current_task)


def _own_batch() -> _Batch | None:
    batch = _batch.get()
    return batch if batch is not None and batch.task is asyncio.current_task() else None


def begin_batch(contexts: Sequence[AuditContext | None]) -> contextvars.Token[_Batch | None]:
    """A group commit's batch (:mod:`scrm.groupcommit`) writes for several requests at once, in a
    task of its own: the requests' contexts it holds (one per item, in order), each recorded by the
    batch's transaction unless :func:`not_written` took it out."""
    return _batch.set(_Batch([context if context is not None and context.writes else None for context in contexts]))


def not_written(positions: Iterable[int]) -> None:
    """In a group commit's batch, before its transaction commits: the items at these positions were
    not written by it (they go to ``write_one``, which records its own), so their requests get no
    record from the batch. Outside a batch it does nothing."""
    batch = _batch.get()
    if batch is not None:
        for position in positions:
            batch.contexts[position] = None


def end_batch(token: contextvars.Token[_Batch | None]) -> None:
    _batch.reset(token)


def _owed(batch: _Batch) -> builtins.list[tuple[AuditContext, builtins.list[Note]]]:
    """The requests a batch records, each with its notes (what the route says, when none)."""
    return [
        (held, batch.notes.get(position) or [_default_note(held)])
        for position, held in enumerate(batch.contexts)
        if held is not None
    ]


def _count(owed: Iterable[tuple[AuditContext, builtins.list[Note]]]) -> None:
    """Count these records as written (a request whose write was recorded gets no record of its own)."""
    for context, notes in owed:
        context.recorded += len(notes)


@dataclass(frozen=True)
class Appending:
    """A group commit batch's records as part of its own statement (:meth:`Audit.appending`): CTEs for
    a ``WITH RECURSIVE``, ending in ``audit_moved`` (the head moved: one row, or none), and their
    arguments, which follow those of the CTEs before them."""

    ctes: str
    args: builtins.list[Any]
    owed: builtins.list[tuple[AuditContext, builtins.list[Note]]]

    def named(self) -> tuple[str, dict[str, Any]]:
        """The CTEs with named placeholders (``{audit_0}``, ``{audit_1}``, …) and their values, for a
        statement run by :meth:`scrm.sql.Sql.run` (give ``after`` no positional arguments then: it may
        name the statement's own values, ``{ws}``)."""
        numbers = iter(range(len(self.args)))
        text = re.sub(r"\{\}", lambda _: f"{{audit_{next(numbers)}}}", self.ctes)
        return text, {f"audit_{n}": value for n, value in enumerate(self.args)}


def _append_ctes(
    workspace: int, rows: builtins.list[dict[str, Any]], after: str, after_args: builtins.list[Any]
) -> tuple[str, builtins.list[Any]]:
    """CTEs appending ``rows`` (of one workspace) after its head, if ``after`` holds: the head locked,
    each link hashed in SQL from the one before it (a recursive query, in the rows' order, the same
    hash as :func:`chain_hash`), the rows inserted and the head moved (``audit_moved``)."""
    names = EXPORT_FIELDS[3:-2]  # at … user_agent
    arrays = ", ".join(f"{{}}::{'timestamptz' if name == 'at' else 'text'}[]" for name in ["body", *names])
    link = "encode(sha256(convert_to((l.seq + 1)::text || ':' || l.hash || ':' || i.body, 'UTF8')), 'hex')"
    # the head's hash is a varchar(64); a recursive query's columns must keep one type: text
    ctes = (
        f"audit_head AS MATERIALIZED (SELECT seq, hash FROM scrm_audit_chain WHERE workspace = {{}} AND ({after}) "
        "FOR UPDATE), "
        f"audit_input AS (SELECT * FROM unnest({arrays}) WITH ORDINALITY AS x(body, {', '.join(names)}, ord)), "
        f"audit_link AS (SELECT i.ord, l.seq + 1 AS seq, l.hash::text AS prev_hash, {link} AS hash "
        "FROM audit_head l JOIN audit_input i ON i.ord = 1 "
        f"UNION ALL SELECT i.ord, l.seq + 1, l.hash, {link} FROM audit_link l JOIN audit_input i ON i.ord = l.ord + 1), "
        f"audit_ins AS (INSERT INTO scrm_audit (workspace, seq, {', '.join(names)}, prev_hash, hash) "
        f"SELECT {{}}, l.seq, {', '.join(f'i.{name}' for name in names)}, l.prev_hash, l.hash "
        "FROM audit_link l JOIN audit_input i USING (ord) RETURNING seq, hash), "
        "audit_moved AS (UPDATE scrm_audit_chain c SET seq = last.seq, hash = last.hash "
        "FROM (SELECT seq, hash FROM audit_ins ORDER BY seq DESC LIMIT 1) AS last WHERE c.workspace = {} "
        "RETURNING c.seq)"
    )
    args = [
        workspace,
        *after_args,
        [record_body(row) for row in rows],
        *([row[name] for row in rows] for name in names),
    ]
    return ctes, [*args, workspace, workspace]


def _owed_by_request() -> builtins.list[tuple[AuditContext, builtins.list[Note]]]:
    """The running request's record, if no record of it was written yet (see :meth:`Audit.appending`)."""
    context = _unrecorded_request()
    return [] if context is None else [(context, [_default_note(context)])]


def _unrecorded_request() -> AuditContext | None:
    """The running request's context, if it writes and no record of it was written yet."""
    context = _current.get()
    if context is None or not context.writes or context.recorded or context.task is not asyncio.current_task():
        return None
    return context


def _default_note(context: AuditContext) -> Note:
    """What a record says of a write no service noted: the route's target and parameters."""
    return Note(None, context.target_type, context.target_id, scrub(context.summary), None)


def set_workspace(workspace_id: int) -> None:
    context = _current.get()
    if context is not None:
        context.workspace_id = workspace_id


def scrub(value: Any, key: str = "") -> Any:
    """A summary value safe to keep for good: secrets masked by their key's name, values that read
    like personal data masked."""
    if key and _SECRET_KEY.search(key):
        return MASKED
    if isinstance(value, dict):
        return {str(k): scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return PERSONAL if personal_data_in(value) else value[:200]
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)[:200]


def record_body(row: dict[str, Any]) -> str:
    """The canonical JSON of a record's own fields: what its hash covers besides seq and prev_hash."""
    return canonical_json(
        {
            "workspace": int(row["workspace"]),
            "at": iso(timestamp(row["at"])),
            "channel": row["channel"],
            "actor": [row["actor_kind"], row["actor_id"], row["actor_label"]],
            "action": row["action"],
            "target": [row["target_type"], row["target_id"]],
            "summary": json.loads(row["summary"]) if isinstance(row["summary"], str) else row["summary"],
            "address": row["address"],
            "user_agent": row["user_agent"],
        }
    )


def chain_hash(seq: int, prev_hash: str, body: str) -> str:
    return hashlib.sha256(f"{seq}:{prev_hash}:{body}".encode()).hexdigest()


class ActorOut(msgspec.Struct):
    kind: str
    id: str
    label: str


class AuditRecordOut(msgspec.Struct):
    """One record of the audit trail. ``hash`` is SHA-256 of ``"<seq>:<prev_hash>:<body>"``
    (``body``: the canonical JSON of the record's other fields)."""

    id: int
    seq: int
    at: datetime
    channel: str
    actor: ActorOut
    action: str
    target_type: str
    target_id: str
    summary: dict[str, Any]
    address: str
    user_agent: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditFilter:
    """What a trail listing is narrowed by; every condition must hold."""

    actor_kind: str | None = None
    actor_id: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def parse(
        cls,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> AuditFilter:
        """The filter a query names: ``actor`` and ``target`` as ``KIND`` or ``KIND:ID``."""
        actor_kind, _, actor_id = (actor or "").partition(":")
        target_type, _, target_id = (target or "").partition(":")
        return cls(
            actor_kind=actor_kind or None,
            actor_id=actor_id or None,
            action=action or None,
            target_type=target_type or None,
            target_id=target_id or None,
            since=since,
            until=until,
        )


COLUMNS = (
    "id, workspace, seq, at, channel, actor_kind, actor_id, actor_label, action, target_type, target_id, "
    "summary, address, user_agent, prev_hash, hash"
)
EXPORT_FIELDS = [c.strip() for c in COLUMNS.split(",")]


class Audit:
    """Append to, read and verify the audit trail."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        kernel.db.before_commit_hooks.append(self.before_commit)
        #: workspaces whose chain head this process has appended to (heads are never deleted), for
        #: :meth:`appending`
        self._heads: set[int] = set()

    # --- recording ------------------------------------------------------------------------------

    def note(
        self,
        target_type: str,
        target_id: Any,
        summary: dict[str, Any] | None = None,
        *,
        action: str | None = None,
        workspace_id: int | None = None,
        item: int | None = None,
    ) -> None:
        """Say what the write in the current transaction did, for its audit record: the target and a
        summary of the change (``{"status": ["active", "blocked"], "changed": ["display_name"]}``).
        Secrets and personal values are masked. Outside a recorded request or command it does nothing;
        several notes in one transaction make several records.

        In a group commit's batch (which runs outside every request's context) ``item`` says whose
        write it is: the batch's item at that position, whose request's record then says this note
        instead of the route's target. Outside a batch ``item`` is ignored."""
        batch = _own_batch()
        if batch is not None and item is not None:
            batch.notes.setdefault(item, []).append(
                Note(action, target_type, str(target_id), scrub(summary or {}), workspace_id)
            )
            return
        context = _current.get()
        if context is None or not context.writes or not self.k.db.in_transaction():
            return
        notes: builtins.list[Note] = self.k.db.transaction_state().setdefault("audit", [])
        notes.append(Note(action, target_type, str(target_id), scrub(summary or {}), workspace_id))

    async def record(
        self,
        workspace_id: int,
        action: str,
        target_type: str,
        target_id: Any,
        summary: dict[str, Any] | None = None,
        *,
        actor: Actor = SYSTEM,
        channel: str = "job",
    ) -> None:
        """Append one record that no request or command stands behind: background work (a cron, a
        job) writing, or finding something, on its own account — e.g. the audit plugin's
        ``audit.chain_broken`` alert. Joins the caller's transaction, so the record commits with
        what it describes; opens one otherwise. Secrets and personal values are masked."""
        context = AuditContext(channel=channel, action=action, actor=actor, workspace_id=workspace_id, writes=True)
        async with self.k.db.transaction():
            await self._record(context, [Note(action, target_type, str(target_id), scrub(summary or {}), None)])

    async def before_commit(self) -> None:
        """The database's hook: record the current transaction's write(s) in the same transaction —
        the running request's, or, in a group commit's batch, each request whose write it holds."""
        batch = _own_batch()
        if batch is not None:
            owed = _owed(batch)
            await self._append_all([row for held, notes in owed for row in self._rows(held, notes)])
            _count(owed)
            return
        context = _current.get()
        if context is None or not context.writes or context.task is not asyncio.current_task():
            return
        notes: builtins.list[Note] = self.k.db.transaction_state().pop("audit", None) or [_default_note(context)]
        await self._record(context, notes)

    async def record_request(self) -> None:
        """The running request's record, for a write that committed without a transaction of its own
        (a single-statement write; see :mod:`scrm.auditing`). On PostgreSQL the append is one
        statement of its own, atomic without ``BEGIN`` and ``COMMIT``: the chain's head stays locked
        for one round trip and its commit instead of three — every other write of the workspace waits
        on that lock. On SQLite (whose append reads the head first) in a transaction."""
        context = _unrecorded_request()
        if context is None:
            return
        if self.k.db.dialect.name != "postgres" or self.k.db.in_transaction():
            async with self.k.db.transaction():
                pass  # its before-commit hook appends the record
            return
        await self._record(context, [_default_note(context)])

    async def _record(self, context: AuditContext, notes: builtins.list[Note]) -> None:
        await self._append_all(self._rows(context, notes))
        context.recorded += len(notes)

    def appending(self, workspace: int, after: str, *after_args: Any) -> Appending | None:
        """The records a one-statement write owes, as CTEs for that statement, so that it needs no
        transaction: ``BEGIN``, the write, the trail, ``COMMIT`` (four round trips) become one, and the
        record commits with the write. The records are those of the running group commit batch (a
        batch whose write is one statement), or else of the running request (a write such as a
        redemption, which is one statement). They are appended only if ``after`` (SQL on the
        statement's other CTEs, with ``after_args``) holds — say, only if the write went in — and the
        head is locked when ``after`` is evaluated: refer to the write's inserting CTEs there so that,
        as in every other write, the trail's head is locked after the rows are.

        None when it cannot be: inside a transaction (its commit records the write), a request that
        writes nothing or was recorded already, a record of another workspace, SQLite, or a head this
        process has not seen yet (a statement cannot create it and lock it too) — then a batch takes a
        transaction, whose commit appends the records, and a request gets its record after the write
        (:meth:`record_request`). After the statement, if ``after`` held, call :meth:`appended` with
        what its ``audit_moved`` CTE returned."""
        if workspace not in self._heads or self.k.db.in_transaction():
            return None
        batch = _own_batch()
        owed = _owed(batch) if batch is not None else _owed_by_request()
        rows = [row for held, notes in owed for row in self._rows(held, notes)]
        if not rows or any(row["workspace"] != workspace for row in rows):
            return None
        ctes, args = _append_ctes(workspace, rows, after, list(after_args))
        return Appending(ctes, args, owed)

    async def appended(self, appending: Appending, moved: int) -> None:
        """After the statement holding ``appending`` committed: ``moved`` is how many chain heads its
        ``audit_moved`` CTE moved (1, unless ``after`` did not hold). A head gone meanwhile (heads are
        never deleted: it cannot happen) is not a record lost: the records are appended at once, in a
        transaction of their own."""
        if moved:
            _count(appending.owed)
            return
        log.error("the audit chain head of a group commit batch was missing; recording it on its own")
        self._heads.clear()
        async with self.k.db.transaction():
            pass  # its before-commit hook appends the batch's records

    @staticmethod
    def _rows(context: AuditContext, notes: builtins.list[Note]) -> builtins.list[dict[str, Any]]:
        """The records of one context's notes (the caller counts them as recorded once they are in)."""
        at = now()
        rows = []
        for note in notes:
            workspace = note.workspace_id if note.workspace_id is not None else context.workspace_id
            rows.append(
                {
                    "workspace": workspace if workspace is not None else DEPLOYMENT,
                    "at": at,
                    "channel": context.channel,
                    "actor_kind": context.actor.kind[:32],
                    "actor_id": context.actor.id[:64],
                    "actor_label": context.actor.label[:200],
                    "action": (note.action or context.action or "write")[:200],
                    "target_type": note.target_type[:64],
                    "target_id": note.target_id[:64],
                    "summary": canonical_json(note.summary),
                    "address": context.address[:64],
                    "user_agent": context.user_agent[:300],
                }
            )
        return rows

    async def _append_all(self, rows: builtins.list[dict[str, Any]]) -> None:
        """Append records in order. On PostgreSQL several records of one workspace (a group commit's
        batch holds one per request) are appended together — the head locked once, the links hashed
        in order, all rows and the new head written by one statement — instead of one statement each,
        which would hold the workspace's head for a round trip per record. Workspaces in id order:
        two transactions never wait on each other's heads."""
        by_workspace: dict[int, builtins.list[dict[str, Any]]] = {}
        for row in rows:
            by_workspace.setdefault(row["workspace"], []).append(row)
        for workspace, appended in sorted(by_workspace.items()):
            if len(appended) > 1 and self.k.db.dialect.name == "postgres":
                await self._append_many(workspace, appended)
            else:
                for row in appended:
                    await self._append(row)

    async def _append(self, row: dict[str, Any]) -> None:
        body = record_body(row)
        values = [row[c] for c in EXPORT_FIELDS[3:-2]]  # at … user_agent
        names = ", ".join(EXPORT_FIELDS[3:-2])
        if self.k.db.dialect.name == "postgres":
            # one round trip: lock the head, hash in SQL, insert, move the head
            statement = (
                "WITH head AS (SELECT seq, hash FROM scrm_audit_chain WHERE workspace = {} FOR UPDATE), "
                "link AS (SELECT seq + 1 AS seq, hash AS prev_hash, "
                "encode(sha256(convert_to((seq + 1)::text || ':' || hash || ':' || {}::text, 'UTF8')), 'hex') AS hash "
                "FROM head), "
                f"ins AS (INSERT INTO scrm_audit (workspace, seq, {names}, prev_hash, hash) "
                f"SELECT {{}}, seq, {', '.join(['{}'] * len(values))}, prev_hash, hash FROM link RETURNING seq, hash) "
                "UPDATE scrm_audit_chain c SET seq = ins.seq, hash = ins.hash FROM ins WHERE c.workspace = {} "
                "RETURNING c.seq"
            )
            args = [row["workspace"], body, row["workspace"], *values, row["workspace"]]
            if not await self.k.db.fetch(statement, *args):
                await self._create_head(row["workspace"])
                await self.k.db.fetch(statement, *args)
            self._heads.add(row["workspace"])
            return
        heads = await self.k.db.fetch("SELECT seq, hash FROM scrm_audit_chain WHERE workspace = {}", row["workspace"])
        if not heads:
            await self._create_head(row["workspace"])
            seq, prev_hash = 1, GENESIS_HASH
        else:
            seq, prev_hash = int(heads[0]["seq"]) + 1, heads[0]["hash"]
        digest = chain_hash(seq, prev_hash, body)
        await self.k.db.fetch(
            f"INSERT INTO scrm_audit (workspace, seq, {names}, prev_hash, hash) "
            f"VALUES ({', '.join(['{}'] * (len(values) + 4))})",
            row["workspace"],
            seq,
            *values,
            prev_hash,
            digest,
        )
        await self.k.db.fetch(
            "UPDATE scrm_audit_chain SET seq = {}, hash = {} WHERE workspace = {}", seq, digest, row["workspace"]
        )

    async def _append_many(self, workspace: int, rows: builtins.list[dict[str, Any]]) -> None:
        """PostgreSQL: ``rows`` (of one workspace) after its head, in one round trip (see
        :func:`_append_ctes`): a round trip less than reading the head first, for every batch a
        group commit writes."""
        ctes, args = _append_ctes(workspace, rows, "true", [])
        statement = f"WITH RECURSIVE {ctes} SELECT seq FROM audit_moved"
        if not await self.k.db.fetch(statement, *args):
            await self._create_head(workspace)
            await self.k.db.fetch(statement, *args)
        self._heads.add(workspace)

    async def _create_head(self, workspace: int) -> None:
        await self.k.db.fetch(
            "INSERT INTO scrm_audit_chain (workspace, seq, hash) VALUES ({}, 0, {}) ON CONFLICT (workspace) DO NOTHING",
            workspace,
            GENESIS_HASH,
        )

    # --- reading --------------------------------------------------------------------------------

    def _where(self, f: AuditFilter) -> tuple[str, builtins.list[Any]]:
        conditions = (
            ("actor_kind = {}", f.actor_kind),
            ("actor_id = {}", f.actor_id),
            ("action = {}", f.action),
            ("target_type = {}", f.target_type),
            ("target_id = {}", f.target_id),
            ("at >= {}", f.since),
            ("at < {}", f.until),
        )
        clauses = [(clause, value) for clause, value in conditions if value is not None]
        return "".join(f" AND {c}" for c, _ in clauses), [v for _, v in clauses]

    async def list(
        self, workspace_id: int, filters: AuditFilter, cursor: str | None, limit: int
    ) -> Page[AuditRecordOut]:
        """Records newest first (by seq)."""
        before = self.k.cursors.decode("audit", cursor) or None
        where, args = self._where(filters)
        if before is not None:
            where += " AND seq < {}"
            args.append(before)
        rows = await self.k.db.fetch(
            f"SELECT {COLUMNS} FROM scrm_audit WHERE workspace = {{}}{where} ORDER BY seq DESC LIMIT {{}}",
            workspace_id,
            *args,
            limit + 1,
        )
        items = [to_record(row) for row in rows]
        return self.k.cursors.page("audit", items, [r.seq for r in items], limit)

    async def rows(self, workspace_id: int, filters: AuditFilter) -> AsyncIterator[dict[str, Any]]:
        """Every matching record oldest first, read in chunks (what an export streams)."""
        where, args = self._where(filters)
        after = 0
        while True:
            rows = await self.k.db.fetch(
                f"SELECT {COLUMNS} FROM scrm_audit WHERE workspace = {{}} AND seq > {{}}{where} ORDER BY seq LIMIT {{}}",
                workspace_id,
                after,
                *args,
                CHUNK,
            )
            for row in rows:
                yield dict(row)
            if len(rows) < CHUNK:
                return
            after = int(rows[-1]["seq"])

    async def export(self, workspace_id: int, filters: AuditFilter, fmt: str) -> AsyncIterator[bytes]:
        """The matching records as NDJSON (one record a line, as the API shows it) or CSV."""
        if fmt == "csv":
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(EXPORT_FIELDS)
            yield out.getvalue().encode()
        async for row in self.rows(workspace_id, filters):
            if fmt == "csv":
                out = io.StringIO()
                csv.writer(out).writerow([_csv_value(name, row[name]) for name in EXPORT_FIELDS])
                yield out.getvalue().encode()
            else:
                yield msgspec.json.encode(to_record(row)) + b"\n"

    # --- verifying ------------------------------------------------------------------------------

    async def workspaces(self) -> builtins.list[int]:
        """Every workspace with a chain (0, the deployment's, among them when it has one)."""
        rows = await self.k.db.fetch("SELECT workspace FROM scrm_audit_chain ORDER BY workspace")
        return [int(r["workspace"]) for r in rows]

    async def verify(self, workspace_id: int) -> ChainReport:
        """Recompute the workspace's chain: every record's hash and link, seq 1..n without gaps, and
        the head (so a deleted tail shows). Reports the first broken link."""
        heads = await self.k.db.fetch("SELECT seq, hash FROM scrm_audit_chain WHERE workspace = {}", workspace_id)
        head_seq = int(heads[0]["seq"]) if heads else 0
        head_hash = heads[0]["hash"] if heads else GENESIS_HASH
        broken: BrokenLink | None = None
        expected, prev_hash, count = 1, GENESIS_HASH, 0
        async for row in self.rows(workspace_id, AuditFilter()):
            count += 1
            if broken is None:
                broken = _check(row, expected, prev_hash)
                prev_hash, expected = row["hash"], int(row["seq"]) + 1
        if broken is None:
            last = expected - 1
            if head_seq != last:
                broken = BrokenLink(
                    seq=max(head_seq, last), record_id=None, reason=f"head says {head_seq} records, trail has {last}"
                )
            elif head_hash != prev_hash:
                broken = BrokenLink(seq=last, record_id=None, reason=f"head hash does not match record {last}")
        return ChainReport(ok=broken is None, records=count, head_hash=head_hash, broken=broken)


def _check(row: dict[str, Any], expected: int, prev_hash: str) -> BrokenLink | None:
    seq, record_id = int(row["seq"]), int(row["id"])
    if seq != expected:
        return BrokenLink(seq=expected, record_id=None, reason=f"record {expected} is missing")
    if row["prev_hash"] != prev_hash:
        what = "the start of the chain" if seq == 1 else f"record {seq - 1}"
        return BrokenLink(seq=seq, record_id=record_id, reason=f"prev_hash does not match {what}")
    try:
        body = record_body(row)
    except (TypeError, ValueError):
        return BrokenLink(seq=seq, record_id=record_id, reason="the record cannot be read (summary or time)")
    if chain_hash(seq, prev_hash, body) != row["hash"]:
        return BrokenLink(seq=seq, record_id=record_id, reason="hash does not match its content")
    return None


def _csv_value(name: str, value: Any) -> Any:
    return iso(timestamp(value)) if name == "at" else value


def to_record(row: dict[str, Any]) -> AuditRecordOut:
    return AuditRecordOut(
        id=int(row["id"]),
        seq=int(row["seq"]),
        at=timestamp(row["at"]),
        channel=row["channel"],
        actor=ActorOut(kind=row["actor_kind"], id=row["actor_id"], label=row["actor_label"]),
        action=row["action"],
        target_type=row["target_type"],
        target_id=row["target_id"],
        summary=json.loads(row["summary"]),
        address=row["address"],
        user_agent=row["user_agent"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )
