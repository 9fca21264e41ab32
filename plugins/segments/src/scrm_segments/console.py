"""The segments console pages (``/console/w/{workspace}/segments/…``).

The list shows the saved segments with their counts, the lifecycle funnel and the clusters. The
**builder** (a new segment, or a saved one) edits the definition as JSON beside a palette of clause
examples; htmx posts the definition as it is typed (``/preview``) and swaps in the count, or the
422's message naming the wrong clause — the same check the API makes, since both go through
:mod:`scrm_segments.store`. Saving without JavaScript posts the form and redirects. A checkbox
switches the operator's watch (entry and exit events, see :mod:`scrm_segments.watch`). A segment's
members download as CSV through the core's export (``scrm.export_members`` with its segment)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import scrm
from litestar import Request, Response, get, post
from litestar.response import Redirect, Stream, Template

from scrm_segments import clusters, store, watch
from scrm_segments.schemas import SegmentIn, SegmentPatch

READ = {"scope": "segments:read"}
WRITE = {"scope": "segments:write"}
#: clause examples the builder offers (what an operator copies into a definition)
PALETTE = (
    {"tag": "vip"},
    {"attribute": {"key": "city", "equals": "Shanghai"}},
    {"consent": "marketing.sms"},
    {"joined": {"within_days": 7}},
    {"active": {"before_days": 30}},
    {"events": {"type": "order.paid", "within_days": 30, "min": 2}},
    {"stage": ["silent", "churned"]},
    {"rfm": {"score": "m", "min": 4}},
    {"cluster": 0},
    {"points": {"min": 100}},
    {"all": [{"tag": "vip"}, {"not": {"stage": "churned"}}]},
)
STARTER = {"all": [{"stage": ["active", "new"]}, {"not": {"tag": "staff"}}]}


def N_(message: str) -> str:
    """Marks English text translated where it is shown."""
    return message


STAGE_NAMES = {"new": N_("new"), "active": N_("active"), "silent": N_("silent"), "churned": N_("churned")}


def _base(request: Request[Any, Any, Any]) -> str:
    return f"{request.state.console.base}/segments"


def _pretty(tree: Any) -> str:
    return json.dumps(tree, ensure_ascii=False, indent=2)


def _message(exc: scrm.Problem) -> str:
    """A problem as one line an operator reads: each wrong field with what it should be."""
    errors = exc.errors or []
    if errors:
        return "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return str(exc.detail)


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise scrm.ValidationFailed(
            f"definition: not JSON ({exc.msg}, line {exc.lineno})",
            errors=[scrm.field_error("definition", f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")],
        ) from exc


@get("/", opt=READ)
async def segment_list(kernel: scrm.KernelDep, access: scrm.AccessDep) -> Template:
    ws = access.workspace
    page = await store.listing(kernel, ws, None, scrm.MAX_LIMIT)
    counts = {s.id: (await store.count(kernel, ws, s.definition)).count for s in page.items}
    context = {
        "segments": page.items,
        "counts": counts,
        "stages": await store.stages(kernel, ws),
        "stage_names": STAGE_NAMES,
        "clusters": await clusters.listing(kernel, ws),
        "can_write": access.can("segments:write"),
    }
    return Template("segments/segments.html", context=context)


def _builder(
    segment: Any, values: dict[str, Any], error: str | None, count: Any, can_write: bool, status: int = 200
) -> Template:
    context = {
        "segment": segment,
        "values": values,
        "error": error,
        "count": count,
        "palette": [json.dumps(p, ensure_ascii=False) for p in PALETTE],
        "can_write": can_write,
    }
    return Template("segments/builder.html", context=context, status_code=status)


@get("/new", opt=WRITE)
async def new_segment(kernel: scrm.KernelDep, access: scrm.AccessDep) -> Template:
    count = await store.count(kernel, access.workspace, STARTER)
    values = {"name": "", "description": "", "definition": _pretty(STARTER), "watch": False}
    return _builder(None, values, None, count, True)


@get("/{segment_id:int}", opt=READ)
async def segment_page(kernel: scrm.KernelDep, access: scrm.AccessDep, segment_id: scrm.PathId) -> Template:
    segment = await store.get(kernel, access.workspace, segment_id)
    values = {
        "name": segment.name,
        "description": segment.description,
        "definition": _pretty(segment.definition),
        "watch": watch.OPERATOR in segment.watched_by,
    }
    count = await store.count(kernel, access.workspace, segment.definition)
    return _builder(segment, values, None, count, access.can("segments:write"))


@post("/preview", opt=READ)
async def preview(request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep) -> Template:
    """The builder's live count (an htmx fragment): the count, or why the definition is wrong."""
    typed = scrm.form_values(await request.form())
    try:
        count = await store.count(kernel, access.workspace, _parse(typed.get("definition", "")))
    except scrm.Problem as exc:
        return Template("segments/_count.html", context={"count": None, "error": _message(exc)})
    return Template("segments/_count.html", context={"count": count, "error": None})


