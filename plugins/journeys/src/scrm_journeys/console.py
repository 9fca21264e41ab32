"""The journeys console pages (``/console/w/{workspace}/journeys/…``).

The list shows each journey with its state, version and conversion; a new journey starts from its
trigger. A journey's page is its **editor**: the trigger, then the steps as a vertical flow, each
with its counts for the current version (entered, waiting, passed, exited); a step is added,
moved or removed with a small form htmx swaps in place (without JavaScript it posts and
redirects). Each change goes through the same function as the API's ``PATCH`` — a new version that
new runs follow. Publish and pause, a test run on one member (its trail shown), and the
conversion to the goal per version."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec
import scrm
from litestar import Request, Response, get, post
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from scrm_journeys import journeys, runner, runs
from scrm_journeys.schemas import Action, Condition, Exit, JourneyIn, JourneyPatch, Wait

READ = {"scope": "journeys:read"}
WRITE = {"scope": "journeys:write"}
Index = Annotated[int, PathParameter(ge=0, le=100)]
Move = Annotated[str, PathParameter(pattern="^(up|down|remove)$")]


def N_(message: str) -> str:
    """Marks English text translated where it is shown."""
    return message


TRIGGERS = (("event", N_("an event")), ("tag", N_("a tag added")), ("segment", N_("entering a segment")))
STEP_TYPES = (("wait", N_("Wait")), ("condition", N_("Condition")), ("action", N_("Action")), ("exit", N_("Exit")))
ACTIONS = (
    ("send", N_("send a message")),
    ("tag_add", N_("add a tag")),
    ("tag_remove", N_("remove a tag")),
    ("points", N_("award points")),
    ("lottery", N_("enter a lottery")),
    ("webhook", N_("call a webhook")),
)
STATES = (N_("draft"), N_("live"), N_("paused"))
OUTCOMES = (N_("active"), N_("waiting"), N_("passed"), N_("exited"), N_("completed"), N_("converted"), N_("failed"))
MOVES = (N_("up"), N_("down"), N_("remove"))


def _is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("HX-Request") == "true"


def _go(request: Request[Any, Any, Any], path: str) -> Response[bytes] | Redirect:
    url = f"{request.state.console.base}/journeys{path}"
    if _is_htmx(request):
        return Response(b"", status_code=200, headers={"HX-Redirect": url})
    return Redirect(url, status_code=303)


async def _typed(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {k: v.replace("\r\n", "\n") for k, v in scrm.form_values(await request.form()).items()}


def _errors(exc: scrm.Problem) -> dict[str, str]:
    """A problem's errors by the form's field names (``definition.steps[3].template`` is ``template``)."""
    errors: dict[str, str] = {}
    for error in exc.errors or []:
        name = str(error.get("field", "")).split(".")[-1].split("[")[0]
        errors.setdefault("" if name in ("definition", "trigger", "steps") else name, str(error.get("message", "")))
    return errors or {"": exc.detail}


def trigger_data(typed: Mapping[str, str]) -> dict[str, Any]:
    kind = typed.get("trigger", "event")
    field = {"event": "event_type", "tag": "tag", "segment": "segment"}.get(kind, "event_type")
    return {"kind": kind} | ({field: typed[field]} if typed.get(field) else {})


def step_data(typed: Mapping[str, str]) -> dict[str, Any]:
    """The add-a-step form as a step: only the fields its type takes, blanks left out."""
    kind = typed.get("type", "wait")
    fields = {
        "wait": ("seconds", "until"),
        "condition": ("has_tag", "attribute", "equals", "segment", "event_since_entry"),
        "action": ("action", "template", "purpose", "tag", "amount", "campaign_id", "url"),
        "exit": (),
    }.get(kind, ())
    data: dict[str, Any] = {"type": kind} | {f: typed[f] for f in fields if typed.get(f)}
    if kind == "wait" and typed.get("minutes"):
        data["seconds"] = str(int(float(typed["minutes"]) * 60)) if _number(typed["minutes"]) else typed["minutes"]
    if kind == "condition" and typed.get("negate") == "on":
        data["negate"] = True
    return data


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def describe(step: Any) -> str:
    """One line saying what a step does (shown in the flow; data, not translated)."""
    if isinstance(step, Wait):
        parts = []
        if step.seconds:
            parts.append(f"{step.seconds // 60} min" if step.seconds % 60 == 0 else f"{step.seconds} s")
        if step.until:
            parts.append(f"→ {step.until}")
        return " ".join(parts)
    if isinstance(step, Condition):
        tests = [
            f"tag {step.has_tag}" if step.has_tag else "",
            f"{step.attribute} = {step.equals}" if step.attribute and step.equals is not None else step.attribute or "",
            f"segment {step.segment}" if step.segment else "",
            f"{step.event_since_entry} since entry" if step.event_since_entry else "",
        ]
        return ("not " if step.negate else "") + " and ".join(t for t in tests if t)
    if isinstance(step, Action):
        detail = {
            "send": f"{step.template} ({step.purpose})",
            "tag_add": f"+{step.tag}",
            "tag_remove": f"−{step.tag}",
            "points": f"+{step.amount}",
            "lottery": f"campaign {step.campaign_id}",
            "webhook": step.url or "",
        }[step.action]
        return f"{step.action}: {detail}"
    return ""


async def _editor(kernel: scrm.Kernel, access: scrm.Access, journey_id: int, **extra: Any) -> dict[str, Any]:
    ws = access.workspace
    journey = await journeys.load(kernel, ws, journey_id)
    stats = await journeys.stats(kernel, ws, journey_id)
    current = next((v for v in stats.versions if v.version == journey.version), None)
    counts = {c.position: c for c in current.steps} if current else {}
    return {
        "journey": journey,
        "steps": [
            (i, type(s).__name__.lower(), describe(s), counts.get(i)) for i, s in enumerate(journey.definition.steps)
        ],
        "stats": stats,
        "can_write": access.can("journeys:write"),
        "step_types": STEP_TYPES,
        "actions": ACTIONS,
        "values": {"type": "action", "action": "send", "purpose": "marketing.email"},
        "errors": {},
        "trail": None,
        "test_values": {},
        "test_errors": {},
        **extra,
    }


@get("/", opt=READ)
async def journey_list(kernel: scrm.KernelDep, access: scrm.AccessDep) -> Template:
    found = await journeys.listing(kernel, access.workspace)
    conversions = {j.id: await journeys.stats(kernel, access.workspace, j.id) for j in found}
    context = {
        "journeys": found,
        "stats": conversions,
        "can_write": access.can("journeys:write"),
        "triggers": TRIGGERS,
        "values": {"trigger": "event", "event_type": "member.created"},
        "errors": {},
    }
    return Template("journeys/journeys.html", context=context)


@post("/", opt=WRITE)
async def create_journey(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep
) -> Template | Redirect | Response[bytes]:
    typed = await _typed(request)
    try:
        definition: dict[str, Any] = {"trigger": trigger_data(typed), "steps": []}
        if typed.get("goal"):
            definition["goal"] = {"event_type": typed["goal"]}
        data = scrm.convert_form({"name": typed.get("name", ""), "definition": definition}, JourneyIn)
        created = await journeys.create(kernel, access.workspace, data)
    except scrm.Problem as exc:
        found = await journeys.listing(kernel, access.workspace)
        context = {
            "journeys": found,
            "stats": {},
            "can_write": True,
            "triggers": TRIGGERS,
            "values": typed,
            "errors": _errors(exc),
        }
        return Template("journeys/journeys.html", context=context, status_code=scrm.form_status(exc))
    return _go(request, f"/{created.id}")


@get("/{journey_id:int}", opt=READ)
async def editor(kernel: scrm.KernelDep, access: scrm.AccessDep, journey_id: scrm.PathId) -> Template:
    return Template("journeys/journey.html", context=await _editor(kernel, access, journey_id))


async def _change_steps(
    request: Request[Any, Any, Any], kernel: scrm.Kernel, access: scrm.Access, journey_id: int, steps: list[Any]
) -> Template | Redirect | Response[bytes]:
    journey = await journeys.load(kernel, access.workspace, journey_id)
    definition = msgspec.structs.replace(journey.definition, steps=steps)
    await journeys.update(kernel, access.workspace, journey_id, JourneyPatch(definition=definition))
    if _is_htmx(request):
        return Template("journeys/_flow.html", context=await _editor(kernel, access, journey_id))
    return _go(request, f"/{journey_id}")


@post("/{journey_id:int}/steps", opt=WRITE)
async def add_step(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, journey_id: scrm.PathId
) -> Template | Redirect | Response[bytes]:
    """Append a step (a new version); errors come back next to the step's fields."""
    typed = await _typed(request)
    journey = await journeys.load(kernel, access.workspace, journey_id)
    try:
        step = scrm.convert_form(step_data(typed), Wait | Condition | Action | Exit)  # type: ignore[arg-type]
        return await _change_steps(request, kernel, access, journey_id, [*journey.definition.steps, step])
    except scrm.Problem as exc:
        context = await _editor(kernel, access, journey_id, values=typed, errors=_errors(exc))
        name = "journeys/_flow.html" if _is_htmx(request) else "journeys/journey.html"
        return Template(name, context=context, status_code=scrm.form_status(exc))


