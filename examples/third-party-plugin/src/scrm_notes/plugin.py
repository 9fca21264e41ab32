"""The notes plugin: what it declares, its routes and its hook — written against ``scrm``'s public API.

One name everywhere: distribution ``scrm-notes``, package ``scrm_notes``, entry point ``notes``,
piccolo app ``notes``, table ``notes_note``, routes under ``/api/v1/notes``, scopes ``notes:read``
and ``notes:write``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec
import scrm
from litestar import get, post
from litestar.params import JSONBody, PathParameter
from piccolo.conf.apps import AppConfig

from scrm_notes.tables import Note

MemberId = Annotated[int, PathParameter(gt=0, le=2**63 - 1, description="The member's id")]


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


class NoteIn(msgspec.Struct, forbid_unknown_fields=True):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


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
async def list_notes(kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, member_id: MemberId) -> list[NoteOut]:
    """The notes on a member, oldest first."""
    await kernel.members.get(ws, member_id)  # 404 not-found unless the member is in this workspace
    rows = await Note.select().where((Note.workspace == ws.id) & (Note.member_id == member_id)).order_by(Note.id)
    return [_note(row) for row in rows]


@post("/members/{member_id:int}", opt={"scope": "notes:write"}, operation_id="notesAddNote")
async def add_note(
    kernel: scrm.KernelDep,
    ws: scrm.WorkspaceDep,
    principal: scrm.PrincipalDep,
    member_id: MemberId,
    data: JSONBody[NoteIn],
) -> NoteOut:
    """Add a note to a member; the author is the API key that wrote it."""
    member = await kernel.members.get(ws, member_id)
    if member.status == "erased":
        raise MemberErased(f"Member {member_id} was erased; it takes no notes")
    rows = await Note.insert(
        Note(
            workspace=ws.id,
            member_id=member_id,
            body=data.body,
            author=f"key:{principal.key_id}",
            created_at=datetime.now(UTC),
        )
    ).returning(*Note.all_columns())
    return _note(rows[0])


def _note(row: dict[str, Any]) -> NoteOut:
    return NoteOut(
        id=row["id"],
        member_id=row["member_id"],
        body=row["body"],
        author=row["author"],
        created_at=row["created_at"],
    )


# --- hooks --------------------------------------------------------------------------------------


@scrm.hookimpl
async def scrm_member_erased(workspace: scrm.WorkspaceRef, member_id: int) -> None:
    """A member's personal data was erased: so are the notes about them."""
    await Note.delete().where((Note.workspace == workspace.id) & (Note.member_id == member_id))
