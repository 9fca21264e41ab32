"""The polls console pages (``/console/w/{workspace}/polls/…``) and member panel.

Operators list polls and create one; a draft's page is its **builder** — settings, and the questions
with their options, added, reordered and removed one step at a time (each step a small form that
htmx swaps in place; without JavaScript it posts and redirects). Every step goes through the same
function as the API's ``PATCH`` (a draft's questions are replaced as a whole), so the builder refuses
exactly what the API refuses, with the error next to the question. A poll that was opened shows its
**live results** (a fragment htmx asks for again every few seconds while the poll takes ballots):
bars per option, the spread of ratings, the NPS split, texts held for review with their findings;
and the exports (results and ballots as CSV).

Questions are named by their position in the builder's forms: ids are new each time a draft's
questions are saved, positions are what an operator sees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
import scrm
from litestar import Request, Response, get, post
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template

from scrm_polls import ballots, members, polls, results
from scrm_polls.polls import Poll
from scrm_polls.schemas import PollIn, PollPatch, QuestionIn, QuestionResult

READ = {"scope": "polls:read"}
WRITE = {"scope": "polls:write"}
ADMIN = {"scope": "polls:admin"}
PER_PAGE = 50
REFRESH_SECONDS = 3
HELD_SHOWN = 50
#: a question's or an option's position in the builder (0-based)
Index = Annotated[int, PathParameter(ge=0, le=1000)]
#: which way a builder step moves a question or an option
Direction = Annotated[str, PathParameter(pattern="^(up|down)$")]
Decision = Annotated[str, PathParameter(pattern="^(release|remove)$")]


def N_(message: str) -> str:
    """Marks English text translated where it is shown (navigation, states, kinds)."""
    return message


STATES = (N_("draft"), N_("scheduled"), N_("open"), N_("closed"))
KINDS = {
    "single": N_("single choice"),
    "multiple": N_("multiple choice"),
    "rating": N_("rating 1–5"),
    "nps": N_("NPS 0–10"),
    "text": N_("free text"),
}
SETTINGS = (
    "name",
    "description",
    "opens_at",
    "closes_at",
    "tags_required",
    "tags_excluded",
    "consent_purpose",
    "points_reward",
)
#: what a settings field left blank means
BLANK: Mapping[str, Any] = {
    "description": "",
    "opens_at": None,
    "closes_at": None,
    "tags_required": [],
    "tags_excluded": [],
    "consent_purpose": None,
    "points_reward": 0,
}


def _base(request: Request[Any, Any, Any]) -> str:
    return f"{request.state.console.base}/polls"


def _is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("HX-Request") == "true"


def _go(request: Request[Any, Any, Any], path: str) -> Response[bytes] | Redirect:
    """After a change, to ``path`` under these pages (for htmx a full load, ``HX-Redirect``)."""
    url = f"{_base(request)}{path}"
    if _is_htmx(request):
        return Response(b"", status_code=200, headers={"HX-Redirect": url})
    return Redirect(url, status_code=303)


async def _typed(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The submitted fields, with a textarea's line breaks as one ``\\n``."""
    return {k: v.replace("\r\n", "\n") for k, v in scrm.form_values(await request.form()).items()}