@post("/{journey_id:int}/steps/{index:int}/{move:str}", opt=WRITE)
async def move_step(
    request: Request[Any, Any, Any],
    kernel: scrm.KernelDep,
    access: scrm.AccessDep,
    journey_id: scrm.PathId,
    index: Index,
    move: Move,
) -> Template | Redirect | Response[bytes]:
    steps = list((await journeys.load(kernel, access.workspace, journey_id)).definition.steps)
    if index >= len(steps):
        raise scrm.NotFound(f"No step {index}")
    if move == "remove":
        steps.pop(index)
    else:
        other = index - 1 if move == "up" else index + 1
        if 0 <= other < len(steps):
            steps[index], steps[other] = steps[other], steps[index]
    return await _change_steps(request, kernel, access, journey_id, steps)


@post("/{journey_id:int}/publish", opt=WRITE)
async def publish(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, journey_id: scrm.PathId
) -> Redirect | Response[bytes]:
    await journeys.set_status(kernel, access.workspace, journey_id, "live")
    return _go(request, f"/{journey_id}")


@post("/{journey_id:int}/pause", opt=WRITE)
async def pause(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, journey_id: scrm.PathId
) -> Redirect | Response[bytes]:
    await journeys.set_status(kernel, access.workspace, journey_id, "paused")
    return _go(request, f"/{journey_id}")


