"""Submissions: a member's entry with its title, text and images (or videos, where the contest
allows them), checked and moderated.

Sending one: the contest must be in its ``submission`` phase; the member active; every file passes
:mod:`scrm_contests.media` (all refusals in one 422 naming the files); then every moderator is asked
(``kernel.moderation.check``) about the title, the text and each file. A submission with findings —
or any submission, when the contest moderates all — waits in the moderation queue (``pending``);
one without is ``approved`` at once. The files go to storage before the transaction that stores the
rows (and are deleted again if it fails); inside it the contest's phase is read so that it cannot change
before the transaction ends (:func:`scrm_contests.contests.in_phase`) and the member's submission count goes up by a conditional
upsert that refuses past the contest's limit, so concurrent sends cannot exceed it.

Operators approve or reject (with a reason) while the contest is in submission, moderation or
voting; each decision is a ``contests.moderated`` event of the member, who sees status and reason.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import scrm

from scrm_contests import contests, json_columns, links, media, storage
from scrm_contests.contests import Contest
from scrm_contests.counters import bump
from scrm_contests.problems import SubmissionLimit, WrongPhase
from scrm_contests.schemas import FindingOut, MediaOut, ModerateIn, Status, SubmissionIn, SubmissionOut

COLUMNS = "id, contest, member_id, title, body, status, findings, reason, votes, created_at, moderated_at"
MODERATED_IN = ("submission", "moderation", "voting")


async def member_of(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int | None, external_id: str | None
) -> scrm.MemberOut:
    """The active member a body names by ``member_id`` or ``external_id`` (exactly one); anything
    else is a 422 naming the field."""
    member = await kernel.members.by_ref(ws, kernel.members.ref(member_id, external_id))
    named = "member_id" if member_id is not None else "external_id"
    if member.status != "active":
        raise scrm.invalid(named, f"the member is {member.status}")
    return member


def _finding(f: scrm.Finding, field: str) -> FindingOut:
    return FindingOut(f.category, f.severity, f.start, f.end, f.term, f.source, field)


async def moderate_content(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: SubmissionIn, files: list[media.Checked]
) -> list[FindingOut]:
    """Every moderator's findings on the title, the text and each file."""
    found = [_finding(f, "title") for f in await kernel.moderation.check(ws, text=data.title)]
    if data.body:
        found += [_finding(f, "body") for f in await kernel.moderation.check(ws, text=data.body)]
    for i, checked in enumerate(files):
        item = scrm.Media(checked.data, checked.content_type, checked.filename)
        found += [_finding(f, f"media[{i}]") for f in await kernel.moderation.check(ws, media=item)]
    return found


async def check_files(contest: Contest, data: SubmissionIn) -> list[media.Checked]:
    if len(data.media) > contest.media_per_submission:
        raise scrm.invalid("media", f"this contest takes at most {contest.media_per_submission} files per submission")
    max_video = contest.max_video_bytes if contest.allow_video else None
    results = [
        await asyncio.to_thread(media.check, m.filename, m.data, contest.max_file_bytes, max_video) for m in data.media
    ]
    errors = [(i, data.media[i].filename, r) for i, r in enumerate(results) if isinstance(r, str)]
    if errors:
        raise media.refuse(errors)
    return [r for r in results if isinstance(r, media.Checked)]


async def submit(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int, data: SubmissionIn) -> SubmissionOut:
    contest = await contests.load(kernel, ws, contest_id)
    member = await member_of(kernel, ws, data.member_id, data.external_id)
    if contest.phase != "submission":
        raise WrongPhase(
            f"The contest takes submissions in its submission phase; it is in {contest.phase}", phase=contest.phase
        )
    files = await check_files(contest, data)
    found = await moderate_content(kernel, ws, data, files)
    status: Status = "pending" if found or contest.moderate_all else "approved"
    store = storage.of(kernel)
    keys = []
    for checked in files:
        key = f"{ws.id}/{contest.id}/{secrets.token_urlsafe(18)}"
        await store.put(key, checked.data, checked.content_type)
        if checked.thumbnail is not None:
            await store.put(thumb_key(key, checked), checked.thumbnail, "image/jpeg")
        keys.append(key)
    try:
        submission_id = await _store(kernel, ws, contest, member.id, data, files, keys, status, found)
    except BaseException:
        await store.delete(stored_keys([(key, thumb_key(key, c)) for key, c in zip(keys, files, strict=True)]))
        raise
    return await get(kernel, ws, contest_id, submission_id)


