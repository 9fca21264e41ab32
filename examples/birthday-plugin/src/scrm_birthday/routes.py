"""``/api/v1/birthday``: a member's greetings (``birthday:read``), and greeting today's birthdays now
(``birthday:write``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import scrm
from litestar import Controller, get, post

from scrm_birthday import greet

READ = {"scope": "birthday:read"}
WRITE = {"scope": "birthday:write"}
LISTING = "birthday.greetings"


class GreetingOut(msgspec.Struct):
    id: int
    member_id: int
    year: int
    points: int
    greeted_at: datetime


class RunOut(msgspec.Struct):
    greeted: int


def greeting_out(row: Any) -> GreetingOut:
    greeted_at = scrm.as_datetime(row["greeted_at"])  # SQLite gives times back as text
    assert greeted_at is not None
    return GreetingOut(
        id=row["id"], member_id=row["member_id"], year=row["year"], points=row["points"], greeted_at=greeted_at
    )


class GreetingController(Controller):
    path = "/"
    tags = ["birthday"]

    @get(
        "/members/{member_id:int}/greetings",
        opt=READ,
        operation_id="birthdayListGreetings",
        summary="List a member's birthday greetings",
    )
    async def list_greetings(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        member_id: scrm.PathId,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[GreetingOut]:
        """The member's birthday greetings, oldest first, a page at a time (404 for a member of another
        workspace, 400 for a cursor this server did not issue)."""
        await kernel.members.get(ws, member_id)
        after = kernel.cursors.decode(LISTING, cursor)
        rows = await kernel.sql.run(
            "SELECT id, member_id, year, points, greeted_at FROM birthday_greeting "
            "WHERE workspace = {ws} AND member_id = {member} AND id > {after} ORDER BY id LIMIT {limit}",
            ws=ws.id,
            member=member_id,
            after=after,
            limit=limit + 1,
        )
        greetings = [greeting_out(row) for row in rows]
        return kernel.cursors.page(LISTING, greetings, [g.id for g in greetings], limit)

    @post(
        "/greetings/run",
        opt=WRITE,
        operation_id="birthdayRunGreetings",
        summary="Greet today's birthdays now",
        status_code=200,
    )
    async def run_greetings(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> RunOut:
        """Greet every member whose birthday is today (in the workspace's time zone) who consented and
        was not greeted this year, without waiting for the hourly job; returns how many were greeted."""
        return RunOut(greeted=await greet.greet_workspace(kernel, ws))
