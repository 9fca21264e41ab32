"""Console pages: the workspace's members — search and filters, and one member's page (profile, tags
edited inline, consent, event timeline, the panels plugins contribute).

Everything goes through the core's services, the ones the API uses, so the console shows and changes
exactly what the API does: a tag added here is created if new and recorded as a ``tags.changed``
event. Filters and paging live in the URL (htmx pushes it), so a search can be shared and reloaded,
and every page works without JavaScript.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, Response, get, post
from litestar.params import PathParameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY
from msgspec import Meta
from scrm import (
    MAX_ID,
    MAX_LIMIT,
    Access,
    AccessDep,
    ConsentOut,
    DottedName,
    EventFilter,
    EventOut,
    Kernel,
    KernelDep,
    MemberFilter,
    MemberOut,
    MemberPanel,
    NavLink,
    NotFound,
    Page,
    TagName,
    ValidationFailed,
    WorkspaceDep,
    WorkspaceRef,
)

from scrm_web import i18n
from scrm_web.auth import console_of
from scrm_web.errors import is_htmx
from scrm_web.forms import decode, field_errors, invalid, values
from scrm_web.i18n import N_

log = logging.getLogger("scrm.console")

#: members per page of the list, unless the URL says ``limit``
PAGE_SIZE = 50
#: events per page of a member's timeline
TIMELINE_SIZE = 25
MemberId = Annotated[int, PathParameter(gt=0, le=MAX_ID)]
#: the element of the filters and results (``_members.html``): what a 422 to htmx replaces
LIST_ID = "members"
#: the event htmx fires on the page after a tag change, so the timeline reloads
TAGS_CHANGED = "tags-changed"


# --- the list ---------------------------------------------------------------------------------


class MemberSearch(msgspec.Struct, kw_only=True):
    """The list's filters as the form (and the URL) gives them; dates are days in the workspace's
    time zone."""

    q: Annotated[str, Meta(max_length=320)] | None = None
    tag: list[TagName] = msgspec.field(default_factory=list)
    attribute: Annotated[str, Meta(max_length=500)] | None = None
    status: Literal["active", "blocked", "erased"] | None = None
    created_after: date | None = None
    created_before: date | None = None
    active_after: date | None = None
    inactive_since: date | None = None
    limit: Annotated[int, Meta(ge=1, le=MAX_LIMIT)] = PAGE_SIZE

    def to_filter(self, ws: WorkspaceRef) -> MemberFilter:
        zone = ZoneInfo(ws.time_zone)

        def start(day: date | None) -> datetime | None:
            return datetime.combine(day, time(), tzinfo=zone) if day else None

        return MemberFilter(
            tags=tuple(self.tag),
            attributes=_attribute(self.attribute),
            status=self.status,
            created_after=start(self.created_after),
            created_before=start(self.created_before),
            active_after=start(self.active_after),
            inactive_since=start(self.inactive_since),
            q=self.q,
        )


SEARCH_FIELDS = MemberSearch.__struct_fields__


def _attribute(text: str | None) -> tuple[tuple[str, str], ...]:
    """``KEY=VALUE`` as the service's (key, value) condition; the service checks the key."""
    if not text:
        return ()
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise invalid("attribute", i18n.gettext("expected KEY=VALUE, such as city=Paris"))
    return ((key, value.strip()),)


def wants_fragment(request: Request[Any, Any, Any]) -> bool:
    """An htmx request swapping part of a page. Restoring history (htmx re-fetching a page the back
    button returns to) wants the whole page."""
    return is_htmx(request) and request.headers.get("hx-history-restore-request") != "true"


def _url(path: str, params: Sequence[tuple[str, str]]) -> str:
    query = urlencode([(k, v) for k, v in params if v])
    return f"{path}?{query}" if query else path


