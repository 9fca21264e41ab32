"""Bulk import (NDJSON or CSV, streamed) and export of members.

Import reads the request body as it arrives and writes it in batches of ``BATCH_SIZE`` rows, so
memory stays flat however large the file. Each batch is one transaction and one upsert statement
(the rows travel as one JSON parameter, which both SQLite and PostgreSQL expand into a table): a
batch containing any invalid row writes nothing, and every invalid row is reported by line.
Rows are matched on ``external_id`` (required); fields a row leaves out keep their stored value.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from scrm import nul
from scrm.problems import Problem, field_name
from scrm.schemas import (
    Attributes,
    DisplayName,
    ExternalId,
    Identities,
    ImportError_,
    ImportResult,
    MemberOut,
    MemberStatus,
    TagChange,
    TagName,
)
from scrm.services.context import WorkspaceRef
from scrm.services.events import NewEvent
from scrm.services.members import MemberFilter, check_attributes_size
from scrm.services.values import now

if TYPE_CHECKING:
    from scrm.kernel import Kernel

BATCH_SIZE = 2_000
MAX_REPORTED_ERRORS = 1_000
MAX_LINE_BYTES = 64 * 1024
CSV_LIST_SEPARATOR = "|"
EXPORT_ONLY_COLUMNS = frozenset({"id", "created_at", "updated_at", "last_active_at"})


class ImportRow(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """One member in an import file; ``None`` means "not given: keep what is stored"."""

    external_id: ExternalId
    display_name: DisplayName | None = None
    status: MemberStatus | None = None
    identities: Identities | None = None
    attributes: Attributes | None = None
    tags: Annotated[list[TagName], msgspec.Meta(max_length=100)] | None = None
    # the read-only columns of an export, accepted (and ignored) so that an export imports as is
    id: int | None = None
    created_at: str | None = None
    updated_at: str | None = None
    last_active_at: str | None = None


class CsvHeaderInvalid(Problem):
    status = 422
    kind = "csv-header"
    title = "The CSV header is not valid"


class UnsupportedFormat(Problem):
    status = 415
    kind = "unsupported-media-type"
    title = "Send application/x-ndjson or text/csv"


def format_of(content_type: str) -> str:
    media = content_type.split(";", 1)[0].strip().lower()
    if media in ("application/x-ndjson", "application/ndjson", "application/jsonl"):
        return "ndjson"
    if media == "text/csv":
        return "csv"
    raise UnsupportedFormat(f"Content-Type {media or '(none)'!r} is not an import format")


class _Report:
    def __init__(self) -> None:
        self.result = ImportResult(
            rows=0, created=0, updated=0, failed_rows=0, failed_batches=[], errors=[], errors_truncated=False
        )

    def error(self, line: int, field: str, message: str) -> None:
        self.result.failed_rows += 1
        if len(self.result.errors) < MAX_REPORTED_ERRORS:
            self.result.errors.append(ImportError_(line=line, field=field, message=message))
        else:
            self.result.errors_truncated = True


async def import_members(kernel: Kernel, ws: WorkspaceRef, fmt: str, body: AsyncIterator[bytes]) -> ImportResult:
    report = _Report()
    batch: list[tuple[int, ImportRow]] = []
    failed = False
    batch_no = 0
    records = _ndjson_rows(body, report) if fmt == "ndjson" else _csv_rows(body, report)
    async for line, row in records:
        report.result.rows += 1
        if row is None:
            failed = True
        else:
            batch.append((line, row))
        if report.result.rows % BATCH_SIZE == 0:
            batch_no += 1
            await _flush(kernel, ws, batch, failed, batch_no, report)
            batch, failed = [], False
    if batch or failed:
        await _flush(kernel, ws, batch, failed, batch_no + 1, report)
    return report.result


async def _flush(
    kernel: Kernel,
    ws: WorkspaceRef,
    batch: list[tuple[int, ImportRow]],
    failed: bool,
    batch_no: int,
    report: _Report,
) -> None:
    if failed:
        report.result.failed_batches.append(batch_no)
        return
    rows = {row.external_id: row for _, row in batch}  # a repeated external_id: the later row wins
    written = await _write_batch(kernel, ws, list(rows.values()), report)
    await _notify(kernel, ws, written)


class _Written(msgspec.Struct):
    """What one batch changed, for the hooks called after its commit."""

    created: list[int]
    updated: dict[int, list[str]]  # member id → the fields its row gave
    tagged: dict[int, list[str]]  # member id → the tags actually added


async def _notify(kernel: Kernel, ws: WorkspaceRef, written: _Written) -> None:
    """The same hooks single writes call, only when an enabled plugin listens (imports are large)."""
    hooks = kernel.plugins
    hook_names = ("scrm_member_created", "scrm_member_updated", "scrm_tags_changed")
    listening = {name for name in hook_names if hooks.implementers(name) & ws.enabled_plugins}
    for member_id in written.created if "scrm_member_created" in listening else ():
        member = msgspec.to_builtins(await kernel.members.get(ws, member_id))
        await hooks.notify("scrm_member_created", ws.enabled_plugins, workspace=ws, member=member, kernel=kernel)
    for member_id, changed in written.updated.items() if "scrm_member_updated" in listening else ():
        member = msgspec.to_builtins(await kernel.members.get(ws, member_id))
        await hooks.notify(
            "scrm_member_updated", ws.enabled_plugins, workspace=ws, member=member, changed=changed, kernel=kernel
        )
    for member_id, added in written.tagged.items() if "scrm_tags_changed" in listening else ():
        await kernel.tags.notify(ws, TagChange(member_id, added=added, removed=[]))


PROFILE_FIELDS = ("display_name", "status", "identities", "attributes")


async def _write_batch(kernel: Kernel, ws: WorkspaceRef, rows: list[ImportRow], report: _Report) -> _Written:
    """Upsert one batch in one transaction; returns what it changed."""
    payload = msgspec.json.encode(rows).decode()
    at = now()
    sql = _PG if kernel.db.dialect.name == "postgres" else _SQLITE
    async with kernel.db.transaction():
        inserted = await kernel.db.fetch(sql["insert"], ws.id, at, at, payload)
        new = {r["external_id"] for r in inserted}
        existing = [row for row in rows if row.external_id not in new]
        updated = (
            await kernel.db.fetch(sql["update"], at, msgspec.json.encode(existing).decode(), ws.id) if existing else []
        )
        ids = {r["external_id"]: r["id"] for r in (*updated, *inserted)}
        tagged = [
            (ids[row.external_id], name) for row in rows if row.tags and row.external_id in ids for name in row.tags
        ]
        if tagged:
            tag_ids = await kernel.tags.ensure(ws, {name for _, name in tagged})
            pairs = msgspec.json.encode([[member, tag_ids[name]] for member, name in tagged]).decode()
            added = await kernel.db.fetch(sql["tag"], ws.id, at, pairs)
        else:
            added = []
        names = {tag_id: name for name, tag_id in tag_ids.items()} if tagged else {}
        written = _Written(created=[r["id"] for r in inserted], updated={}, tagged={})
        given = {row.external_id: [f for f in PROFILE_FIELDS if getattr(row, f) is not None] for row in rows}
        for r in updated:
            if given[r["external_id"]]:
                written.updated[r["id"]] = given[r["external_id"]]
        for r in added:
            written.tagged.setdefault(r["member"], []).append(names[r["tag"]])
        await kernel.events.record(ws, _events(written))
    report.result.created += len(written.created)
    report.result.updated += len(updated)
    return written


def _events(written: _Written) -> list[NewEvent]:
    """The core events of one batch, recorded in its transaction: a new member's tags come with its
    ``member.created``; ``tags.changed`` is for tags added to members that existed."""
    created = set(written.created)
    return [
        *(
            NewEvent(member_id, "member.created", {"tags": written.tagged.get(member_id, [])}, source="import")
            for member_id in written.created
        ),
        *(
            NewEvent(member_id, "member.updated", {"changed": changed}, source="import")
            for member_id, changed in written.updated.items()
        ),
        *(
            NewEvent(member_id, "tags.changed", {"added": added, "removed": []}, source="import")
            for member_id, added in written.tagged.items()
            if member_id not in created
        ),
    ]


# New members are inserted first (the unique index finds the existing ones), then only the rows
# that already existed are updated — a field such a row leaves out keeps its stored value. A first
# import of a workspace, the large case, is thus a single indexed INSERT per batch.
_PG = {
    "update": """