def _local(value: str, zone: str) -> str:
    """A ``datetime-local`` value read in the workspace's time zone, as RFC 3339."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return value  # the API's decoder names the field
    return (at if at.tzinfo else at.replace(tzinfo=ZoneInfo(zone))).isoformat()


def _field_text(at: datetime | None, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M") if at else ""


def settings_data(typed: Mapping[str, str], zone: str) -> dict[str, Any]:
    """The settings form as the API's fields (a blank field means the API's default)."""
    data: dict[str, Any] = {}
    for name in SETTINGS:
        text = typed.get(name, "")
        if not text and name in BLANK:
            data[name] = BLANK[name]
        elif name in ("opens_at", "closes_at"):
            data[name] = _local(text, zone)
        elif name in ("tags_required", "tags_excluded"):
            data[name] = [tag.strip() for tag in text.split(",") if tag.strip()]
        else:
            data[name] = text
    data["anonymous"] = typed.get("anonymous") == "on"
    return data


def settings_form(poll: Poll, zone: str) -> dict[str, str]:
    return {
        "name": poll.name,
        "description": poll.description,
        "opens_at": _field_text(poll.opens_at, zone),
        "closes_at": _field_text(poll.closes_at, zone),
        "anonymous": "on" if poll.anonymous else "",
        "tags_required": ", ".join(poll.tags_required),
        "tags_excluded": ", ".join(poll.tags_excluded),
        "consent_purpose": poll.consent_purpose or "",
        "points_reward": str(poll.points_reward) if poll.points_reward else "",
    }


def question_data(typed: Mapping[str, str]) -> dict[str, Any]:
    """The add-a-question form as a question (options one per line)."""
    data: dict[str, Any] = {
        "kind": typed.get("kind", "single"),
        "title": typed.get("title", ""),
        "options": [line.strip() for line in typed.get("options", "").splitlines() if line.strip()],
        "required": typed.get("required") == "on",
    }
    for name in ("min_choices", "max_choices", "max_length"):
        if typed.get(name):
            data[name] = typed[name]
    return data


# --- the list and a new poll ---------------------------------------------------------------------


@get("/", opt=READ)
async def poll_list(kernel: scrm.KernelDep, access: scrm.AccessDep, cursor: scrm.Cursor = None) -> Template:
    page = await polls.listing(kernel, access.workspace, None, cursor, PER_PAGE)
    context = {"polls": page.items, "next_cursor": page.next_cursor, "can_write": access.can("polls:write")}
    return Template("polls/polls.html", context=context)


@get("/new", opt=WRITE)
async def new_poll(request: Request[Any, Any, Any]) -> Template:
    return _new_form(request, {"kind": "single", "required": "on"}, {})


def _new_form(
    request: Request[Any, Any, Any], typed: Mapping[str, str], errors: Mapping[str, str], status: int = 200
) -> Template:
    name = "polls/_new.html" if _is_htmx(request) else "polls/new.html"
    return Template(name, context={"values": typed, "errors": errors, "kinds": KINDS}, status_code=status)


@post("/", opt=WRITE)
async def create_poll(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep
) -> Template | Redirect | Response[bytes]:
    """A draft with its name and first question; the builder adds the rest."""
    typed = await _typed(request)
    try:
        data = scrm.convert_form(
            {
                "name": typed.get("name", ""),
                "description": typed.get("description", ""),
                "questions": [question_data(typed)],
            },
            PollIn,
        )
        created = await polls.create(kernel, access.workspace, data)
    except scrm.Problem as exc:
        return _new_form(request, typed, _question_errors(exc), status=scrm.form_status(exc))
    return _go(request, f"/{created.id}")


def _question_errors(exc: scrm.Problem) -> dict[str, str]:
    """A problem's errors on the form's fields: ``questions[0].options`` is the form's ``options``."""
    errors: dict[str, str] = {}
    for error in exc.errors or []:
        field = str(error.get("field", ""))
        name = field.rsplit(".", 1)[-1] if field.startswith("questions") and "." in field else field.split("[")[0]
        errors.setdefault(name, str(error.get("message", "")))
    return errors or {"": exc.detail}


# --- a poll's page: the builder (drafts) or the live results -------------------------------------


async def _page_context(kernel: scrm.Kernel, access: scrm.Access, poll: Poll) -> dict[str, Any]:
    ws = access.workspace
    context: dict[str, Any] = {
        "poll": poll.out(),
        "kinds": KINDS,
        "can_write": access.can("polls:write"),
        "can_admin": access.can("polls:admin"),
        "refresh": REFRESH_SECONDS,
        "values": settings_form(poll, ws.time_zone),
        "errors": {},
        "question_errors": {},
        "zone": ws.time_zone,
        "new_question": {"kind": "single", "required": "on"},
    }
    if poll.state != "draft":
        context |= await _results_context(kernel, access, poll)
        context |= {"groups": await tag_groups(kernel, ws), "group": "", "breakdown": None}
    return context