def thumb_key(key: str, checked: media.Checked) -> str:
    """Where a file's thumbnail is stored: next to it, or nowhere ("") for a video."""
    return "" if checked.thumbnail is None else key + ".thumb"


def stored_keys(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """Every stored key of ``(storage_key, thumb_key)`` pairs: a video has no thumbnail key."""
    return [k for pair in pairs for k in pair if k]


async def _store(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    contest: Contest,
    member_id: int,
    data: SubmissionIn,
    files: list[media.Checked],
    keys: list[str],
    status: str,
    found: list[FindingOut],
) -> int:
    at = datetime.now(UTC)
    async with kernel.db.transaction():
        current = await contests.in_phase(kernel, ws, contest.id)
        if current.phase != "submission":
            raise WrongPhase(f"Submissions closed; the contest is in {current.phase}", phase=current.phase)
        if await bump(kernel, ws, contest.id, member_id, [("submissions", contest.submissions_per_member)]):
            raise SubmissionLimit(
                f"The member has sent {contest.submissions_per_member} submission(s), all this contest takes",
                limit=contest.submissions_per_member,
            )
        rows = await kernel.sql.fetch(
            "INSERT INTO contests_submission (workspace, contest, member_id, title, body, status, findings, reason, "
            "votes, created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, '', 0, {}) RETURNING id",
            ws.id,
            contest.id,
            member_id,
            data.title,
            data.body,
            status,
            json_columns.json_text(found),
            at,
        )
        submission_id: int = rows[0]["id"]
        for position, (checked, key) in enumerate(zip(files, keys, strict=True)):
            await kernel.sql.fetch(
                "INSERT INTO contests_media (workspace, submission, position, filename, content_type, size, width, "
                "height, sha256, storage_key, thumb_key) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                ws.id,
                submission_id,
                position,
                checked.filename,
                checked.content_type,
                len(checked.data),
                checked.width,
                checked.height,
                checked.sha256,
                key,
                thumb_key(key, checked),
            )
        await kernel.events.record(
            ws,
            [
                scrm.NewEvent(
                    member_id,
                    "contests.submitted",
                    {
                        "contest_id": contest.id,
                        "contest": contest.name,
                        "submission_id": submission_id,
                        "status": status,
                    },
                    source="contests",
                    idempotency_key=f"contests.submitted:{submission_id}",
                )
            ],
        )
    return submission_id


def _out(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, row: Any, files: list[Any]) -> SubmissionOut:
    return SubmissionOut(
        id=row["id"],
        contest_id=row["contest"],
        member_id=row["member_id"],
        title=row["title"],
        body=row["body"],
        status=row["status"],
        reason=row["reason"],
        findings=json_columns.findings(row["findings"]),
        votes=row["votes"],
        media=[
            MediaOut(
                id=f["id"],
                position=f["position"],
                kind=media.kind_of(f["content_type"]),
                filename=f["filename"],
                content_type=f["content_type"],
                size=f["size"],
                width=f["width"],
                height=f["height"],
                sha256=f["sha256"],
                url=links.link(kernel, ws.id, f["id"], "file"),
                thumbnail_url=None
                if media.kind_of(f["content_type"]) == "video"
                else links.link(kernel, ws.id, f["id"], "thumb"),
            )
            for f in files
        ],
        created_at=scrm.as_datetime(row["created_at"]),
        moderated_at=scrm.as_datetime(row["moderated_at"]),
    )


async def with_media(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, rows: list[Any]) -> list[SubmissionOut]:
    """Submissions with their files (one query for the files of all of them)."""
    if not rows:
        return []
    condition, ids = kernel.sql.any_of("submission", [r["id"] for r in rows])
    files = await kernel.sql.fetch(
        "SELECT id, submission, position, filename, content_type, size, width, height, sha256 FROM contests_media "
        f"WHERE workspace = {{}} AND {condition} ORDER BY submission, position",
        ws.id,
        ids,
    )
    by_submission: dict[int, list[Any]] = {}
    for f in files:
        by_submission.setdefault(f["submission"], []).append(f)
    return [_out(kernel, ws, r, by_submission.get(r["id"], [])) for r in rows]


async def get(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int, submission_id: int) -> SubmissionOut:
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM contests_submission WHERE id = {{}} AND contest = {{}} AND workspace = {{}}",
        submission_id,
        contest_id,
        ws.id,
    )
    if not rows:
        raise scrm.NotFound(f"No submission {submission_id} in this contest", submission_id=submission_id)
    return (await with_media(kernel, ws, rows))[0]


