"""The points plugin's console pages (``/console/w/{workspace}/points/…``) and member panel.

Operators read rules, rewards, the leaderboard and the settings, and those holding ``points:admin``
change them; every form decodes into the API's own types and goes through :class:`PointsService`, so
the console validates exactly as the API does and errors come back next to their field (422). Forms
work without JavaScript (POST, then a redirect); with htmx the changed section is swapped in place.

The short text formats of the forms (conditions ``channel=app, amount>=100``, streak bonuses
``7:50, 30:300``, tiers ``silver:1000, gold:5000``) are parsed here into the API's JSON shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec
import scrm
from litestar import Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from scrm_points import flows
from scrm_points.config import PointsSettings
from scrm_points.schemas import AdjustmentIn, RewardIn, RewardPatch, RuleIn, RulePatch
from scrm_points.service import PointsService

READ = {"scope": "points:read"}
ADMIN = {"scope": "points:admin"}
Board = Annotated[Literal["balance", "lifetime", "earned"], QueryParameter(name="by")]
Saved = Annotated[bool, QueryParameter(name="saved")]
HISTORY_ON_PANEL = 10


def N_(message: str) -> str:
    """Marks English text translated where it is shown (navigation titles)."""
    return message


#: the kinds of transactions, as the panel shows them (translated there)
KINDS = (N_("award"), N_("redeem"), N_("expire"), N_("adjust"), N_("reverse"))


def _service(kernel: scrm.Kernel) -> PointsService:
    service: PointsService = kernel.service("points")
    return service


def _base(request: Request[Any, Any, Any]) -> str:
    """The URL prefix of these pages in the current workspace."""
    return f"{request.state.console.base}/points"


def _is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("HX-Request") == "true"


def _after(request: Request[Any, Any, Any], render: Template, path: str) -> Template | Redirect:
    """After a change: the changed section for htmx, else back to the page (POST-redirect-GET)."""
    if _is_htmx(request):
        return render
    return Redirect(f"{_base(request)}{path}", status_code=303)


# --- the short text formats of the forms -----------------------------------------------------------


def _scalar(text: str) -> str | int | float | bool:
    """A condition's value as typed: true/false, an integer, a number, else the text itself."""
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_conditions(text: str) -> dict[str, Any]:
    """``channel=app, amount>=100`` → ``{"channel": "app", "amount": {"min": 100}}``."""
    conditions: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        if ">=" in item:
            name, value = (s.strip() for s in item.split(">=", 1))
            try:
                conditions[name] = {"min": float(value)}
            except ValueError:
                raise scrm.invalid("conditions", "a minimum must be a number") from None
        elif "=" in item:
            name, value = (s.strip() for s in item.split("=", 1))
            conditions[name] = _scalar(value)
        else:
            raise scrm.invalid("conditions", "write name=value or name>=number")
    return conditions


def show_conditions(conditions: Mapping[str, Any]) -> str:
    """The inverse of :func:`parse_conditions`, for showing a rule."""
    shown = []
    for name, value in conditions.items():
        minimum = getattr(value, "min", None)
        if minimum is not None:
            shown.append(f"{name}>={minimum:g}")
        else:
            shown.append(f"{name}={_scalar_text(value)}")
    return ", ".join(shown)


def _scalar_text(value: Any) -> str:
    """A condition's value as the form writes it: ``true``, ``12`` (numbers are floats), ``app``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _pairs(text: str, field: str) -> list[tuple[str, str]]:
    """``a:1, b:2`` → ``[("a", "1"), ("b", "2")]``; an item without a colon names the field at fault."""
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, colon, value = item.partition(":")
        if not colon:
            raise scrm.invalid(field, "write pairs like 7:50, 30:300")
        pairs.append((key.strip(), value.strip()))
    return pairs


def _local(value: str, zone: str) -> str:
    """A ``datetime-local`` field's value (no offset) read in the workspace's time zone, as RFC 3339."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return value  # the decoder names the field
    return (at if at.tzinfo else at.replace(tzinfo=ZoneInfo(zone))).isoformat()


# --- rules ---------------------------------------------------------------------------------------


@get("/rules", opt=READ)
async def rules_page(request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep) -> Template:
    return await _rules(request, kernel, access)


async def _rules(
    request: Request[Any, Any, Any],
    kernel: scrm.Kernel,
    access: scrm.Access,
    *,
    typed: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    created: str = "",
    status: int = 200,
) -> Template:
    listed = await _service(kernel).rules(access.workspace, limit=scrm.MAX_LIMIT)
    name = "points/_rules.html" if _is_htmx(request) else "points/rules.html"
    context = {
        "rules": listed.items,
        "more": listed.next_cursor is not None,
        "show_conditions": show_conditions,
        "can_admin": access.can("points:admin"),
        "values": typed or {"points": "10", "active": "on"},
        "errors": errors or {},
        "created": created,
    }
    return Template(name, context=context, status_code=status)