async def _results_context(kernel: scrm.Kernel, access: scrm.Access, poll: Poll) -> dict[str, Any]:
    found = await results.results(kernel, access.workspace, poll.id)
    held = await ballots.texts(kernel, access.workspace, poll.id, "held", None, HELD_SHOWN)
    shown = await ballots.texts(kernel, access.workspace, poll.id, "visible", None, HELD_SHOWN)
    return {
        "results": found,
        "bars": {q.question_id: chart_rows(q) for q in found.questions},
        "held": held.items,
        "shown": shown.items,
        "accepting": poll.accepting(datetime.now(UTC)),
    }


def chart_rows(q: QuestionResult) -> list[tuple[str, int, float]]:
    """A question's bars: (label, count, percent of those who answered) per option or score."""
    if q.options:
        return [(o.label, o.count, o.percent) for o in q.options]
    return [(str(s.score), s.count, results.percent(s.count, q.answered)) for s in q.scores]


@get("/{poll_id:int}", opt=READ)
async def poll_page(kernel: scrm.KernelDep, access: scrm.AccessDep, poll_id: scrm.PathId) -> Template:
    poll = await polls.get(kernel, access.workspace, poll_id)
    return Template("polls/poll.html", context=await _page_context(kernel, access, poll))


@get("/{poll_id:int}/breakdown", opt=READ)
async def breakdown(
    kernel: scrm.KernelDep,
    access: scrm.AccessDep,
    poll_id: scrm.PathId,
    group: Annotated[str | None, QueryParameter(max_length=100)] = None,
) -> Template:
    """The results per tag of a tag group (a fragment under the results; a page of its own without
    htmx): ballots, and per question its NPS, mean or each option's share."""
    ws = access.workspace
    poll = await polls.get(kernel, ws, poll_id)
    found = await results.breakdown(kernel, ws, poll_id, group) if group else None
    context = {"poll": poll.out(), "groups": await tag_groups(kernel, ws), "group": group or "", "breakdown": found}
    return Template("polls/_breakdown.html", context=context)