@get("/members", opt={"scope": "members:read"})
async def member_list(request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep) -> Template:
    query = request.query_params
    typed = {name: ",".join(query.getall(name, [])) if name == "tag" else query.get(name, "") for name in SEARCH_FIELDS}
    url = f"{console_of(request).base}/members"
    page: Page[MemberOut] = Page(items=[], next_cursor=None)
    errors: dict[str, str] = {}
    cursor = query.get("cursor") or None
    total = 0
    try:
        search = decode(typed, MemberSearch, lists=("tag",))
        page = await kernel.members.list(ws, search.to_filter(ws), cursor, search.limit)
        total = await kernel.members.count(ws, search.to_filter(ws))
    except ValidationFailed as exc:
        errors = _by_field(field_errors(exc), _search_rules())
    kept = [(k, v) for k, v in query.multi_items() if k != "cursor"]
    context: dict[str, Any] = {
        "url": url,
        "members": page.items,
        "total": total,
        "export_url": _url(f"{url}/export", [(k, v) for k, v in query.multi_items() if k not in ("cursor", "limit")]),
        "values": typed,
        "selected_tags": query.getall("tag", []),
        "errors": errors,
        "next_url": _url(url, [*kept, ("cursor", page.next_cursor or "")]) if page.next_cursor else "",
        "first_url": _url(url, kept) if cursor else "",
    }
    status = HTTP_422_UNPROCESSABLE_ENTITY if errors else 200
    headers = {"Vary": "HX-Request"}
    if wants_fragment(request) and not errors:
        return Template("console/_members_results.html", context=context, headers=headers)
    context["tags"] = await kernel.tags.names(ws)
    if wants_fragment(request):  # the form comes back with its errors, wherever the request came from
        headers |= {"HX-Retarget": f"#{LIST_ID}", "HX-Reswap": "outerHTML"}
        return Template("console/_members.html", context=context, status_code=status, headers=headers)
    return Template("console/members.html", context=context, status_code=status, headers=headers)


def _search_rules() -> dict[str, str | None]:
    """What each filter accepts, in the request's language: shown instead of the parser's wording
    (``None``: the field's own message, already written for people)."""
    day = i18n.gettext("a date such as 2026-01-31")
    return {
        "q": i18n.gettext("at most 320 characters"),
        "tag": _tag_rule(),
        "attribute": None,
        "status": i18n.gettext("active, blocked or erased"),
        "created_after": day,
        "created_before": day,
        "active_after": day,
        "inactive_since": day,
        "limit": i18n.gettext("a page size from 1 to %(most)s") % {"most": MAX_LIMIT},
    }


def _tag_rule() -> str:
    return i18n.gettext("1 to 100 characters, without a comma or | and not starting with a space")


def _by_field(errors: dict[str, str], rules: Mapping[str, str | None]) -> dict[str, str]:
    """Each error by its field (a form's fields are the keys of ``rules``), in the rule's words; an
    error of a field the form does not have is the form's."""
    shown = {k: rules[k] or v for k, v in errors.items() if k in rules}
    other = [v for k, v in errors.items() if k not in rules]
    return shown | ({"": "; ".join(other)} if other else {})


# --- one member -------------------------------------------------------------------------------


class TimelineQuery(msgspec.Struct, kw_only=True):
    """The timeline's filter."""

    type: DottedName | None = None


