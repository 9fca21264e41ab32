"""The channels console pages (``/console/w/{workspace}/channels/…``).

One page shows what goes out: the latest sends with their state and attempts, the refusals the
consent door counted, the providers (secrets never shown: a provider's form takes a new one), the
templates and the quiet hours and caps. A template's page edits it (moderated again on save) and
previews it against a real member of the workspace (an htmx fragment; nothing is sent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import scrm
from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from scrm_channels import api, catalog, messages, rules
from scrm_channels.providers import KINDS
from scrm_channels.schemas import PreviewIn, ProviderIn, RuleIn, TemplateIn, TemplatePatch

READ = {"scope": "channels:read"}
WRITE = {"scope": "channels:write"}
ADMIN = {"scope": "channels:admin"}
SHOWN = 50


def N_(message: str) -> str:
    """Marks English text translated where it is shown."""
    return message


CHANNELS = (("email", N_("Email")), ("sms", N_("SMS")), ("wecom", N_("WeCom")), ("webhook", N_("Webhook")))
PROVIDER_KINDS = (("smtp", N_("Email (SMTP)")), ("sms", N_("SMS")), ("wecom", N_("WeCom")), ("webhook", N_("Webhook")))


def _is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("HX-Request") == "true"


def _go(request: Request[Any, Any, Any], path: str) -> Response[bytes] | Redirect:
    url = f"{request.state.console.base}/channels{path}"
    if _is_htmx(request):
        return Response(b"", status_code=200, headers={"HX-Redirect": url})
    return Redirect(url, status_code=303)


async def _typed(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {k: v.replace("\r\n", "\n") for k, v in scrm.form_values(await request.form()).items()}


def _errors(exc: scrm.Problem) -> dict[str, str]:
    """A problem's errors by the form's field names (``config.host`` is the form's ``host``)."""
    errors: dict[str, str] = {}
    for error in exc.errors or []:
        errors.setdefault(str(error.get("field", "")).split(".")[-1].split("[")[0], str(error.get("message", "")))
    return errors or {"": exc.detail}


def provider_fields() -> list[tuple[Any, list[str]]]:
    """Every provider kind's configuration fields, each name once (SMTP and SMS both take a
    ``sender``), with the kinds that take it: one form serves all kinds, and only the chosen kind's
    fields are sent on."""
    fields: dict[str, tuple[Any, list[str]]] = {}
    for kind, provider in KINDS.items():
        for f in provider.fields:
            fields.setdefault(f.name, (f, []))[1].append(kind)
    return list(fields.values())


async def _overview(kernel: scrm.Kernel, access: scrm.Access, **extra: Any) -> dict[str, Any]:
    ws = access.workspace
    sent = await messages.listing(kernel, ws, None, None, None, SHOWN)
    names = await kernel.members.names(ws, [m.member_id for m in sent.items if m.member_id is not None])
    return {
        "messages": sent.items,
        "names": names,
        "refusals": await messages.refusals(kernel, ws),
        "providers": await catalog.list_providers(kernel, ws),
        "templates": await catalog.list_templates(kernel, ws),
        "rules": await rules.listing(kernel, ws),
        "kinds": PROVIDER_KINDS,
        "fields": provider_fields(),
        "channels": CHANNELS,
        "can_write": access.can("channels:write"),
        "can_admin": access.can("channels:admin"),
        "provider_values": {"kind": "smtp", "port": "587", "security": "starttls"},
        "provider_errors": {},
        "template_values": {"language": "en", "channel": "email"},
        "template_errors": {},
        "purposes": sorted(await kernel.consents.purposes.names(ws)),
        "rule_values": {
            "purpose": "marketing.email",
            "quiet_from": "22:00",
            "quiet_until": "08:00",
            "cap_days": "7",
            "delay": "on",
        },
        "rule_errors": {},
        **extra,
    }


@get("/", opt=READ)
async def overview(kernel: scrm.KernelDep, access: scrm.AccessDep) -> Template:
    return Template("channels/channels.html", context=await _overview(kernel, access))


@post("/providers", opt=ADMIN)
async def add_provider(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep
) -> Template | Redirect | Response[bytes]:
    """A provider from the form: only the chosen kind's fields go into its config."""
    typed = await _typed(request)
    kind = typed.get("kind", "smtp")
    fields = KINDS[kind].fields if kind in KINDS else ()
    try:
        data = scrm.convert_form(
            {
                "name": typed.get("name", ""),
                "kind": kind,
                "config": {f.name: typed[f.name] for f in fields if typed.get(f.name)},
                "secret": typed.get("secret", ""),
                **({"rate_per_minute": typed["rate_per_minute"]} if typed.get("rate_per_minute") else {}),
            },
            ProviderIn,
        )
        await catalog.create_provider(kernel, access.workspace, data)
    except scrm.Problem as exc:
        typed.pop("secret", None)  # never echoed back
        context = await _overview(kernel, access, provider_values=typed, provider_errors=_errors(exc))
        return Template("channels/channels.html", context=context, status_code=scrm.form_status(exc))
    return _go(request, "/")


@post("/templates", opt=WRITE)
async def add_template(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep
) -> Template | Redirect | Response[bytes]:
    typed = await _typed(request)
    try:
        created = await catalog.create_template(kernel, access.workspace, scrm.convert_form(typed, TemplateIn))
    except scrm.Problem as exc:
        context = await _overview(kernel, access, template_values=typed, template_errors=_errors(exc))
        return Template("channels/channels.html", context=context, status_code=scrm.form_status(exc))
    return _go(request, f"/templates/{created.id}")


@post("/rules", opt=ADMIN)
async def save_rule(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep
) -> Template | Redirect | Response[bytes]:
    """Set a purpose's quiet hours and cap (replacing its rule); blank fields mean none."""
    typed = await _typed(request)
    try:
        fields = {k: typed[k] for k in ("quiet_from", "quiet_until", "cap", "cap_days") if typed.get(k)}
        data = scrm.convert_form({**fields, "delay": typed.get("delay") == "on"}, RuleIn)
        await rules.put(kernel, access.workspace, typed.get("purpose", ""), data)
    except scrm.Problem as exc:
        context = await _overview(kernel, access, rule_values=typed, rule_errors=_errors(exc))
        return Template("channels/channels.html", context=context, status_code=scrm.form_status(exc))
    return _go(request, "/")


async def _template_page(
    kernel: scrm.Kernel, access: scrm.Access, template_id: int, values: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    found = await catalog.get_template(kernel, access.workspace, template_id)
    return {
        "template": found,
        "values": values or {"subject": found.subject, "body": found.body},
        "errors": {},
        "can_write": access.can("channels:write"),
        "preview": None,
        "preview_values": {},
        "preview_errors": {},
        **extra,
    }


@get("/templates/{template_id:int}", opt=READ)
async def template_page(kernel: scrm.KernelDep, access: scrm.AccessDep, template_id: scrm.PathId) -> Template:
    return Template("channels/template.html", context=await _template_page(kernel, access, template_id))


@post("/templates/{template_id:int}", opt=WRITE)
async def save_template(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, template_id: scrm.PathId
) -> Template | Redirect | Response[bytes]:
    typed = await _typed(request)
    try:
        data = scrm.convert_form({"subject": typed.get("subject", ""), "body": typed.get("body", "")}, TemplatePatch)
        await catalog.update_template(kernel, access.workspace, template_id, data)
    except scrm.Problem as exc:
        context = await _template_page(kernel, access, template_id, typed, errors=_errors(exc))
        return Template("channels/template.html", context=context, status_code=scrm.form_status(exc))
    return _go(request, f"/templates/{template_id}")


@post("/templates/{template_id:int}/preview", opt=READ)
async def preview(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, template_id: scrm.PathId
) -> Template:
    """The template rendered for a member (by id): a fragment under the form; nothing is sent."""
    typed = await _typed(request)
    context: dict[str, Any] = {
        "template_id": template_id,
        "preview_values": typed,
        "preview": None,
        "preview_errors": {},
    }
    try:
        data = scrm.convert_form({"member_id": typed.get("member_id", "")}, PreviewIn)
        context["preview"] = await api.preview(kernel, access.workspace, template_id, data)
    except scrm.Problem as exc:
        context["preview_errors"] = _errors(exc)
    name = "channels/_preview.html" if _is_htmx(request) else "channels/template.html"
    if not _is_htmx(request):
        context = await _template_page(kernel, access, template_id, **context)
    return Template(name, context=context)


def console_pages() -> scrm.ConsolePages:
    here = Path(__file__).parent
    return scrm.ConsolePages(
        routes=[overview, add_provider, add_template, save_rule, template_page, save_template, preview],
        nav=[scrm.NavLink(N_("Channels"), "/", "channels:read")],
        templates=here / "templates",
        translations=here / "translations",
    )
