"""The referrals console pages (``/console/w/{workspace}/referrals/…``) and member panel.

* **Campaigns** — the list and the setup form (rewards for both parties and the second level,
  caps, the conversion rule, the fraud thresholds); a campaign's page shows its settings form, the
  **K chart** (K per day over the last 30 days, with its factors), and the **leaderboard**.
* **Review queue** — referrals held for review and those with fraud signals; approve or void.
* **Invite tree** — a member's tree, who invited them, depth and size.
* **Member panel** — the member's codes, who invited them and whom they invited.

Every form goes through the same functions as the API, so the console refuses exactly what the API
refuses, with the error next to the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
import scrm
from litestar import Request, Response, get, post
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template

from scrm_referrals import campaigns, measures, members, referrals, review
from scrm_referrals.campaigns import Campaign
from scrm_referrals.schemas import KFigure, ReferralCampaignIn, ReferralCampaignPatch, ReferralReviewIn, State

READ = {"scope": "referrals:read"}
WRITE = {"scope": "referrals:write"}
ADMIN = {"scope": "referrals:admin"}
PER_PAGE = 50
TOP = 20
CHART_DAYS = 30
Decision = Annotated[str, PathParameter(pattern="^(approve|void)$")]
MemberQuery = Annotated[int | None, QueryParameter(gt=0, le=scrm.MAX_ID, description="The member whose tree to show")]


def N_(message: str) -> str:
    """Marks English text translated where it is shown (navigation, states, roles, signals)."""
    return message


STATES = (N_("active"), N_("ended"), N_("pending"), N_("converted"), N_("held"), N_("void"), N_("paid"), N_("capped"))
SIGNALS = (N_("shared-source"), N_("shared-device"), N_("burst"), N_("inactive"))
ROLES = (N_("inviter"), N_("invitee"), N_("second"))
#: the form's plain fields (the reward rules are ``<role>_points``, ``<role>_tag`` and ``<role>_tickets``)
PLAIN = [name for name in campaigns.SETTINGS if name != "hold_suspicious"]
TIMES = ("starts_at", "ends_at")
NULLABLE = ("starts_at", "ends_at", "daily_cap", "total_cap", "conversion_event", "landing_url")


def _base(request: Request[Any, Any, Any]) -> str:
    return f"{request.state.console.base}/referrals"


def _is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("HX-Request") == "true"


def _go(request: Request[Any, Any, Any], path: str) -> Response[bytes] | Redirect:
    """After a change, to ``path`` under these pages (for htmx a full load, ``HX-Redirect``)."""
    url = f"{_base(request)}{path}"
    if _is_htmx(request):
        return Response(b"", status_code=200, headers={"HX-Redirect": url})
    return Redirect(url, status_code=303)


def form_data(typed: Mapping[str, str], zone: str) -> dict[str, Any]:
    """The setup form as the API's fields: a blank field is the API's default (or null)."""
    data: dict[str, Any] = {}
    for name in PLAIN:
        text = typed.get(name, "")
        if not text:
            if name in NULLABLE:
                data[name] = None
            continue
        if name in TIMES:
            try:
                at = datetime.fromisoformat(text)
            except ValueError:
                data[name] = text  # the decoder names the field
                continue
            text = (at if at.tzinfo else at.replace(tzinfo=ZoneInfo(zone))).isoformat()
        data[name] = text
    for role in campaigns.ROLES:
        rule: dict[str, Any] = {
            "points": typed.get(f"{role}_points") or 0,
            "tickets": typed.get(f"{role}_tickets") or 0,
        }
        if typed.get(f"{role}_tag"):
            rule["tag"] = typed[f"{role}_tag"]
        data[f"{role}_reward"] = rule
    data["lottery_campaign_id"] = typed.get("lottery_campaign_id") or None
    data["hold_suspicious"] = typed.get("hold_suspicious") == "on"
    return data


def form_values(campaign: Campaign, zone: str) -> dict[str, str]:
    """A campaign as the setup form shows it."""
    d = campaign.data
    values: dict[str, str] = {}
    for name in PLAIN:
        value = getattr(d, name)
        if name in TIMES:
            values[name] = value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M") if value else ""
        else:
            values[name] = "" if value is None else str(value)
    for role in campaigns.ROLES:
        rule = campaign.reward(role)
        values[f"{role}_points"] = str(rule.points) if rule.points else ""
        values[f"{role}_tag"] = rule.tag or ""
        values[f"{role}_tickets"] = str(rule.tickets) if rule.tickets else ""
    values["lottery_campaign_id"] = str(d.lottery_campaign_id or "")
    values["hold_suspicious"] = "on" if d.hold_suspicious else ""
    values["state"] = campaign.state
    return values


def _errors(request: Request[Any, Any, Any], exc: scrm.Problem) -> dict[str, str]:
    """A problem's errors on the form's fields: ``inviter_reward.points`` is ``inviter_points``."""
    parts = ("points", "tag", "tickets")
    errors: dict[str, str] = {}
    for error in exc.errors or []:
        field = str(error.get("field", ""))
        for role in campaigns.ROLES:
            if field.startswith(f"{role}_reward"):
                field = f"{role}_{next((p for p in parts if field.endswith(f'.{p}')), 'points')}"
        errors.setdefault(field, str(error.get("message", "")))
    return errors or {"": exc.detail}


async def _typed(request: Request[Any, Any, Any]) -> dict[str, str]:
    return scrm.form_values(await request.form())


# --- campaigns -----------------------------------------------------------------------------------


@get("/", opt=READ)
async def campaign_list(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, cursor: scrm.Cursor = None
) -> Template:
    page = await campaigns.listing(kernel, access.workspace, cursor, PER_PAGE)
    context = {
        "campaigns": page.items,
        "next_cursor": page.next_cursor,
        "can_write": access.can("referrals:write"),
        "values": {
            "levels": "1",
            "conversion_days": "30",
            "source_limit": "3",
            "burst_limit": "20",
            "hold_suspicious": "on",
        },
        "errors": {},
    }
    return Template("referrals/campaigns.html", context=context)


@post("/", opt=WRITE)
async def create_campaign(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep
) -> Template | Redirect | Response[bytes]:
    typed = await _typed(request)
    ws = access.workspace
    try:
        data = scrm.convert_form(form_data(typed, ws.time_zone), ReferralCampaignIn)
        created = await campaigns.create(kernel, ws, data)
    except scrm.Problem as exc:
        context = {"values": typed, "errors": _errors(request, exc), "action": f"{_base(request)}/"}
        return Template("referrals/_form.html", context=context, status_code=scrm.form_status(exc))
    return _go(request, f"/{created.id}")


async def _chart(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int) -> list[KFigure]:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    found = await measures.series(kernel, ws, today - timedelta(days=CHART_DAYS), today, "day", campaign_id)
    return found.points


@get("/{campaign_id:int}", opt=READ)
async def campaign_page(kernel: scrm.KernelDep, access: scrm.AccessDep, campaign_id: scrm.PathId) -> Template:
    ws = access.workspace
    campaign = await campaigns.get(kernel, ws, campaign_id)
    now = datetime.now(UTC)
    context = {
        "campaign": campaign.out(),
        "values": form_values(campaign, ws.time_zone),
        "errors": {},
        "can_write": access.can("referrals:write"),
        "k": await measures.k(kernel, ws, now - timedelta(days=CHART_DAYS), now, campaign_id),
        "chart": await _chart(kernel, ws, campaign_id),
        "top": await measures.top_inviters(kernel, ws, campaign_id, TOP),
        "zone": ws.time_zone,
    }
    return Template("referrals/campaign.html", context=context)


@post("/{campaign_id:int}", opt=WRITE)
async def save_campaign(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, campaign_id: scrm.PathId
) -> Template | Redirect | Response[bytes]:
    typed = await _typed(request)
    ws = access.workspace
    await campaigns.get(kernel, ws, campaign_id)
    try:
        data = scrm.convert_form(form_data(typed, ws.time_zone), ReferralCampaignIn)
        state: State = "ended" if typed.get("state") == "ended" else "active"
        patch = ReferralCampaignPatch(**msgspec.structs.asdict(data), state=state)
        await campaigns.update(kernel, ws, campaign_id, patch)
    except scrm.Problem as exc:
        action = f"{_base(request)}/{campaign_id}"
        context = {"values": typed, "errors": _errors(request, exc), "action": action, "editing": True}
        return Template("referrals/_form.html", context=context, status_code=scrm.form_status(exc))
    return _go(request, f"/{campaign_id}")


# --- review queue --------------------------------------------------------------------------------


@get("/queue", opt=READ)
async def queue(kernel: scrm.KernelDep, access: scrm.AccessDep, cursor: scrm.Cursor = None) -> Template:
    """Held referrals first, then every referral with a fraud signal."""
    ws = access.workspace
    held = await referrals.listing(kernel, ws, state="held", limit=PER_PAGE)
    flagged = await referrals.listing(kernel, ws, flagged=True, cursor=cursor, limit=PER_PAGE)
    shown = [r for r in flagged.items if r.state != "held"]
    ids = [i for r in [*held.items, *shown] for i in (r.inviter_id, r.invitee_id) if i is not None]
    context = {
        "held": held.items,
        "flagged": shown,
        "next_cursor": flagged.next_cursor,
        "names": await kernel.members.names(ws, ids),
        "can_review": access.can("referrals:admin"),
    }
    return Template("referrals/queue.html", context=context)


@post("/referrals/{referral_id:int}/{decision:str}", opt=ADMIN)
async def decide(
    request: Request[Any, Any, Any],
    kernel: scrm.KernelDep,
    access: scrm.AccessDep,
    referral_id: scrm.PathId,
    decision: Decision,
) -> Redirect | Response[bytes]:
    note = (await _typed(request)).get("note", "")[:2000]
    await review.decide(kernel, access.workspace, referral_id, ReferralReviewIn(decision=decision, note=note))  # type: ignore[arg-type]  # the path's pattern
    return _go(request, "/queue")


# --- the invite tree -----------------------------------------------------------------------------


@get("/tree", opt=READ)
async def tree_page(kernel: scrm.KernelDep, access: scrm.AccessDep, member_id: MemberQuery = None) -> Template:
    found = await measures.tree(kernel, access.workspace, member_id) if member_id else None
    return Template("referrals/tree.html", context={"tree": found, "member_id": member_id or ""})


# --- the hooks -----------------------------------------------------------------------------------


def console_pages() -> scrm.ConsolePages:
    here = Path(__file__).parent
    return scrm.ConsolePages(
        routes=[campaign_list, create_campaign, campaign_page, save_campaign, queue, decide, tree_page],
        nav=[scrm.NavLink(N_("Referrals"), "/", "referrals:read")],
        templates=here / "templates",
        translations=here / "translations",
    )


async def member_panels(member: dict[str, Any], access: scrm.Access, kernel: scrm.Kernel) -> list[scrm.MemberPanel]:
    """The member page's referrals panel: their codes, who invited them, whom they invited."""
    if not access.can("referrals:read") or member["status"] == "erased":
        return []
    found = await members.summary(kernel, access.workspace, member["id"], members.PER_PANEL)
    ids = [r["invitee_id"] for r in found["invited"] if r["invitee_id"]]
    if found["invited_by"] and found["invited_by"]["inviter_id"]:
        ids.append(found["invited_by"]["inviter_id"])
    found["names"] = await kernel.members.names(access.workspace, ids)
    found["member_id"] = member["id"]
    return [scrm.MemberPanel(title=N_("Referrals"), template="referrals/_panel.html", context=found)]