class TagForm(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The tag to add or remove: created when new, as the API does (and, like its bodies, an
    unknown field is an error)."""

    tag: TagName


@dataclass(frozen=True)
class ConsentRow:
    """A purpose and the member's current state for it: granted, withdrawn or never asked."""

    purpose: str
    description: str
    state: str
    record: ConsentOut | None


@dataclass
class MemberView:
    """What the member page shows; the fragments (tags, timeline) use a part of it."""

    member: MemberOut
    url: str
    can_tag: bool
    can_export: bool
    tag_names: list[str]
    tag_values: Mapping[str, str]
    tag_errors: Mapping[str, str]
    consent: list[ConsentRow] | None = None
    consent_history: list[ConsentOut] | None = None
    can_consent: bool = False  # may record consent here (``consent:write``)
    consent_values: Mapping[str, str] = field(default_factory=dict)  # the consent form, typed
    consent_errors: Mapping[str, str] = field(default_factory=dict)
    can_edit: bool = False  # may edit, block, unblock and erase (``members:write``)
    timeline: Page[EventOut] | None = None
    timeline_values: Mapping[str, str] | None = None
    timeline_errors: Mapping[str, str] | None = None
    timeline_next: tuple[str, str] | None = None  # the next page as a page URL and as a fragment URL
    panels: Sequence[tuple[str, MemberPanel]] = ()
    panels_failed: Sequence[str] = ()  # the plugins whose panels could not be made

    @property
    def erased(self) -> bool:
        return self.member.status == "erased"

    @property
    def status(self) -> int:
        """The page's status: 422 when the timeline's filter is bad (the error shows by the field)."""
        return HTTP_422_UNPROCESSABLE_ENTITY if self.timeline_errors else 200

    @property
    def purpose_options(self) -> list[tuple[str, str]]:
        """The consent form's purposes (value, label)."""
        return [(row.purpose, row.purpose) for row in self.consent or []]

    @property
    def name(self) -> str:
        return self.member.display_name or i18n.gettext("Member %(id)s") % {"id": self.member.id}


async def view_of(
    request: Request[Any, Any, Any],
    kernel: Kernel,
    access: Access,
    member_id: int,
    *,
    tag_values: Mapping[str, str] | None = None,
    tag_errors: Mapping[str, str] | None = None,
    full: bool = True,
) -> MemberView:
    """The member's page (``full``), or the member and their tags only (the fragments). An erased
    member shows no personal data: no timeline, consent evidence or plugin panels either."""
    ws = access.workspace
    member = await kernel.members.get(ws, member_id)
    can_tag = access.can("tags:write") and member.status != "erased"
    view = MemberView(
        member=member,
        url=f"{console_of(request).base}/members/{member.id}",
        can_tag=can_tag,
        can_export=access.can("members:export"),
        can_edit=access.can("members:write") and member.status != "erased",
        can_consent=access.can("consent:write") and member.status != "erased",
        tag_names=await kernel.tags.names(ws) if can_tag else [],
        tag_values=tag_values or {},
        tag_errors=tag_errors or {},
    )
    if not full or view.erased:
        return view
    if access.can("consent:read"):
        view.consent, view.consent_history = await _consents(kernel, ws, member_id)
    if access.can("events:read"):
        await _timeline(request, kernel, ws, view)
    view.panels, view.panels_failed = await _panels(kernel, access, member)
    return view


async def _consents(kernel: Kernel, ws: WorkspaceRef, member_id: int) -> tuple[list[ConsentRow], list[ConsentOut]]:
    """Each purpose of the workspace (and any the member's records name) with its current state,
    and the member's whole ledger, newest first."""
    state = await kernel.consents.state(ws, member_id)
    current = {record.purpose: record for record in state.current}
    described = {p.name: p.description for p in await kernel.consents.purposes.list(ws)}
    rows = [
        ConsentRow(
            purpose=name,
            description=described.get(name, ""),
            state=current[name].status if name in current else "never",
            record=current.get(name),
        )
        for name in sorted(described.keys() | current.keys())
    ]
    return rows, list(reversed(state.history))


async def _timeline(request: Request[Any, Any, Any], kernel: Kernel, ws: WorkspaceRef, view: MemberView) -> None:
    """The member's events newest first, filtered by ``type`` and continued from ``cursor`` (the URL's)."""
    query = request.query_params
    typed = {"type": query.get("type", "")}
    view.timeline_values, view.timeline_errors = typed, {}
    try:
        kind = decode(typed, TimelineQuery).type
        view.timeline = await kernel.events.list(
            ws, EventFilter(member_id=view.member.id, type=kind), query.get("cursor") or None, TIMELINE_SIZE
        )
    except ValidationFailed as exc:
        rules = {"type": i18n.gettext("an event type such as order.paid")}
        view.timeline, view.timeline_errors = Page(items=[], next_cursor=None), _by_field(field_errors(exc), rules)
    if view.timeline.next_cursor:
        params = [("type", typed["type"]), ("cursor", view.timeline.next_cursor)]
        view.timeline_next = (_url(view.url, params), _url(f"{view.url}/timeline", params))


async def _panels(kernel: Kernel, access: Access, member: MemberOut) -> tuple[list[tuple[str, MemberPanel]], list[str]]:
    """The panels the workspace's plugins give this member's page, each with its translated title,
    and the plugins that failed: each plugin is asked on its own, so one that fails costs its panels
    (logged, and the page says so), never another's or the page."""
    ws = access.workspace
    data = msgspec.to_builtins(member)
    panels: list[tuple[str, MemberPanel]] = []
    failed: list[str] = []
    for name in sorted(ws.enabled_plugins):
        try:
            results = await kernel.plugins.call(
                "scrm_member_panels", only=[name], workspace=ws, member=data, access=access, kernel=kernel
            )
        except Exception:
            log.exception("plugin %s: scrm_member_panels failed for member %s in %s", name, member.id, ws.slug)
            failed.append(name)
            continue
        for result in results:
            for panel in result if isinstance(result, list | tuple) else [result]:
                if isinstance(panel, MemberPanel):
                    panels.append((i18n.gettext(panel.title), panel))
                else:
                    log.warning("plugin %s: scrm_member_panels gave %r, not a scrm.MemberPanel", name, panel)
    return panels, failed


def render_member(view: MemberView, status: int | None = None) -> Template:
    return Template("console/member.html", context={"view": view}, status_code=status or view.status)


@get("/members/{member_id:int}", opt={"scope": "members:read"})
async def member_page(
    request: Request[Any, Any, Any], kernel: KernelDep, access: AccessDep, member_id: MemberId
) -> Template:
    return render_member(await view_of(request, kernel, access, member_id))


@get("/members/{member_id:int}/timeline", opt={"scope": "events:read"})
async def member_timeline(
    request: Request[Any, Any, Any], kernel: KernelDep, access: AccessDep, member_id: MemberId
) -> Template:
    """The timeline alone, for htmx (filtering, paging, reloading after a tag change); the whole
    page without it."""
    fragment = wants_fragment(request)
    view = await view_of(request, kernel, access, member_id, full=not fragment)
    if view.erased:
        raise NotFound(i18n.gettext("Member %(id)s was erased: no timeline to show") % {"id": member_id})
    if not fragment:
        return render_member(view)
    await _timeline(request, kernel, access.workspace, view)
    return Template("console/_member_timeline.html", context={"view": view}, status_code=view.status)


@get("/members/{member_id:int}/export", opt={"scope": "members:export"})
async def member_export(kernel: KernelDep, access: AccessDep, member_id: MemberId) -> Response[bytes]:
    """Everything held about the member, plugins' data included, as a JSON download: the answer to
    a data-subject access request."""
    export = await kernel.members.export(access.workspace, member_id)
    return Response(
        msgspec.json.format(msgspec.json.encode(export)),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{access.workspace.slug}-member-{member_id}.json"',
            "Cache-Control": "no-store",
        },
    )