@post("/{journey_id:int}/test", opt=WRITE)
async def test_run(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, journey_id: scrm.PathId
) -> Template:
    """Run the current version on one member now (waits skipped); the trail comes back."""
    typed = await _typed(request)
    context: dict[str, Any] = {"test_values": typed, "test_errors": {}, "trail": None}
    try:
        member_id = scrm.convert_form({"member_id": typed.get("member_id", "")}, _MemberField).member_id
        journey = await journeys.load(kernel, access.workspace, journey_id)
        run_id = await runner.test_run(kernel, access.workspace, journey_id, journey.version, member_id)
        context["trail"] = await runs.get(kernel, access.workspace, journey_id, run_id)
    except scrm.Problem as exc:
        context["test_errors"] = _errors(exc)
    if _is_htmx(request):
        return Template(
            "journeys/_test.html",
            context={"journey": await journeys.load(kernel, access.workspace, journey_id)} | context,
        )
    return Template("journeys/journey.html", context=await _editor(kernel, access, journey_id, **context))


class _MemberField(msgspec.Struct):
    member_id: Annotated[int, msgspec.Meta(gt=0)]


def console_pages() -> scrm.ConsolePages:
    here = Path(__file__).parent
    return scrm.ConsolePages(
        routes=[journey_list, create_journey, editor, add_step, move_step, test_run, publish, pause],
        nav=[scrm.NavLink(N_("Journeys"), "/", "journeys:read")],
        templates=here / "templates",
        translations=here / "translations",
    )
