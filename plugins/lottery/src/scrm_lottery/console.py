"""The lottery's console pages (``/console/w/{workspace}/lottery/…``) and member panel.

Operators list campaigns, create and edit them, open, close and cancel them, watch the entry count
live (htmx polls a small fragment), draw with a confirmation, and read the published result with the
frozen entry list to download and check. Every form is turned into the API's own types and goes
through the same functions as the API, so the console refuses exactly what the API refuses, and the
error comes back next to its field (422). Every page works without JavaScript: buttons are forms that
post and redirect, and the draw's confirmation is a page of its own; with htmx the draw asks in a
dialog and a form's errors are swapped in place.

Prizes are typed one per line, ``name | quantity | value`` (a draw) or ``name | stock | odds | value``
(instant win, odds as ``0.05`` or ``5%``); ticket rules as ``live.comment:2, order.paid:5``; tags as
comma lists; a public randomness source as its description and, for drand, the round. Times are
``datetime-local`` fields, read in the workspace's time zone.
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

from scrm_lottery import activity, campaigns, draws, entries, members, spins, winners
from scrm_lottery.campaigns import Campaign
from scrm_lottery.schemas import DEFAULT_MAX_TICKETS, DEFAULT_NOTIFY_PURPOSE, CampaignIn, CampaignPatch, DrawIn

READ = {"scope": "lottery:read"}
WRITE = {"scope": "lottery:write"}
ADMIN = {"scope": "lottery:admin"}
PER_PAGE = 50
RECENT_WINS = 20
WINNERS_SHOWN = 500  # a draw may award 100,000 prizes: the page shows the first ranks, the export all
POLL_SECONDS = 5
NEW_WINDOW = timedelta(days=7)
_json = msgspec.json.Encoder()


def N_(message: str) -> str:
    """Marks English text translated where it is shown (navigation, states, modes)."""
    return message


#: a campaign's states, as the pages show them (translated there)
STATES = (N_("draft"), N_("open"), N_("closed"), N_("drawn"), N_("cancelled"))

#: why the consent door says no (``kernel.consents.decide``), translated on the results page
REFUSALS = (
    N_("no consent recorded"),
    N_("consent withdrawn"),
    N_("the member is blocked"),
    N_("the member is erased"),
    N_("a plugin's check failed"),
)

#: the form's fields, in the API's names
FIELDS = (
    "name",
    "description",
    "mode",
    "entry_mode",
    "opens_at",
    "closes_at",
    "tags_required",
    "tags_excluded",
    "consent_purpose",
    "points_cost",
    "notify_purpose",
    "prizes",
    "ticket_rules",
    "max_tickets",
    "spin_limit",
    "daily_spin_limit",
    "public_source",
)
#: what a field left blank means (the API's default); the other fields are required
BLANK: Mapping[str, Any] = {
    "description": "",
    "tags_required": [],
    "tags_excluded": [],
    "consent_purpose": None,
    "points_cost": 0,
    "notify_purpose": DEFAULT_NOTIFY_PURPOSE,
    "ticket_rules": [],
    "max_tickets": DEFAULT_MAX_TICKETS,
    "spin_limit": None,
    "daily_spin_limit": None,
    "public_source": None,
}


def _base(request: Request[Any, Any, Any]) -> str:
    return f"{request.state.console.base}/lottery"


def _is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("HX-Request") == "true"


def _go(request: Request[Any, Any, Any], path: str) -> Response[bytes] | Redirect:
    """After a change, to ``path`` under these pages: a redirect (POST-redirect-GET), or for htmx a
    full load of that page (``HX-Redirect``), since the change alters more than one section."""
    url = f"{_base(request)}{path}"
    if _is_htmx(request):
        return Response(b"", status_code=200, headers={"HX-Redirect": url})
    return Redirect(url, status_code=303)


# --- the form's text formats ----------------------------------------------------------------------


def _number(text: str, kind: type[int] | type[float], field: str, what: str) -> None:
    try:
        kind(text)
    except ValueError:
        raise scrm.invalid(field, what) from None


def parse_prizes(text: str, mode: str) -> list[dict[str, str]]:
    """One prize per line: ``name | quantity | value`` (value optional) for a draw, ``name | stock |
    odds | value`` for instant win, odds as a fraction or a percentage. The numbers' bounds are the
    API's to check; this names the line whose shape is wrong."""
    columns = ("name", "quantity", "odds", "value") if mode == "instant" else ("name", "quantity", "value")
    shape = "name | stock | odds | value" if mode == "instant" else "name | quantity | value"
    prizes = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        cells = [cell.strip() for cell in line.split("|")]
        if not 2 <= len(cells) <= len(columns):
            raise scrm.invalid("prizes", f"line {number}: write {shape}")
        prize = {name: cell for name, cell in zip(columns, cells, strict=False) if cell}
        _number(prize.get("quantity", "x"), int, "prizes", f"line {number}: the quantity is a whole number")
        _number(prize.get("value", "0"), int, "prizes", f"line {number}: the value is a whole number (in cents)")
        odds = prize.get("odds")
        if odds is not None:
            percent = odds.endswith("%")
            _number(odds.rstrip("%"), float, "prizes", f"line {number}: the odds are a number such as 0.05 or 5%")
            prize["odds"] = repr(float(odds.rstrip("%")) / 100) if percent else odds
        prizes.append(prize)
    return prizes