async def _change_tags(
    request: Request[Any, Any, Any], kernel: Kernel, access: Access, member_id: int, *, add: bool
) -> Template | Redirect:
    """Add or remove the form's tag through ``kernel.tags.change`` (a ``tags.changed`` event). htmx
    gets the tags fragment back, with ``HX-Trigger`` so the timeline reloads; a plain form post is
    redirected to the page."""
    form = await request.form()
    try:
        tag = decode(form, TagForm).tag
    except ValidationFailed as exc:
        typed, errors = values(form), _by_field(field_errors(exc), {"tag": _tag_rule()})
        if wants_fragment(request):
            view = await view_of(request, kernel, access, member_id, tag_values=typed, tag_errors=errors, full=False)
            return Template("console/_member_tags.html", context={"view": view}, status_code=exc.status)
        return render_member(
            await view_of(request, kernel, access, member_id, tag_values=typed, tag_errors=errors), exc.status
        )
    await kernel.tags.change(access.workspace, member_id, [tag] if add else [], [] if add else [tag])
    if wants_fragment(request):
        view = await view_of(request, kernel, access, member_id, full=False)
        return Template("console/_member_tags.html", context={"view": view}, headers={"HX-Trigger": TAGS_CHANGED})
    return Redirect(f"{console_of(request).base}/members/{member_id}", status_code=HTTP_303_SEE_OTHER)


@post("/members/{member_id:int}/tags", opt={"scope": "tags:write"})
async def add_tag(
    request: Request[Any, Any, Any], kernel: KernelDep, access: AccessDep, member_id: MemberId
) -> Template | Redirect:
    return await _change_tags(request, kernel, access, member_id, add=True)


@post("/members/{member_id:int}/tags/remove", opt={"scope": "tags:write"})
async def remove_tag(
    request: Request[Any, Any, Any], kernel: KernelDep, access: AccessDep, member_id: MemberId
) -> Template | Redirect:
    return await _change_tags(request, kernel, access, member_id, add=False)


routes = [member_list, member_page, member_timeline, member_export, add_tag, remove_tag]
nav = [NavLink(N_("Members"), "/members", "members:read")]
