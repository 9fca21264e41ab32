"""The notes plugin: what it declares, its routes and its hook — written against ``scrm``'s public API.

One name everywhere: distribution ``scrm-notes``, package ``scrm_notes``, entry point ``notes``,
piccolo app ``notes``, table ``notes_note``, routes under ``/api/v1/notes``, scopes ``notes:read``
and ``notes:write``.

Built on the core's plugin toolkit, as every plugin should be: ``scrm.PathId``, ``scrm.Cursor``,
``scrm.Limit`` and ``scrm.Text`` for what the routes take (so a bad value is a 422 naming it), signed
cursors from ``kernel.cursors``, SQL through ``kernel.sql`` (it runs on SQLite and PostgreSQL alike),
and ``scrm.invalid`` for the check a type cannot express.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import scrm
from litestar import get, post
from litestar.params import JSONBody
from piccolo.conf.apps import AppConfig

from scrm_notes.tables import Note

# --- registration ---------------------------------------------------------------------------------


@scrm.hookimpl
def scrm_manifest() -> scrm.Manifest:
    return scrm.Manifest(
        name="notes",
        version="0.1.0",
        description="Operators' notes on members",
        core=">=0.1,<1",
        scopes=["notes:read", "notes:write"],
        homepage="https://example.com/scrm-notes",
    )


@scrm.hookimpl
def scrm_tables() -> AppConfig:
    return AppConfig(
        app_name="notes",
        migrations_folder_path=str(Path(__file__).parent / "migrations"),
        table_classes=[Note],
        migration_dependencies=[],
    )


@scrm.hookimpl
def scrm_routes() -> list[Any]:
    return [list_notes, add_note]


# --- routes: /api/v1/notes/... ------------------------------------------------------------------

NOTE_COLUMNS = "id, member_id, body, author, created_at"
#: One page of a member's notes, oldest first, after the cursor's note.
PAGE = (
    f"SELECT {NOTE_COLUMNS} FROM notes_note WHERE workspace = {{ws}} AND member_id = {{member}} AND id > {{after}} "
    "ORDER BY id LIMIT {limit}"
)
ADD = (
    "INSERT INTO notes_note (workspace, member_id, body, author, created_at) "
    f"VALUES ({{ws}}, {{member}}, {{body}}, {{author}}, {{at}}) RETURNING {NOTE_COLUMNS}"
)


class NoteIn(msgspec.Struct, forbid_unknown_fields=True):
    body: scrm.Text


class NoteOut(msgspec.Struct):
    id: int
    member_id: int
    body: str
    author: str
    created_at: datetime


class MemberErased(scrm.Conflict):
    """409 ``urn:scrm:problem:notes-member-erased``."""

    kind = "notes-member-erased"
    title = "The member was erased"


@get("/members/{member_id:int}", opt={"scope": "notes:read"}, operation_id="notesListNotes")
async def list_notes(
    kernel: scrm.KernelDep,
    ws: scrm.WorkspaceDep,
    member_id: scrm.PathId,
    cursor: scrm.Cursor = None,
    limit: scrm.Limit = scrm.DEFAULT_LIMIT,
) -> scrm.Page[NoteOut]:
    """The notes on a member, oldest first, a page at a time."""
    await kernel.members.get(ws, member_id)  # 404 not-found unless the member is in this workspace
    after = kernel.cursors.decode("notes", cursor)  # 0 on the first page; a forged cursor is a 400
    rows = await kernel.sql.run(PAGE, ws=ws.id, member=member_id, after=after, limit=limit + 1)
    notes = [_note(row) for row in rows]
    return kernel.cursors.page("notes", notes, [note.id for note in notes], limit)


@post("/members/{member_id:int}", opt={"scope": "notes:write"}, operation_id="notesAddNote")
async def add_note(
    kernel: scrm.KernelDep,
    ws: scrm.WorkspaceDep,
    principal: scrm.PrincipalDep,
    member_id: scrm.PathId,
    data: JSONBody[NoteIn],
) -> NoteOut:
    """Add a note to a member; the author is the API key that wrote it."""
    if not data.body.strip():
        raise scrm.invalid("body", "must not be blank")  # 422 naming the field, like the type checks
    member = await kernel.members.get(ws, member_id)
    if member.status == "erased":
        raise MemberErased(f"Member {member_id} was erased; it takes no notes")
    row = await kernel.sql.one(
        ADD, ws=ws.id, member=member_id, body=data.body, author=f"key:{principal.key_id}", at=datetime.now(UTC)
    )
    return _note(row)


def _note(row: Any) -> NoteOut:
    created_at = scrm.as_datetime(row["created_at"])  # SQLite hands times back as text
    assert created_at is not None
    return NoteOut(
        id=row["id"], member_id=row["member_id"], body=row["body"], author=row["author"], created_at=created_at
    )


# --- hooks --------------------------------------------------------------------------------------


@scrm.hookimpl
async def scrm_member_erased(workspace: scrm.WorkspaceRef, member_id: int, kernel: scrm.Kernel) -> None:
    """A member's personal data was erased: so are the notes about them."""
    await kernel.sql.run(
        "DELETE FROM notes_note WHERE workspace = {ws} AND member_id = {member}", ws=workspace.id, member=member_id
    )