async def listing(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    contest_id: int,
    status: Status | None,
    member_id: int | None,
    cursor: str | None,
    limit: int,
) -> scrm.Page[SubmissionOut]:
    """The gallery: submissions newest first, optionally of one status or one member."""
    await contests.load(kernel, ws, contest_id)
    listing_name = f"contests-submissions-{contest_id}"
    before = kernel.cursors.decode(listing_name, cursor)
    conditions, args = ["contest = {}", "workspace = {}"], [contest_id, ws.id]
    if before:
        conditions.append("id < {}")
        args.append(before)
    if status is not None:
        conditions.append("status = {}")
        args.append(status)  # type: ignore[arg-type]
    if member_id is not None:
        conditions.append("member_id = {}")
        args.append(member_id)
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM contests_submission WHERE {' AND '.join(conditions)} ORDER BY id DESC LIMIT {{}}",
        *args,
        limit + 1,
    )
    items = await with_media(kernel, ws, rows[: limit + 1])
    return kernel.cursors.page(listing_name, items, [r["id"] for r in rows], limit)


async def moderate(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int, submission_id: int, data: ModerateIn, actor: str
) -> SubmissionOut:
    """Approve or reject (a rejection needs a reason) while the contest is in submission, moderation
    or voting; the member's ``contests.moderated`` event says which."""
    contest = await contests.load(kernel, ws, contest_id)
    if contest.phase not in MODERATED_IN:
        raise WrongPhase(f"Moderation ends when voting does; the contest is in {contest.phase}", phase=contest.phase)
    if data.decision == "reject" and not data.reason.strip():
        raise scrm.invalid("reason", "say why the submission is rejected (the member sees it)")
    status = "approved" if data.decision == "approve" else "rejected"
    at = datetime.now(UTC)
    async with kernel.db.transaction():
        rows = await kernel.sql.fetch(
            "UPDATE contests_submission SET status = {}, reason = {}, moderated_at = {}, moderated_by = {} "
            "WHERE id = {} AND contest = {} AND workspace = {} RETURNING member_id",
            status,
            data.reason,
            at,
            actor,
            submission_id,
            contest_id,
            ws.id,
        )
        if not rows:
            raise scrm.NotFound(f"No submission {submission_id} in this contest", submission_id=submission_id)
        await kernel.events.record(
            ws,
            [
                scrm.NewEvent(
                    rows[0]["member_id"],
                    "contests.moderated",
                    {"contest_id": contest_id, "submission_id": submission_id, "status": status, "reason": data.reason},
                    source="contests",
                )
            ],
        )
    return await get(kernel, ws, contest_id, submission_id)


async def stored(kernel: scrm.Kernel, token: str) -> tuple[str, str]:
    """The storage key and content type of the file a signed link names (404 for a bad link, a
    video's thumbnail, which does not exist, or a workspace where contests is off)."""
    ws_id, media_id, variant = links.read(kernel, token)
    ws = await kernel.workspaces.ref(ws_id)
    if "contests" not in ws.enabled_plugins:
        raise scrm.NotFound("The link is invalid or has expired")
    rows = await kernel.sql.fetch(
        "SELECT content_type, storage_key, thumb_key FROM contests_media WHERE id = {} AND workspace = {}",
        media_id,
        ws_id,
    )
    if not rows:
        raise scrm.NotFound("The link is invalid or has expired")
    thumb = variant == "thumb"
    key = rows[0]["thumb_key"] if thumb else rows[0]["storage_key"]
    if not key:
        raise scrm.NotFound("The file is gone")
    return key, "image/jpeg" if thumb else rows[0]["content_type"]