UPDATE scrm_member AS m SET
  display_name = COALESCE(r.display_name, m.display_name), status = COALESCE(r.status, m.status),
  identities = COALESCE(r.identities, m.identities), attributes = COALESCE(r.attributes, m.attributes),
  updated_at = {}
FROM jsonb_to_recordset(CAST({} AS jsonb))
     AS r(external_id text, display_name text, status text, identities jsonb, attributes jsonb)
WHERE m.workspace = {} AND m.external_id = r.external_id
RETURNING m.id, m.external_id
""",
    "insert": """
INSERT INTO scrm_member (workspace, external_id, display_name, status, identities, attributes, created_at, updated_at)
SELECT {}, r.external_id, COALESCE(r.display_name, ''), COALESCE(r.status, 'active'),
       COALESCE(r.identities, jsonb_build_object()), COALESCE(r.attributes, jsonb_build_object()), {}, {}
FROM jsonb_to_recordset(CAST({} AS jsonb))
     AS r(external_id text, display_name text, status text, identities jsonb, attributes jsonb)
ON CONFLICT (workspace, external_id) DO NOTHING
RETURNING id, external_id
""",
    "tag": """
INSERT INTO scrm_member_tag (workspace, member, tag, created_at)
SELECT {}, CAST(p ->> 0 AS bigint), CAST(p ->> 1 AS bigint), {} FROM jsonb_array_elements(CAST({} AS jsonb)) AS p
ON CONFLICT (member, tag) DO NOTHING
RETURNING member, tag
""",
}
_SQLITE = {
    "update": """