def show_prizes(campaign: Campaign) -> str:
    """The inverse of :func:`parse_prizes`, to edit a campaign's prizes."""
    if campaign.mode == "instant":
        return "\n".join(f"{p.name} | {p.quantity} | {p.odds:g} | {p.value}" for p in campaign.prizes)
    return "\n".join(f"{p.name} | {p.quantity} | {p.value}" for p in campaign.prizes)


def parse_ticket_rules(text: str) -> list[dict[str, str]]:
    """``live.comment:2, order.paid:5`` → ticket rules (each such event gives that many tickets)."""
    rules = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        event_type, colon, tickets = item.rpartition(":")
        if not colon or not event_type.strip():
            raise scrm.invalid("ticket_rules", "write event_type:tickets pairs such as live.comment:2")
        rules.append({"event_type": event_type.strip(), "tickets": tickets.strip()})
    return rules


def _local(value: str, zone: str) -> str:
    """A ``datetime-local`` value (no offset) read in the workspace's time zone, as RFC 3339."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return value  # the API's decoder names the field
    return (at if at.tzinfo else at.replace(tzinfo=ZoneInfo(zone))).isoformat()


def _field_text(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def campaign_data(typed: Mapping[str, str], zone: str) -> dict[str, Any]:
    """The form's fields as the API's body (a blank field means the API's default)."""
    mode = typed.get("mode", "draw")
    data: dict[str, Any] = {}
    for name in FIELDS:
        text = typed.get(name, "")
        if not text and name in BLANK:
            data[name] = BLANK[name]
        elif name in ("opens_at", "closes_at"):
            data[name] = _local(text, zone)
        elif name in ("tags_required", "tags_excluded"):
            data[name] = [tag.strip() for tag in text.split(",") if tag.strip()]
        elif name == "prizes":
            data[name] = parse_prizes(text, mode)
        elif name == "ticket_rules":
            data[name] = parse_ticket_rules(text)
        elif name == "public_source":
            data[name] = {"description": text, "drand_round": typed.get("drand_round") or None}
        else:
            data[name] = text
    return data


def form_of(campaign: Campaign, zone: str) -> dict[str, str]:
    """The edit form's fields for ``campaign`` (the inverse of :func:`campaign_data`)."""
    return {
        "name": campaign.name,
        "description": campaign.description,
        "mode": campaign.mode,
        "entry_mode": campaign.entry_mode,
        "opens_at": _field_text(campaign.opens_at, zone),
        "closes_at": _field_text(campaign.closes_at, zone),
        "tags_required": ", ".join(campaign.tags_required),
        "tags_excluded": ", ".join(campaign.tags_excluded),
        "consent_purpose": campaign.consent_purpose or "",
        "points_cost": str(campaign.points_cost) if campaign.points_cost else "",
        "notify_purpose": campaign.notify_purpose,
        "prizes": show_prizes(campaign),
        "ticket_rules": ", ".join(f"{r.event_type}:{r.tickets}" for r in campaign.ticket_rules),
        "max_tickets": str(campaign.max_tickets) if campaign.entry_mode == "tickets" else "",
        "spin_limit": "" if campaign.spin_limit is None else str(campaign.spin_limit),
        "daily_spin_limit": "" if campaign.daily_spin_limit is None else str(campaign.daily_spin_limit),
        "public_source": campaign.public_source.description if campaign.public_source else "",
        "drand_round": str(campaign.public_source.drand_round or "") if campaign.public_source else "",
    }


def _typed(form: Mapping[str, Any]) -> dict[str, str]:
    """The submitted fields, with a textarea's line breaks as one ``\\n``."""
    return {k: v.replace("\r\n", "\n") for k, v in scrm.form_values(form).items()}


# --- the campaign list ------------------------------------------------------------------------------


@get("/campaigns", opt=READ)
async def campaign_list(kernel: scrm.KernelDep, access: scrm.AccessDep, cursor: scrm.Cursor = None) -> Template:
    ws = access.workspace
    page = await campaigns.listing(kernel, ws, None, cursor, PER_PAGE)
    draw_ids = [c.id for c in page.items if c.mode == "draw"]
    wheel_ids = [c.id for c in page.items if c.mode == "instant"]
    entered = await entries.counts(kernel, ws, draw_ids)
    spun = await spins.tally(kernel, ws, wheel_ids)
    counts = {i: entered.get(i, 0) for i in draw_ids} | {i: spun.get(i, (0, 0))[0] for i in wheel_ids}
    context = {
        "campaigns": page.items,
        "counts": counts,
        "next_cursor": page.next_cursor,
        "can_write": access.can("lottery:write"),
    }
    return Template("lottery/campaigns.html", context=context)


# --- creating and editing -----------------------------------------------------------------------------


def _form(
    request: Request[Any, Any, Any],
    access: scrm.Access,
    typed: Mapping[str, str],
    errors: Mapping[str, str],
    *,
    campaign: Campaign | None = None,
    status: int = 200,
) -> Template:
    """The campaign form (the form alone for htmx), for a new campaign or ``campaign``."""
    name = "lottery/_form.html" if _is_htmx(request) else "lottery/form.html"
    context = {"campaign": campaign, "values": typed, "errors": errors, "zone": access.workspace.time_zone}
    context |= _locks(campaign)
    return Template(name, context=context, status_code=status)


def _locks(campaign: Campaign | None) -> dict[str, Any]:
    """The fields the campaign's state no longer lets change (``locked``), shown read-only with the
    reason (from ``locked_state``) instead of being refused after the save; a draft locks nothing."""
    allowed = campaigns.changeable(campaign.state) if campaign else None
    if campaign is None or allowed is None:
        return {"locked": frozenset(), "locked_state": ""}
    locked = {*FIELDS, "drand_round"} - allowed
    if "public_source" in allowed:
        locked.discard("drand_round")
    return {"locked": frozenset(locked), "locked_state": campaign.state}


@get("/campaigns/new", opt=WRITE)
async def new_campaign(request: Request[Any, Any, Any], access: scrm.AccessDep) -> Template:
    zone = access.workspace.time_zone
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    typed = {
        "mode": "draw",
        "entry_mode": "single",
        "opens_at": _field_text(start, zone),
        "closes_at": _field_text(start + NEW_WINDOW, zone),
        "notify_purpose": DEFAULT_NOTIFY_PURPOSE,
    }
    return _form(request, access, typed, {})


@post("/campaigns", opt=WRITE)
async def create_campaign(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep
) -> Template | Redirect | Response[bytes]:
    typed = _typed(await request.form())
    ws = access.workspace
    try:
        data = scrm.convert_form(campaign_data(typed, ws.time_zone), CampaignIn)
        created = await campaigns.create(kernel, ws, data)
    except scrm.Problem as exc:
        return _form(request, access, typed, scrm.form_errors(exc), status=scrm.form_status(exc))
    return _go(request, f"/campaigns/{created.id}")


@get("/campaigns/{campaign_id:int}/edit", opt=WRITE)
async def edit_campaign(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, campaign_id: scrm.PathId
) -> Template:
    campaign = await campaigns.get(kernel, access.workspace, campaign_id)
    return _form(request, access, form_of(campaign, access.workspace.time_zone), {}, campaign=campaign)


@post("/campaigns/{campaign_id:int}", opt=WRITE)
async def update_campaign(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, campaign_id: scrm.PathId
) -> Template | Redirect | Response[bytes]:
    """Send the API only the fields that changed, so that an open campaign's locked fields, shown
    unchanged on the form, are not taken for changes; a change the API refuses (a locked field) comes
    back next to its field."""
    ws = access.workspace
    campaign = await campaigns.get(kernel, ws, campaign_id)
    shown = form_of(campaign, ws.time_zone)
    typed = shown | _typed(await request.form())  # a locked select is disabled: not sent, unchanged
    try:
        before = campaign_data(shown, ws.time_zone)
        after = campaign_data(typed, ws.time_zone)
        changed = {k: after[k] for k in FIELDS if k in typed and after[k] != before[k]}
        if changed:
            await campaigns.update(kernel, ws, campaign_id, scrm.convert_form(changed, CampaignPatch))
    except scrm.Problem as exc:
        if exc.status == 404:
            raise
        errors = scrm.form_errors(exc)
        return _form(request, access, typed, errors, campaign=campaign, status=scrm.form_status(exc))
    return _go(request, f"/campaigns/{campaign_id}")


@post("/campaigns/{campaign_id:int}/delete", opt=WRITE)
async def delete_campaign(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, campaign_id: scrm.PathId
) -> Redirect | Response[bytes]:
    await campaigns.delete(kernel, access.workspace, campaign_id)
    return _go(request, "/campaigns")


# --- a campaign's page, its live count and its state changes --------------------------------------------


async def _counts(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign: Campaign) -> dict[str, int]:
    """What the live count shows: entries and tickets of a draw, spins and wins of a wheel."""
    if campaign.mode == "instant":
        spun, won = (await spins.tally(kernel, ws, [campaign.id])).get(campaign.id, (0, 0))
        return {"spins": spun, "wins": won}
    counted = await entries.count(kernel, ws, campaign.id)
    return {"entries": counted.entries, "tickets": counted.tickets}


async def _names(kernel: scrm.Kernel, access: scrm.Access, ids: list[int]) -> dict[int, str]:
    """Members' names (one query), when the operator may read members (else they show by id)."""
    if not access.can("members:read"):
        return {}
    return await kernel.members.names(access.workspace, ids)


@get("/campaigns/{campaign_id:int}", opt=READ)
async def campaign_page(kernel: scrm.KernelDep, access: scrm.AccessDep, campaign_id: scrm.PathId) -> Template:
    ws = access.workspace
    campaign = await campaigns.get(kernel, ws, campaign_id)
    at = datetime.now(UTC)
    recent = await winners.recent(kernel, ws, campaign, RECENT_WINS) if campaign.mode == "instant" else []
    context = {
        "campaign": campaign.out(at),
        "counts": await _counts(kernel, ws, campaign),
        "poll": POLL_SECONDS,
        "recent": recent,
        "names": await _names(kernel, access, [w.member_id for w in recent]),
        "drawable": campaign.mode == "draw"
        and (campaign.state == "closed" or (campaign.state == "open" and campaign.closes_at <= at)),
        "can_write": access.can("lottery:write"),
        "can_admin": access.can("lottery:admin"),
        **await _charts(kernel, ws, campaign),
    }
    return Template("lottery/campaign.html", context=context)


async def _charts(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign: Campaign) -> dict[str, Any]:
    """The campaign page's charts: entries per day (a draw); spins and wins per day and the stock
    left of each prize in % (a wheel)."""
    days = await activity.per_day(kernel, ws, campaign.id, campaign.mode)
    if campaign.mode != "instant":
        return {"activity": [(f"{d:%m-%d}", n) for d, n, _ in days]}
    return {
        "activity": [(f"{d:%m-%d}", n, won) for d, n, won in days],
        "stock_left": [(p.name, 100 * (p.stock or 0) / p.quantity if p.quantity else 0.0) for p in campaign.prizes],
    }


@get("/campaigns/{campaign_id:int}/count", opt=READ)
async def live_count(kernel: scrm.KernelDep, access: scrm.AccessDep, campaign_id: scrm.PathId) -> Template:
    """The entry count alone (the fragment the campaign page polls while the campaign is open)."""
    campaign = await campaigns.get(kernel, access.workspace, campaign_id)
    counts = await _counts(kernel, access.workspace, campaign)
    return Template("lottery/_count.html", context={"campaign": campaign.out(), "counts": counts, "poll": POLL_SECONDS})


@post("/campaigns/{campaign_id:int}/open", opt=ADMIN)
async def open_campaign(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, campaign_id: scrm.PathId
) -> Redirect | Response[bytes]:
    await campaigns.open_campaign(kernel, access.workspace, campaign_id)
    return _go(request, f"/campaigns/{campaign_id}")


@post("/campaigns/{campaign_id:int}/close", opt=ADMIN)
async def close_campaign(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, campaign_id: scrm.PathId
) -> Redirect | Response[bytes]:
    await campaigns.transition(kernel, access.workspace, campaign_id, "closed", ("open",))
    return _go(request, f"/campaigns/{campaign_id}")


@post("/campaigns/{campaign_id:int}/cancel", opt=ADMIN)
async def cancel_campaign(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, campaign_id: scrm.PathId
) -> Redirect | Response[bytes]:
    await campaigns.transition(kernel, access.workspace, campaign_id, "cancelled", ("draft", "open", "closed"))
    return _go(request, f"/campaigns/{campaign_id}")


# --- the draw and its result ------------------------------------------------------------------------------


async def _draw_page(
    kernel: scrm.Kernel, access: scrm.Access, campaign_id: int, typed: Mapping[str, str], errors: Mapping[str, str]
) -> Template:
    """The draw's confirmation, with the field for the public source's value when the campaign has one."""
    campaign = await campaigns.get(kernel, access.workspace, campaign_id)
    context = {
        "campaign": campaign.out(),
        "counts": await _counts(kernel, access.workspace, campaign),
        "values": typed,
        "errors": errors,
    }
    return Template("lottery/draw.html", context=context, status_code=422 if errors else 200)


@get("/campaigns/{campaign_id:int}/draw", opt=ADMIN)
async def confirm_draw(kernel: scrm.KernelDep, access: scrm.AccessDep, campaign_id: scrm.PathId) -> Template:
    """The draw's confirmation without JavaScript (with htmx the button asks in a dialog, unless the
    draw needs a public value: then this page asks for it)."""
    return await _draw_page(kernel, access, campaign_id, {}, {})


@post("/campaigns/{campaign_id:int}/draw", opt=ADMIN)
async def draw(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, campaign_id: scrm.PathId
) -> Template | Redirect | Response[bytes]:
    """Draw; a public value the draw refuses comes back next to its field."""
    typed = _typed(await request.form())
    try:
        data = scrm.convert_form({"public_value": typed.get("public_value") or None}, DrawIn)
        await draws.draw(kernel, access.workspace, campaign_id, data.public_value)
    except scrm.ValidationFailed as exc:
        return await _draw_page(kernel, access, campaign_id, typed, scrm.form_errors(exc))
    return _go(request, f"/campaigns/{campaign_id}/results")


@get("/campaigns/{campaign_id:int}/results", opt=READ)
async def results_page(kernel: scrm.KernelDep, access: scrm.AccessDep, campaign_id: scrm.PathId) -> Template:
    """The published draw and its winners, each with what the consent door answers now for the
    campaign's ``notify_purpose`` (a compliance statement: never a claim the door would not make);
    the notify button counts only the winners reachable now and not yet notified."""
    ws = access.workspace
    campaign = await campaigns.get(kernel, ws, campaign_id)
    result = await draws.result(kernel, ws, campaign_id)
    shown = result.winners[:WINNERS_SHOWN]
    now = await winners.reachable_now(kernel, ws, campaign.notify_purpose, [w.member_id for w in shown])
    unreachable = [w for w in shown if not now[w.member_id].allowed]
    context = {
        "campaign": campaign.out(),
        "result": result,
        "winners": shown,
        "now": now,
        "unreachable": unreachable,
        "reachable": len(shown) - len(unreachable),
        "more": len(result.winners) - len(shown),
        "names": await _names(kernel, access, [w.member_id for w in shown]),
        "waiting": sum(w.notified_at is None and now[w.member_id].allowed for w in shown),
        "can_admin": access.can("lottery:admin"),
    }
    return Template("lottery/results.html", context=context)


@get("/campaigns/{campaign_id:int}/export", opt=READ)
async def export(kernel: scrm.KernelDep, access: scrm.AccessDep, campaign_id: scrm.PathId) -> Response[bytes]:
    """The frozen entry list as the API exports it, as a file to download and verify."""
    bundle = await draws.bundle(kernel, access.workspace, campaign_id)
    disposition = f'attachment; filename="lottery-{campaign_id}.json"'
    return Response(_json.encode(bundle), media_type="application/json", headers={"Content-Disposition": disposition})


@post("/campaigns/{campaign_id:int}/notify", opt=ADMIN)
async def notify(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, campaign_id: scrm.PathId
) -> Redirect | Response[bytes]:
    """Ask the consent door again about the winners not yet notified (after a consent was granted)."""
    ws = access.workspace
    await winners.notify(kernel, ws, await campaigns.load(kernel, ws, campaign_id))
    return _go(request, f"/campaigns/{campaign_id}/results")


# --- the hooks ------------------------------------------------------------------------------------------


def console_pages() -> scrm.ConsolePages:
    here = Path(__file__).parent
    return scrm.ConsolePages(
        routes=[
            campaign_list,
            new_campaign,
            create_campaign,
            edit_campaign,
            update_campaign,
            delete_campaign,
            campaign_page,
            live_count,
            open_campaign,
            close_campaign,
            cancel_campaign,
            confirm_draw,
            draw,
            results_page,
            export,
            notify,
        ],
        nav=[scrm.NavLink(N_("Lotteries"), "/campaigns", "lottery:read")],
        templates=here / "templates",
        translations=here / "translations",
    )


async def member_panels(member: dict[str, Any], access: scrm.Access, kernel: scrm.Kernel) -> list[scrm.MemberPanel]:
    """The member page's lottery panel: the member's entries and wins."""
    if not access.can("lottery:read") or member["status"] == "erased":
        return []
    context = await members.panel(kernel, access.workspace, member["id"])
    return [scrm.MemberPanel(title=N_("Lotteries"), template="lottery/_panel.html", context=context)]