@post("/rules", opt=ADMIN)
async def create_rule(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep
) -> Template | Redirect:
    typed = scrm.form_values(await request.form())
    ws = access.workspace
    try:
        data: dict[str, Any] = {k: v for k, v in typed.items() if v and k != "conditions"}
        data |= {k: _local(data[k], ws.time_zone) for k in ("starts_at", "ends_at") if k in data}
        data["conditions"] = parse_conditions(typed.get("conditions", ""))
        data["active"] = "active" in typed
        created = await _service(kernel).create_rule(ws, scrm.convert_form(data, RuleIn))
    except scrm.Problem as exc:
        errors = scrm.form_errors(exc)
        return await _rules(request, kernel, access, typed=typed, errors=errors, status=scrm.form_status(exc))
    return _after(request, await _rules(request, kernel, access, created=created.name), "/rules")


@post("/rules/{rule_id:int}/active", opt=ADMIN)
async def toggle_rule(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, rule_id: scrm.PathId
) -> Template | Redirect:
    service = _service(kernel)
    rule = await service.rule(access.workspace, rule_id)
    await service.update_rule(access.workspace, rule_id, RulePatch(active=not rule.active))
    return _after(request, await _rules(request, kernel, access), "/rules")


@post("/rules/{rule_id:int}/delete", opt=ADMIN)
async def delete_rule(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, rule_id: scrm.PathId
) -> Template | Redirect:
    await _service(kernel).delete_rule(access.workspace, rule_id)
    return _after(request, await _rules(request, kernel, access), "/rules")


# --- rewards -------------------------------------------------------------------------------------


@get("/rewards", opt=READ)
async def rewards_page(request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep) -> Template:
    return await _rewards(request, kernel, access)


async def _rewards(
    request: Request[Any, Any, Any],
    kernel: scrm.Kernel,
    access: scrm.Access,
    *,
    typed: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    editing: int | None = None,
    status: int = 200,
) -> Template:
    service = _service(kernel)
    listed = await service.rewards(access.workspace, limit=scrm.MAX_LIMIT)
    redemptions = await service.redemptions(access.workspace, limit=20)
    name = "points/_rewards.html" if _is_htmx(request) else "points/rewards.html"
    context = {
        "rewards": listed.items,
        "redemptions": redemptions.items,
        "names": await _names(kernel, access, [r.member_id for r in redemptions.items]),
        "flows": [(f"{f.day:%m-%d}", f.issued, f.redeemed) for f in await flows.per_day(kernel, access.workspace)],
        "can_admin": access.can("points:admin"),
        "values": typed or {},
        "errors": errors or {},
        "editing": editing,
    }
    return Template(name, context=context, status_code=status)


@post("/rewards", opt=ADMIN)
async def create_reward(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep
) -> Template | Redirect:
    form = await request.form()
    try:
        await _service(kernel).create_reward(access.workspace, scrm.decode_form(form, RewardIn))
    except scrm.Problem as exc:
        typed = scrm.form_values(form)
        return await _rewards(
            request, kernel, access, typed=typed, errors=scrm.form_errors(exc), status=scrm.form_status(exc)
        )
    return _after(request, await _rewards(request, kernel, access), "/rewards")


@post("/rewards/{reward_id:int}", opt=ADMIN)
async def update_reward(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, reward_id: scrm.PathId
) -> Template | Redirect:
    """Change a reward's cost, stock (blank: unlimited) and whether it can be redeemed."""
    form = await request.form()
    typed = scrm.form_values(form)
    try:
        patch = scrm.decode_form({"cost": typed.get("cost", ""), "active": typed.get("active", "false")}, RewardPatch)
        stock = scrm.decode_form({"stock": typed["stock"]}, RewardPatch).stock if typed.get("stock") else None
        await _service(kernel).update_reward(access.workspace, reward_id, msgspec.structs.replace(patch, stock=stock))
    except scrm.Problem as exc:
        if exc.status == 404:
            raise
        errors = scrm.form_errors(exc)
        return await _rewards(
            request, kernel, access, typed=typed, errors=errors, editing=reward_id, status=scrm.form_status(exc)
        )
    return _after(request, await _rewards(request, kernel, access), "/rewards")


# --- leaderboard and settings ----------------------------------------------------------------------


@get("/leaderboard", opt=READ)
async def leaderboard_page(kernel: scrm.KernelDep, access: scrm.AccessDep, by: Board = "balance") -> Template:
    board = await _service(kernel).leaderboard(access.workspace, by=by, limit=50)
    names = await _names(kernel, access, [entry.member_id for entry in board.entries])
    return Template("points/leaderboard.html", context={"board": board, "names": names})


async def _names(kernel: scrm.Kernel, access: scrm.Access, ids: list[int]) -> dict[int, str]:
    """Members' names (one query), when the operator may read members (else they show by id)."""
    if not access.can("members:read"):
        return {}
    return await kernel.members.names(access.workspace, ids)


