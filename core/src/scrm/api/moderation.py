"""``/api/v1/moderation``: the workspace word list (敏感词) the core's own moderator matches, and a
check of a text against every moderator enabled in the workspace."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.params import JSONBody, QueryParameter

from scrm.deps import KernelDep, WorkspaceDep
from scrm.pagination import DEFAULT_LIMIT, Page
from scrm.params import Cursor, Limit, PathId
from scrm.schemas import FindingOut, ModerationCategory, ModerationCheckIn, ModerationTermOut, ModerationTermsIn

READ = {"scope": "moderation:read"}
WRITE = {"scope": "moderation:write"}


class ModerationController(Controller):
    path = "/moderation"
    tags = ["moderation"]

    @get("/terms", opt=READ, operation_id="listModerationTerms", summary="List the word list")
    async def list_terms(
        self,
        kernel: KernelDep,
        ws: WorkspaceDep,
        category: Annotated[
            ModerationCategory | None, QueryParameter(description="Only terms of this category")
        ] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[ModerationTermOut]:
        """The workspace's moderation terms in the order they were added. A bad cursor is a 400."""
        return await kernel.wordlist.listing(ws, category, cursor, limit)

    @post("/terms", opt=WRITE, operation_id="addModerationTerms", summary="Add terms to the word list", status_code=200)
    async def add_terms(
        self, kernel: KernelDep, ws: WorkspaceDep, data: JSONBody[ModerationTermsIn]
    ) -> list[ModerationTermOut]:
        """Add up to 1,000 terms at once; a term already listed (in any letter case) takes the new
        category and severity. Answers the terms as stored. A list past its limit is a 422."""
        return await kernel.wordlist.add(ws, data)

    @delete("/terms/{term_id:int}", opt=WRITE, operation_id="removeModerationTerm", summary="Remove a term")
    async def remove_term(self, kernel: KernelDep, ws: WorkspaceDep, term_id: PathId) -> None:
        """Take one term off the word list; a term not on this workspace's list is a 404."""
        await kernel.wordlist.remove(ws, term_id)

    @post("/check", opt=READ, operation_id="checkModeration", summary="Check a text", status_code=200)
    async def check(self, kernel: KernelDep, ws: WorkspaceDep, data: JSONBody[ModerationCheckIn]) -> list[FindingOut]:
        """What every moderator enabled here (the word list included) finds in a text: categories,
        severities and character spans. Nothing is stored."""
        found = await kernel.moderation.check(ws, text=data.text)
        return [FindingOut(f.category, f.severity, f.start, f.end, f.term, f.source) for f in found]
