"""The contests' console pages (``/console/w/{workspace}/contests/…``) and member panel.

Operators set contests up, move their phases, work the moderation queue (approve, or reject with a
reason the member sees), browse the gallery of thumbnails, read the fraud signals and void votes,
publish the results and award the winners. Judges (the workspace role ``judge``, which holds
``contests:judge`` and nothing else) see the judging screen alone: each approved entry with its
images and a form per rubric criterion, showing only their own marks. Every form goes through the
same functions as the API, so the console refuses what the API refuses; every page works without
JavaScript (forms post and redirect).

The rubric is typed one criterion per line, ``name | weight | max``; points per place as ``500, 300,
100``; times as ``datetime-local`` fields read in the workspace's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import scrm
from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from scrm_contests import contests, judging, members, results, submissions, votes
from scrm_contests.contests import Contest
from scrm_contests.ranking import TIE_RULE
from scrm_contests.schemas import (
    DEFAULT_NOTIFY_PURPOSE,
    PHASES,
    ContestIn,
    ContestPatch,
    ModerateIn,
    PhaseIn,
    ScoreIn,
    VoidIn,
)

READ = {"scope": "contests:read"}
JUDGE = {"scope": "contests:judge"}
ADMIN = {"scope": "contests:admin"}
PER_PAGE = 48
RANKS_SHOWN = 200
_json = msgspec.json.Encoder()


def N_(message: str) -> str:
    """Marks English text translated where it is shown (navigation, phases, statuses)."""
    return message


#: phases, statuses and signal kinds as the pages show them (translated there)
WORDS = (
    N_("draft"),
    N_("submission"),
    N_("moderation"),
    N_("voting"),
    N_("judging"),
    N_("results"),
    N_("cancelled"),
    N_("pending"),
    N_("approved"),
    N_("rejected"),
    N_("new-member"),
    N_("burst-of-new-members"),
    N_("shared-source"),
    N_("shared-device"),
    N_("operator"),
    N_("schedule"),
    N_("low"),
    N_("medium"),
    N_("high"),
    # the tie rule (ranking.TIE_RULE), as the results page states it
    N_("final score, then judge score, then votes (all higher first), then the earlier submission (smaller id)"),
)
FIELDS = (
    "name",
    "description",
    "submission_closes_at",
    "voting_opens_at",
    "voting_closes_at",
    "judging_closes_at",
    "moderate_all",
    "submissions_per_member",
    "media_per_submission",
    "allow_video",
    "votes_per_member",
    "votes_per_submission",
    "votes_per_day",
    "rubric",
    "judge_weight",
    "award_points",
    "award_tag",
    "notify_purpose",
)
CHECKBOXES = ("moderate_all", "allow_video")
BLANK: Mapping[str, Any] = {
    "description": "",
    "judging_closes_at": None,
    "submissions_per_member": 1,
    "media_per_submission": 4,
    "votes_per_member": None,
    "votes_per_submission": 1,
    "votes_per_day": None,
    "rubric": [],
    "judge_weight": 0.5,
    "award_points": [],
    "award_tag": None,
    "notify_purpose": DEFAULT_NOTIFY_PURPOSE,
}


def _base(request: Request[Any, Any, Any]) -> str:
    return f"{request.state.console.base}/contests"


def _go(request: Request[Any, Any, Any], path: str) -> Response[bytes] | Redirect:
    url = f"{_base(request)}{path}"
    if request.headers.get("HX-Request") == "true":
        return Response(b"", status_code=200, headers={"HX-Redirect": url})
    return Redirect(url, status_code=303)


def _typed(form: Mapping[str, Any]) -> dict[str, str]:
    return {k: v.replace("\r\n", "\n") for k, v in scrm.form_values(form).items()}


def _local(value: str, zone: str) -> str:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return value  # the API's decoder names the field
    return (at if at.tzinfo else at.replace(tzinfo=ZoneInfo(zone))).isoformat()


def _field_text(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def parse_rubric(text: str) -> list[dict[str, str]]:
    """One criterion per line: ``name | weight | max`` (weight and max optional)."""
    rubric = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) > 3 or not cells[0]:
            raise scrm.invalid("rubric", f"line {number}: write name | weight | max")
        rubric.append(dict(zip(("name", "weight", "max"), cells, strict=False)))
    return rubric


def contest_data(typed: Mapping[str, str], zone: str) -> dict[str, Any]:
    """The form's fields as the API's body (a blank field means the API's default)."""
    data: dict[str, Any] = {}
    for name in FIELDS:
        text = typed.get(name, "").strip()
        if name in CHECKBOXES:
            data[name] = bool(text)
        elif not text and name in BLANK:
            data[name] = BLANK[name]
        elif name.endswith("_at"):
            data[name] = _local(text, zone)
        elif name == "rubric":
            data[name] = parse_rubric(typed.get(name, ""))
        elif name == "award_points":
            data[name] = [p.strip() for p in text.split(",") if p.strip()]
        else:
            data[name] = text
    return data


# --- contests -------------------------------------------------------------------------------------


@get("/contests", opt=READ)
async def contest_list(kernel: scrm.KernelDep, access: scrm.AccessDep, cursor: scrm.Cursor = None) -> Template:
    page = await contests.listing(kernel, access.workspace, None, cursor, 50)
    context = {"contests": page.items, "next_cursor": page.next_cursor, "can_admin": access.can("contests:admin")}
    return Template("contests/contests.html", context=context)


def _form(
    access: scrm.Access,
    typed: Mapping[str, str],
    errors: Mapping[str, str],
    status: int = 200,
    contest: Contest | None = None,
) -> Template:
    """The contest form, for a new contest or to edit ``contest``."""
    context = {"values": typed, "errors": errors, "zone": access.workspace.time_zone, "contest": contest}
    return Template("contests/form.html", context=context, status_code=status)


def form_of(contest: Contest, zone: str) -> dict[str, str]:
    """The edit form's fields for ``contest`` (the inverse of :func:`contest_data`)."""

    def optional(value: int | None) -> str:
        return "" if value is None else str(value)

    return {
        "name": contest.name,
        "description": contest.description,
        "submission_closes_at": _field_text(contest.submission_closes_at, zone),
        "voting_opens_at": _field_text(contest.voting_opens_at, zone),
        "voting_closes_at": _field_text(contest.voting_closes_at, zone),
        "judging_closes_at": _field_text(contest.judging_closes_at, zone) if contest.judging_closes_at else "",
        "moderate_all": "1" if contest.moderate_all else "",
        "allow_video": "1" if contest.allow_video else "",
        "submissions_per_member": str(contest.submissions_per_member),
        "media_per_submission": str(contest.media_per_submission),
        "votes_per_member": optional(contest.votes_per_member),
        "votes_per_submission": str(contest.votes_per_submission),
        "votes_per_day": optional(contest.votes_per_day),
        "rubric": "\n".join(f"{c.name} | {c.weight} | {c.max}" for c in contest.rubric),
        "judge_weight": f"{contest.judge_weight:g}",
        "award_points": ", ".join(str(p) for p in contest.award_points),
        "award_tag": contest.award_tag or "",
        "notify_purpose": contest.notify_purpose,
    }


@get("/contests/new", opt=ADMIN)
async def new_contest(access: scrm.AccessDep) -> Template:
    zone = access.workspace.time_zone
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    typed = {
        "submission_closes_at": _field_text(start + timedelta(days=7), zone),
        "voting_opens_at": _field_text(start + timedelta(days=8), zone),
        "voting_closes_at": _field_text(start + timedelta(days=15), zone),
        "rubric": "Creativity | 2 | 10\nTechnique | 1 | 10",
        "judge_weight": "0.5",
        "votes_per_submission": "1",
        "submissions_per_member": "1",
        "media_per_submission": "4",
        "notify_purpose": DEFAULT_NOTIFY_PURPOSE,
    }
    return _form(access, typed, {})


@post("/contests", opt=ADMIN)
async def create_contest(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep
) -> Template | Redirect | Response[bytes]:
    typed = _typed(await request.form())
    ws = access.workspace
    try:
        created = await contests.create(kernel, ws, scrm.convert_form(contest_data(typed, ws.time_zone), ContestIn))
    except scrm.Problem as exc:
        return _form(access, typed, scrm.form_errors(exc), status=scrm.form_status(exc))
    return _go(request, f"/contests/{created.id}")


@get("/contests/{contest_id:int}/edit", opt=ADMIN)
async def edit_contest(kernel: scrm.KernelDep, access: scrm.AccessDep, contest_id: scrm.PathId) -> Template:
    contest = await contests.load(kernel, access.workspace, contest_id)
    return _form(access, form_of(contest, access.workspace.time_zone), {}, contest=contest)


@post("/contests/{contest_id:int}", opt=ADMIN)
async def update_contest(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, contest_id: scrm.PathId
) -> Template | Redirect | Response[bytes]:
    """Send the API only the fields that changed, so that an open contest's locked fields, shown
    unchanged on the form, are not taken for changes; a refused change comes back next to its field."""
    ws = access.workspace
    contest = await contests.load(kernel, ws, contest_id)
    typed = _typed(await request.form())
    try:
        before = contest_data(form_of(contest, ws.time_zone), ws.time_zone)
        after = contest_data(typed, ws.time_zone)
        changed = {k: after[k] for k in FIELDS if after[k] != before[k]}
        if changed:
            await contests.update(kernel, ws, contest_id, scrm.convert_form(changed, ContestPatch))
    except scrm.Problem as exc:
        if exc.status == 404:
            raise
        return _form(access, typed, scrm.form_errors(exc), status=scrm.form_status(exc), contest=contest)
    return _go(request, f"/contests/{contest_id}")


async def _counts(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int) -> dict[str, int]:
    rows = await kernel.sql.fetch(
        "SELECT status, COUNT(*) AS n, SUM(votes) AS v FROM contests_submission WHERE contest = {} AND workspace = {} "
        "GROUP BY status",
        contest_id,
        ws.id,
    )
    counts = {r["status"]: int(r["n"]) for r in rows}
    counts["votes"] = sum(int(r["v"] or 0) for r in rows)
    signals = await kernel.sql.fetch(
        "SELECT COUNT(*) AS n FROM contests_signal WHERE contest = {} AND workspace = {}", contest_id, ws.id
    )
    counts["signals"] = int(signals[0]["n"])
    return counts


def _next_phases(contest: Contest) -> list[str]:
    if contest.phase not in PHASES:
        return []
    later = list(PHASES[PHASES.index(contest.phase) + 1 :])
    return later + (["cancelled"] if contest.phase != "results" else [])


@get("/contests/{contest_id:int}", opt=READ)
async def contest_page(kernel: scrm.KernelDep, access: scrm.AccessDep, contest_id: scrm.PathId) -> Template:
    ws = access.workspace
    contest = await contests.load(kernel, ws, contest_id)
    context = {
        "contest": contest.out(),
        "counts": await _counts(kernel, ws, contest_id),
        "history": await contests.history(kernel, ws, contest_id),
        "next_phases": _next_phases(contest),
        "can_admin": access.can("contests:admin"),
        "can_judge": access.can("contests:judge"),
    }
    return Template("contests/contest.html", context=context)


@post("/contests/{contest_id:int}/phase", opt=ADMIN)
async def move_phase(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, contest_id: scrm.PathId
) -> Redirect | Response[bytes]:
    typed = _typed(await request.form())
    data = scrm.convert_form({"phase": typed.get("phase", "")}, PhaseIn)
    await contests.advance(kernel, access.workspace, contest_id, data.phase, f"operator:{access.operator.id}")
    return _go(request, f"/contests/{contest_id}")


# --- the gallery and the moderation queue ------------------------------------------------------------


async def _submissions_page(
    kernel: scrm.Kernel, access: scrm.Access, contest_id: int, status: str, cursor: str | None, template: str
) -> Template:
    ws = access.workspace
    contest = await contests.load(kernel, ws, contest_id)
    page = await submissions.listing(kernel, ws, contest_id, status, None, cursor, PER_PAGE)  # type: ignore[arg-type]
    context = {
        "contest": contest.out(),
        "submissions": page.items,
        "next_cursor": page.next_cursor,
        "can_admin": access.can("contests:admin"),
        "moderating": contest.phase in submissions.MODERATED_IN,
    }
    return Template(template, context=context)


@get("/contests/{contest_id:int}/gallery", opt=READ)
async def gallery(
    kernel: scrm.KernelDep, access: scrm.AccessDep, contest_id: scrm.PathId, cursor: scrm.Cursor = None
) -> Template:
    return await _submissions_page(kernel, access, contest_id, "approved", cursor, "contests/gallery.html")


@get("/contests/{contest_id:int}/moderation", opt=ADMIN)
async def moderation_queue(
    kernel: scrm.KernelDep, access: scrm.AccessDep, contest_id: scrm.PathId, cursor: scrm.Cursor = None
) -> Template:
    return await _submissions_page(kernel, access, contest_id, "pending", cursor, "contests/moderation.html")


@post("/contests/{contest_id:int}/submissions/{submission_id:int}/moderation", opt=ADMIN)
async def moderate(
    request: Request[Any, Any, Any],
    kernel: scrm.KernelDep,
    access: scrm.AccessDep,
    contest_id: scrm.PathId,
    submission_id: scrm.PathId,
) -> Redirect | Response[bytes]:
    typed = _typed(await request.form())
    data = scrm.convert_form({"decision": typed.get("decision", ""), "reason": typed.get("reason", "")}, ModerateIn)
    await submissions.moderate(
        kernel, access.workspace, contest_id, submission_id, data, f"operator:{access.operator.id}"
    )
    return _go(request, f"/contests/{contest_id}/moderation")


# --- judging ----------------------------------------------------------------------------------------


@get("/judging", opt=JUDGE)
async def judging_index(kernel: scrm.KernelDep, access: scrm.AccessDep) -> Template:
    """The contests a judge can score now (in their judging phase)."""
    page = await contests.listing(kernel, access.workspace, "judging", None, 100)
    return Template("contests/judging_index.html", context={"contests": page.items})


def _judge(access: scrm.Access) -> str:
    return f"operator:{access.operator.id}"


async def _judging_page(
    kernel: scrm.Kernel,
    access: scrm.Access,
    contest_id: int,
    cursor: str | None,
    errors: Mapping[int, Mapping[str, str]],
    status: int = 200,
) -> Template:
    ws = access.workspace
    contest = await contests.load(kernel, ws, contest_id)
    page = await submissions.listing(kernel, ws, contest_id, "approved", None, cursor, PER_PAGE)
    mine = {s.submission_id: s for s in await judging.scores(kernel, ws, contest_id, _judge(access))}
    context = {
        "contest": contest.out(),
        "submissions": page.items,
        "next_cursor": page.next_cursor,
        "mine": mine,
        "errors": errors,
        "open": contest.phase == "judging",
    }
    return Template("contests/judging.html", context=context, status_code=status)


@get("/contests/{contest_id:int}/judging", opt=JUDGE)
async def judging_page(
    kernel: scrm.KernelDep, access: scrm.AccessDep, contest_id: scrm.PathId, cursor: scrm.Cursor = None
) -> Template:
    return await _judging_page(kernel, access, contest_id, cursor, {})


@post("/contests/{contest_id:int}/submissions/{submission_id:int}/score", opt=JUDGE)
async def score(
    request: Request[Any, Any, Any],
    kernel: scrm.KernelDep,
    access: scrm.AccessDep,
    contest_id: scrm.PathId,
    submission_id: scrm.PathId,
) -> Template | Redirect | Response[bytes]:
    typed = _typed(await request.form())
    marks = {k.removeprefix("mark:"): v for k, v in typed.items() if k.startswith("mark:")}
    try:
        data = scrm.convert_form({"marks": marks, "comment": typed.get("comment", "")}, ScoreIn)
        await judging.score(kernel, access.workspace, contest_id, submission_id, _judge(access), data)
    except scrm.ValidationFailed as exc:
        return await _judging_page(kernel, access, contest_id, None, {submission_id: scrm.form_errors(exc)}, 422)
    return _go(request, f"/contests/{contest_id}/judging#s{submission_id}")


# --- fraud signals ------------------------------------------------------------------------------------


@get("/contests/{contest_id:int}/signals", opt=ADMIN)
async def signals_page(
    kernel: scrm.KernelDep, access: scrm.AccessDep, contest_id: scrm.PathId, cursor: scrm.Cursor = None
) -> Template:
    ws = access.workspace
    contest = await contests.load(kernel, ws, contest_id)
    page = await votes.signals(kernel, ws, contest_id, None, cursor, 100)
    context = {
        "contest": contest.out(),
        "signals": page.items,
        "next_cursor": page.next_cursor,
        "voidable": contest.phase in votes.VOIDABLE_IN,
    }
    return Template("contests/signals.html", context=context)


@post("/contests/{contest_id:int}/votes/void", opt=ADMIN)
async def void_votes(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, contest_id: scrm.PathId
) -> Redirect | Response[bytes]:
    form = await request.form()
    ids = form.getall("vote_id") if "vote_id" in form else []
    if ids:
        data = scrm.convert_form({"vote_ids": ids}, VoidIn)
        await votes.void(kernel, access.workspace, contest_id, data.vote_ids)
    return _go(request, f"/contests/{contest_id}/signals")


# --- results ------------------------------------------------------------------------------------------


@get("/contests/{contest_id:int}/results", opt=READ)
async def results_page(kernel: scrm.KernelDep, access: scrm.AccessDep, contest_id: scrm.PathId) -> Template:
    ws = access.workspace
    contest = await contests.load(kernel, ws, contest_id)
    ranked = (await results.results(kernel, ws, contest_id)).ranking if contest.phase == "results" else []
    context = {
        "contest": contest.out(),
        "ranking": ranked[:RANKS_SHOWN],
        "more": max(0, len(ranked) - RANKS_SHOWN),
        "places": results.places(contest),
        "awards": await results.awards(kernel, ws, contest_id),
        "tie_rule": TIE_RULE,
        "can_admin": access.can("contests:admin"),
    }
    return Template("contests/results.html", context=context)


@post("/contests/{contest_id:int}/awards", opt=ADMIN)
async def award(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, contest_id: scrm.PathId
) -> Redirect | Response[bytes]:
    await results.award(kernel, access.workspace, contest_id)
    return _go(request, f"/contests/{contest_id}/results")


@get("/contests/{contest_id:int}/export", opt=READ)
async def export(kernel: scrm.KernelDep, access: scrm.AccessDep, contest_id: scrm.PathId) -> Response[bytes]:
    bundle = await results.export(kernel, access.workspace, contest_id)
    disposition = f'attachment; filename="contest-{contest_id}.json"'
    return Response(_json.encode(bundle), media_type="application/json", headers={"Content-Disposition": disposition})


# --- the hooks ----------------------------------------------------------------------------------------


def console_pages() -> scrm.ConsolePages:
    here = Path(__file__).parent
    return scrm.ConsolePages(
        routes=[
            contest_list,
            new_contest,
            create_contest,
            edit_contest,
            update_contest,
            contest_page,
            move_phase,
            gallery,
            moderation_queue,
            moderate,
            judging_index,
            judging_page,
            score,
            signals_page,
            void_votes,
            results_page,
            award,
            export,
        ],
        nav=[
            scrm.NavLink(N_("Contests"), "/contests", "contests:read"),
            scrm.NavLink(N_("Judging"), "/judging", "contests:judge"),
        ],
        templates=here / "templates",
        translations=here / "translations",
    )


async def member_panels(member: dict[str, Any], access: scrm.Access, kernel: scrm.Kernel) -> list[scrm.MemberPanel]:
    """The member page's contests panel: the member's submissions (status, reason) and awards."""
    if not access.can("contests:read") or member["status"] == "erased":
        return []
    context = await members.panel(kernel, access.workspace, member["id"])
    return [scrm.MemberPanel(title=N_("Contests"), template="contests/_panel.html", context=context)]