async def _save(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, segment_id: int | None
) -> Template | Redirect | Response[bytes]:
    form = scrm.form_values(await request.form())
    typed: dict[str, Any] = {
        name: form.get(name, "").replace("\r\n", "\n") for name in ("name", "description", "definition")
    }
    typed["watch"] = bool(form.get("watch"))  # a checkbox: sent only when ticked
    ws = access.workspace
    segment = await store.get(kernel, ws, segment_id) if segment_id is not None else None
    try:
        fields = {"name": typed["name"], "description": typed["description"], "watch": typed["watch"]}
        fields["definition"] = _parse(typed["definition"])
        if segment is None:
            saved = await store.create(kernel, ws, scrm.convert_form(fields, SegmentIn))
        else:
            saved = await store.update(kernel, ws, segment.id, scrm.convert_form(fields, SegmentPatch))
    except scrm.Problem as exc:
        return _builder(segment, typed, _message(exc), None, True, status=scrm.form_status(exc))
    url = f"{_base(request)}/{saved.id}"
    if request.headers.get("HX-Request") == "true":
        return Response(b"", status_code=200, headers={"HX-Redirect": url})
    return Redirect(url, status_code=303)


@post("/", opt=WRITE)
async def create_segment(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep
) -> Template | Redirect | Response[bytes]:
    return await _save(request, kernel, access, None)


@post("/{segment_id:int}", opt=WRITE)
async def save_segment(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, segment_id: scrm.PathId
) -> Template | Redirect | Response[bytes]:
    return await _save(request, kernel, access, segment_id)


@post("/{segment_id:int}/delete", opt=WRITE)
async def delete_segment(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, segment_id: scrm.PathId
) -> Redirect:
    await store.delete(kernel, access.workspace, segment_id)
    return Redirect(f"{_base(request)}/", status_code=303)


@get("/{segment_id:int}/members.csv", opt={"scope": "members:read"})
async def export_segment(kernel: scrm.KernelDep, access: scrm.AccessDep, segment_id: scrm.PathId) -> Stream:
    """The segment's members as CSV: the core's export, narrowed by the segment."""
    segment = await store.get(kernel, access.workspace, segment_id)
    rows = scrm.export_members(kernel, access.workspace, "csv", filters=scrm.MemberFilter(segment=segment.id))
    name = f"segment-{segment.id}.csv"
    return Stream(rows, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


def console_pages() -> scrm.ConsolePages:
    here = Path(__file__).parent
    return scrm.ConsolePages(
        routes=[
            segment_list,
            new_segment,
            segment_page,
            preview,
            create_segment,
            save_segment,
            delete_segment,
            export_segment,
        ],
        nav=[scrm.NavLink(N_("Segments"), "/", "segments:read")],
        templates=here / "templates",
        translations=here / "translations",
    )