async def tag_groups(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> list[str]:
    """The workspace's tag groups, for the breakdown's choice."""
    return sorted({t.group for t in await kernel.tags.list(ws) if t.group})


@get("/{poll_id:int}/live", opt=READ)
async def live_results(kernel: scrm.KernelDep, access: scrm.AccessDep, poll_id: scrm.PathId) -> Template:
    """The results alone: the fragment the poll's page asks for again while the poll takes ballots."""
    poll = await polls.get(kernel, access.workspace, poll_id)
    context = {"poll": poll.out(), "refresh": REFRESH_SECONDS, "can_admin": access.can("polls:admin")}
    return Template("polls/_results.html", context=context | await _results_context(kernel, access, poll))


@post("/{poll_id:int}/settings", opt=WRITE)
async def save_settings(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, poll_id: scrm.PathId
) -> Template | Redirect | Response[bytes]:
    """Only the fields that changed go to the API, so a live poll's locked fields, shown unchanged,
    are not taken for changes."""
    ws = access.workspace
    poll = await polls.get(kernel, ws, poll_id)
    typed = await _typed(request)
    try:
        before = settings_data(settings_form(poll, ws.time_zone), ws.time_zone)
        after = settings_data(typed, ws.time_zone)
        changed = {k: v for k, v in after.items() if v != before[k]}
        if changed:
            await polls.update(kernel, ws, poll_id, scrm.convert_form(changed, PollPatch))
    except scrm.Problem as exc:
        if exc.status == 404:
            raise
        context = await _page_context(kernel, access, poll) | {"values": typed, "errors": scrm.form_errors(exc)}
        name = "polls/_settings.html" if _is_htmx(request) else "polls/poll.html"
        return Template(name, context=context, status_code=scrm.form_status(exc))
    return _go(request, f"/{poll_id}")


# --- the builder's steps --------------------------------------------------------------------------

Step = Callable[[list[QuestionIn]], list[QuestionIn]]


def _moved(items: list[Any], index: Index, direction: Direction) -> list[Any]:
    """``items`` with the one at ``index`` one place up or down (unchanged at an end or out of range)."""
    to = index - 1 if direction == "up" else index + 1
    if not (0 <= index < len(items) and 0 <= to < len(items)):
        return items
    items = list(items)
    items[index], items[to] = items[to], items[index]
    return items


def _at(questions: list[QuestionIn], index: int) -> QuestionIn:
    if not 0 <= index < len(questions):
        raise scrm.NotFound(f"The poll has no question {index + 1}")
    return questions[index]


def _replace(questions: list[QuestionIn], index: int, **changes: Any) -> list[QuestionIn]:
    changed = list(questions)
    changed[index] = msgspec.structs.replace(_at(questions, index), **changes)
    return changed


async def _step(
    request: Request[Any, Any, Any],
    kernel: scrm.Kernel,
    access: scrm.Access,
    poll_id: int,
    step: Step,
    typed: Mapping[str, str] | None = None,
) -> Template | Redirect | Response[bytes]:
    """Apply one builder step to a draft's questions through the API's update; answer with the
    builder (htmx) or a redirect, or the builder with the error next to the question."""
    ws = access.workspace
    poll = await polls.get(kernel, ws, poll_id)
    errors: dict[str, str] = {}
    status = 200
    try:
        questions = step(polls.as_input(poll).questions)
        poll = await polls.update(kernel, ws, poll_id, PollPatch(questions=questions))
    except scrm.ValidationFailed as exc:
        errors, status = _question_errors(exc), 422
    if not errors and not _is_htmx(request):
        return _go(request, f"/{poll_id}")
    context = await _page_context(kernel, access, poll)
    context |= {"question_errors": errors, "new_question": typed if errors and typed else context["new_question"]}
    return Template("polls/_builder.html", context=context, status_code=status)


@post("/{poll_id:int}/questions", opt=WRITE)
async def add_question(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, poll_id: scrm.PathId
) -> Template | Redirect | Response[bytes]:
    typed = await _typed(request)

    def add(questions: list[QuestionIn]) -> list[QuestionIn]:
        return [*questions, scrm.convert_form(question_data(typed), QuestionIn)]

    return await _step(request, kernel, access, poll_id, add, typed)


@post("/{poll_id:int}/questions/{index:int}/move/{direction:str}", opt=WRITE)
async def move_question(
    request: Request[Any, Any, Any],
    kernel: scrm.KernelDep,
    access: scrm.AccessDep,
    poll_id: scrm.PathId,
    index: Index,
    direction: Direction,
) -> Template | Redirect | Response[bytes]:
    return await _step(request, kernel, access, poll_id, lambda qs: _moved(qs, index, direction))


@post("/{poll_id:int}/questions/{index:int}/delete", opt=WRITE)
async def delete_question(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, poll_id: scrm.PathId, index: Index
) -> Template | Redirect | Response[bytes]:
    def drop(questions: list[QuestionIn]) -> list[QuestionIn]:
        _at(questions, index)
        return [q for i, q in enumerate(questions) if i != index]

    return await _step(request, kernel, access, poll_id, drop)


@post("/{poll_id:int}/questions/{index:int}/options", opt=WRITE)
async def add_option(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, poll_id: scrm.PathId, index: Index
) -> Template | Redirect | Response[bytes]:
    label = (await _typed(request)).get("label", "")

    def add(questions: list[QuestionIn]) -> list[QuestionIn]:
        if not label:
            raise scrm.invalid(f"questions[{index}].options", "type the option's label")
        return _replace(questions, index, options=[*_at(questions, index).options, label])

    return await _step(request, kernel, access, poll_id, add)


@post("/{poll_id:int}/questions/{index:int}/options/{option:int}/move/{direction:str}", opt=WRITE)
async def move_option(
    request: Request[Any, Any, Any],
    kernel: scrm.KernelDep,
    access: scrm.AccessDep,
    poll_id: scrm.PathId,
    index: Index,
    option: Index,
    direction: Direction,
) -> Template | Redirect | Response[bytes]:
    def move(questions: list[QuestionIn]) -> list[QuestionIn]:
        return _replace(questions, index, options=_moved(_at(questions, index).options, option, direction))

    return await _step(request, kernel, access, poll_id, move)


@post("/{poll_id:int}/questions/{index:int}/options/{option:int}/delete", opt=WRITE)
async def delete_option(
    request: Request[Any, Any, Any],
    kernel: scrm.KernelDep,
    access: scrm.AccessDep,
    poll_id: scrm.PathId,
    index: Index,
    option: Index,
) -> Template | Redirect | Response[bytes]:
    def drop(questions: list[QuestionIn]) -> list[QuestionIn]:
        options = _at(questions, index).options
        return _replace(questions, index, options=[o for i, o in enumerate(options) if i != option])

    return await _step(request, kernel, access, poll_id, drop)


# --- state changes, exports, review ---------------------------------------------------------------


@post("/{poll_id:int}/open", opt=ADMIN)
async def open_poll(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, poll_id: scrm.PathId
) -> Redirect | Response[bytes]:
    await polls.open_poll(kernel, access.workspace, poll_id)
    return _go(request, f"/{poll_id}")


@post("/{poll_id:int}/close", opt=ADMIN)
async def close_poll(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, poll_id: scrm.PathId
) -> Redirect | Response[bytes]:
    await polls.close(kernel, access.workspace, poll_id)
    return _go(request, f"/{poll_id}")


@post("/{poll_id:int}/delete", opt=WRITE)
async def delete_poll(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, poll_id: scrm.PathId
) -> Redirect | Response[bytes]:
    await polls.delete(kernel, access.workspace, poll_id)
    return _go(request, "/")


@get("/{poll_id:int}/results.csv", opt=READ)
async def export_results(kernel: scrm.KernelDep, access: scrm.AccessDep, poll_id: scrm.PathId) -> Response[bytes]:
    found = await results.results(kernel, access.workspace, poll_id)
    return results.csv_file(results.results_csv(found), f"poll-{poll_id}-results.csv")


@get("/{poll_id:int}/ballots.csv", opt=READ)
async def export_ballots(kernel: scrm.KernelDep, access: scrm.AccessDep, poll_id: scrm.PathId) -> Response[bytes]:
    return results.csv_file(await results.ballots_csv(kernel, access.workspace, poll_id), f"poll-{poll_id}-ballots.csv")


@post("/{poll_id:int}/texts/{answer_id:int}/{decision:str}", opt=ADMIN)
async def review_text(
    request: Request[Any, Any, Any],
    kernel: scrm.KernelDep,
    access: scrm.AccessDep,
    poll_id: scrm.PathId,
    answer_id: scrm.PathId,
    decision: Decision,
) -> Redirect | Response[bytes]:
    await ballots.review(kernel, access.workspace, poll_id, answer_id, decision)
    return _go(request, f"/{poll_id}")


# --- the hooks ----------------------------------------------------------------------------------


def console_pages() -> scrm.ConsolePages:
    here = Path(__file__).parent
    return scrm.ConsolePages(
        routes=[
            poll_list,
            new_poll,
            create_poll,
            poll_page,
            live_results,
            breakdown,
            save_settings,
            add_question,
            move_question,
            delete_question,
            add_option,
            move_option,
            delete_option,
            open_poll,
            close_poll,
            delete_poll,
            export_results,
            export_ballots,
            review_text,
        ],
        nav=[scrm.NavLink(N_("Polls"), "/", "polls:read")],
        templates=here / "templates",
        translations=here / "translations",
    )


async def member_panels(member: dict[str, Any], access: scrm.Access, kernel: scrm.Kernel) -> list[scrm.MemberPanel]:
    """The member page's polls panel: the member's ballots and what they answered."""
    if not access.can("polls:read") or member["status"] == "erased":
        return []
    found = await members.ballots(kernel, access.workspace, member["id"], members.PER_PANEL)
    return [scrm.MemberPanel(title=N_("Polls"), template="polls/_panel.html", context={"ballots": found})]