@get("/settings", opt=READ)
async def settings_page(kernel: scrm.KernelDep, access: scrm.AccessDep, saved: Saved = False) -> Template:
    settings = await _service(kernel).settings(access.workspace)
    return _settings(access, _settings_values(settings), {}, saved=saved)


def _settings_values(settings: PointsSettings) -> dict[str, str]:
    return {
        "expiry_months": str(settings.expiry_months),
        "checkin_points": str(settings.checkin_points),
        "streak_bonuses": ", ".join(f"{days}:{points}" for days, points in sorted(settings.streak_bonuses.items())),
        "tiers": ", ".join(f"{tier.name}:{tier.threshold}" for tier in settings.tiers),
    }


def _settings(
    access: scrm.Access,
    typed: Mapping[str, str],
    errors: Mapping[str, str],
    *,
    saved: bool = False,
    status: int = 200,
) -> Template:
    context = {"values": typed, "errors": errors, "saved": saved}
    context["can_admin"] = access.can("points:admin")
    return Template("points/settings.html", context=context, status_code=status)


@post("/settings", opt=ADMIN)
async def save_settings(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep
) -> Template | Redirect:
    typed = scrm.form_values(await request.form())
    try:
        data: dict[str, Any] = {
            "expiry_months": typed.get("expiry_months") or "0",
            "checkin_points": typed.get("checkin_points") or "0",
            "streak_bonuses": dict(_pairs(typed.get("streak_bonuses", ""), "streak_bonuses")),
            "tiers": [{"name": n, "threshold": t} for n, t in _pairs(typed.get("tiers", ""), "tiers")],
        }
        settings = scrm.convert_form(data, PointsSettings)
        await _service(kernel).put_settings(access.workspace, settings)
    except scrm.Problem as exc:
        return _settings(access, typed, scrm.form_errors(exc), status=scrm.form_status(exc))
    return Redirect(f"{_base(request)}/settings?saved=true", status_code=303)


# --- the member panel and its adjustment form -------------------------------------------------------


@post("/members/{member_id:int}/adjustments", opt=ADMIN)
async def adjust(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, member_id: scrm.PathId
) -> Template | Redirect:
    """Add or take away points by hand, with a reason; answers with the panel (htmx) or goes back to
    the member's page."""
    form = await request.form()
    typed = scrm.form_values(form)
    errors: dict[str, str] = {}
    status = 200
    try:
        data = scrm.decode_form(form, AdjustmentIn)
        await _service(kernel).adjust(access.workspace, member_id, data.amount, data.reason)
        typed = {}
    except scrm.Problem as exc:
        if exc.status == 404:
            raise
        errors, status = scrm.form_errors(exc), scrm.form_status(exc)
        if exc.status == 409:  # not enough points to take away: an error of the amount typed
            errors, status = {"amount": exc.detail}, 422
    if not _is_htmx(request) and not errors:
        return Redirect(f"{request.state.console.base}/members/{member_id}", status_code=303)
    context = await panel_context(kernel, access, member_id)
    context.update(values=typed, errors=errors)
    return Template("points/_panel.html", context={"context": context}, status_code=status)


async def panel_context(kernel: scrm.Kernel, access: scrm.Access, member_id: int) -> dict[str, Any]:
    """What the member panel shows: the account (balance, lifetime, tier, expiring) and the latest
    transactions."""
    service = _service(kernel)
    account = await service.account(access.workspace, member_id)
    history = await service.history(access.workspace, member_id, limit=HISTORY_ON_PANEL)
    return {
        "account": account,
        "history": history.items,
        "can_admin": access.can("points:admin"),
        "values": {},
        "errors": {},
        "member_id": member_id,
    }


def console_pages() -> scrm.ConsolePages:
    here = Path(__file__).parent
    return scrm.ConsolePages(
        routes=[
            rules_page,
            create_rule,
            toggle_rule,
            delete_rule,
            rewards_page,
            create_reward,
            update_reward,
            leaderboard_page,
            settings_page,
            save_settings,
            adjust,
        ],
        nav=[
            scrm.NavLink(N_("Points rules"), "/rules", "points:read"),
            scrm.NavLink(N_("Rewards"), "/rewards", "points:read"),
            scrm.NavLink(N_("Leaderboard"), "/leaderboard", "points:read"),
            scrm.NavLink(N_("Points settings"), "/settings", "points:read"),
        ],
        templates=here / "templates",
        translations=here / "translations",
    )


async def member_panels(member: dict[str, Any], access: scrm.Access, kernel: scrm.Kernel) -> list[scrm.MemberPanel]:
    """The member page's points panel: balance, tier, what expires soon, the latest transactions and,
    for ``points:admin``, a form to adjust."""
    if not access.can("points:read") or member["status"] == "erased":
        return []
    context = await panel_context(kernel, access, member["id"])
    return [scrm.MemberPanel(title=N_("Points"), template="points/_panel.html", context=context)]