UPDATE scrm_member SET
  display_name = COALESCE(json_extract(j.value, '$.display_name'), display_name),
  status = COALESCE(json_extract(j.value, '$.status'), status),
  identities = COALESCE(json_extract(j.value, '$.identities'), identities),
  attributes = COALESCE(json_extract(j.value, '$.attributes'), attributes),
  updated_at = {}
FROM json_each({}) AS j
WHERE scrm_member.workspace = {} AND scrm_member.external_id = json_extract(j.value, '$.external_id')
RETURNING id, external_id
""",
    "insert": """
INSERT INTO scrm_member (workspace, external_id, display_name, status, identities, attributes, created_at, updated_at)
SELECT {}, json_extract(value, '$.external_id'), COALESCE(json_extract(value, '$.display_name'), ''),
       COALESCE(json_extract(value, '$.status'), 'active'), COALESCE(json_extract(value, '$.identities'), json_object()),
       COALESCE(json_extract(value, '$.attributes'), json_object()), {}, {}
FROM json_each({}) WHERE true
ON CONFLICT (workspace, external_id) DO NOTHING
RETURNING id, external_id
""",
    "tag": """
INSERT INTO scrm_member_tag (workspace, member, tag, created_at)
SELECT {}, json_extract(value, '$[0]'), json_extract(value, '$[1]'), {} FROM json_each({}) WHERE true
ON CONFLICT (member, tag) DO NOTHING
RETURNING member, tag
""",
}


# --- reading the body -------------------------------------------------------------------------

_row_decoder = msgspec.json.Decoder(ImportRow)


def _validate(line: int, raw: bytes, row: ImportRow | None, error: str | None, report: _Report) -> ImportRow | None:
    """The row, or None after reporting what is wrong with it: the decoder's ``error``, an attribute
    object too large, or a NUL in any text (which PostgreSQL cannot store; see :mod:`scrm.nul`)."""
    field = ""
    if error is None and row is not None and nul.holds_nul(raw):
        where = nul.nul_at(msgspec.to_builtins(row))
        if where is not None:
            field, error = where, nul.MESSAGE
    if error is None and row is not None and row.attributes is not None:
        try:
            check_attributes_size(row.attributes)
        except Problem as exc:
            error = exc.detail
            field = exc.errors[0]["field"] if exc.errors else ""
    if error is not None:
        report.error(line, field or field_name("", error), error)
        return None
    return row


async def _lines(body: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, bytes | None]]:
    """Numbered lines of a byte stream, however it was chunked; ``None`` for a line longer than
    ``MAX_LINE_BYTES``, whose bytes are dropped as they arrive so memory stays bounded."""
    buffer = b""
    number = 0
    overflow = False
    async for chunk in body:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            number += 1
            yield number, None if overflow or len(line) > MAX_LINE_BYTES else line
            overflow = False
        if len(buffer) > MAX_LINE_BYTES:
            buffer, overflow = b"", True
    if overflow:
        yield number + 1, None
    elif buffer.strip():
        yield number + 1, buffer


TOO_LONG = f"longer than {MAX_LINE_BYTES} bytes"


async def _ndjson_rows(body: AsyncIterator[bytes], report: _Report) -> AsyncIterator[tuple[int, ImportRow | None]]:
    async for number, line in _lines(body):
        if line is None:
            report.error(number, "", TOO_LONG)
            yield number, None
            continue
        if not line.strip():
            continue
        try:
            row, error = _row_decoder.decode(line), None
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            row, error = None, str(exc)
        yield number, _validate(number, line, row, error, report)


async def _csv_rows(body: AsyncIterator[bytes], report: _Report) -> AsyncIterator[tuple[int, ImportRow | None]]:
    """CSV with a header row: external_id, display_name, status, tags (``a|b``), identities and
    attributes as JSON objects, or one column per key as ``identity.<channel>`` / ``attr.<key>``."""
    header: list[str] | None = None
    pending: list[str] = []
    first_line = 0
    async for number, raw in _lines(body):
        if raw is None:
            pending = []
            report.error(number, "", TOO_LONG)
            yield number, None
            continue
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r")
        except UnicodeDecodeError:
            report.error(number, "", "not UTF-8")
            yield number, None
            continue
        if not pending:
            first_line = number
        pending.append(text)
        joined = "\n".join(pending)
        if joined.count('"') % 2:  # a quoted field continues on the next line
            continue
        pending = []
        if not joined.strip():
            continue
        cells = next(csv.reader(io.StringIO(joined)))
        if header is None:
            header = [c.strip() for c in cells]
            if "external_id" not in header:
                raise CsvHeaderInvalid("The CSV header has no external_id column")
            continue
        if len(cells) != len(header):
            report.error(first_line, "", f"expected {len(header)} cells, got {len(cells)}")
            yield first_line, None
            continue
        try:
            row, error = msgspec.convert(_csv_record(dict(zip(header, cells, strict=True))), ImportRow), None
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            row, error = None, str(exc)
        yield first_line, _validate(first_line, joined.encode(), row, error, report)


def _csv_record(cells: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    identities: dict[str, str] = {}
    attributes: dict[str, Any] = {}
    for column, value in cells.items():
        if value == "" or column in EXPORT_ONLY_COLUMNS:
            continue
        if column in ("identities", "attributes"):
            target = identities if column == "identities" else attributes
            target.update(msgspec.json.decode(value))
        elif column == "tags":
            record["tags"] = [t.strip() for t in value.split(CSV_LIST_SEPARATOR) if t.strip()]
        elif column.startswith("identity."):
            identities[column.removeprefix("identity.")] = value
        elif column.startswith("attr."):
            attributes[column.removeprefix("attr.")] = value
        else:
            record[column] = value
    if identities:
        record["identities"] = identities
    if attributes:
        record["attributes"] = attributes
    return record


# --- export -----------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    "id",
    "external_id",
    "display_name",
    "status",
    "tags",
    "identities",
    "attributes",
    "created_at",
    "updated_at",
    "last_active_at",
]


async def export_members(
    kernel: Kernel, ws: WorkspaceRef, fmt: str, batch: int = 1_000, filters: MemberFilter | None = None
) -> AsyncIterator[bytes]:
    """Every member of the workspace (or those ``filters`` match), in id order, a batch at a time —
    except erased ones, which hold no personal data and could not be imported back (they have no
    external_id)."""
    if fmt == "csv":
        yield _csv_line(EXPORT_COLUMNS)
    cursor: str | None = None
    wanted = filters or MemberFilter()
    while True:
        page = await kernel.members.list(ws, wanted, cursor, batch)
        members = [m for m in page.items if m.status != "erased"]
        if members:
            yield _encode(fmt, members)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


_encoder = msgspec.json.Encoder()


def _encode(fmt: str, members: list[MemberOut]) -> bytes:
    """Members as NDJSON lines or CSV rows (the columns of :data:`EXPORT_COLUMNS`)."""
    if fmt == "ndjson":
        return b"".join(_encoder.encode(m) + b"\n" for m in members)
    return b"".join(
        _csv_line(
            [
                str(m.id),
                m.external_id or "",
                m.display_name,
                m.status,
                CSV_LIST_SEPARATOR.join(m.tags),
                _encoder.encode(m.identities).decode(),
                _encoder.encode(m.attributes).decode(),
                m.created_at.isoformat(),
                m.updated_at.isoformat(),
                m.last_active_at.isoformat() if m.last_active_at else "",
            ]
        )
        for m in members
    )


def _csv_line(cells: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue().encode()
