"""The channels REST API, mounted under ``/api/v1/channels``. Scopes: ``channels:read`` to read
providers (never their secrets), templates, messages, rules and refusals; ``channels:write`` to
edit templates and send; ``channels:admin`` to configure providers and rules. The unsubscribe link
takes no key (it is signed)."""

from __future__ import annotations

from typing import Annotated

import scrm
from litestar import Controller, Response, delete, get, patch, post, put
from litestar.enums import MediaType
from litestar.params import JSONBody, PathParameter, QueryParameter

from scrm_channels import catalog, messages, render, rules, unsubscribe
from scrm_channels.schemas import (
    MessageOut,
    MessageStatus,
    PreviewIn,
    PreviewOut,
    ProviderIn,
    ProviderOut,
    ProviderPatch,
    Refusals,
    RuleIn,
    RuleOut,
    SendIn,
    SendOut,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
)

READ = {"scope": "channels:read"}
WRITE = {"scope": "channels:write"}
ADMIN = {"scope": "channels:admin"}
PurposePath = Annotated[str, PathParameter(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=64)]
Token = Annotated[str, PathParameter(max_length=500)]


class ProviderController(Controller):
    path = "/providers"
    tags = ["channels"]

    @post(opt=ADMIN, operation_id="channelsCreateProvider", status_code=201, summary="Add a provider")
    async def create(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[ProviderIn]) -> ProviderOut:
        """Configure a way out: ``smtp``, ``sms``, ``wecom`` or ``webhook``. ``config`` holds the kind's
        fields (422 naming each missing or unknown one); ``secret`` is stored encrypted and never shown."""
        return await catalog.create_provider(kernel, ws, data)

    @get(opt=READ, operation_id="channelsListProviders", summary="List providers")
    async def list_providers(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> list[ProviderOut]:
        """The workspace's providers, by name (without secrets)."""
        return await catalog.list_providers(kernel, ws)

    @get("/{provider_id:int}", opt=READ, operation_id="channelsGetProvider", summary="Get a provider")
    async def get_provider(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, provider_id: scrm.PathId
    ) -> ProviderOut:
        """One provider (without its secret); 404 when not in this workspace."""
        return await catalog.get_provider(kernel, ws, provider_id)

    @patch("/{provider_id:int}", opt=ADMIN, operation_id="channelsUpdateProvider", summary="Change a provider")
    async def update(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, provider_id: scrm.PathId, data: JSONBody[ProviderPatch]
    ) -> ProviderOut:
        """Change a provider's config (merged), secret, rate or switch; fields left out stay."""
        return await catalog.update_provider(kernel, ws, provider_id, data)

    @delete(
        "/{provider_id:int}",
        opt=ADMIN,
        operation_id="channelsDeleteProvider",
        status_code=204,
        summary="Delete a provider",
    )
    async def delete_provider(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, provider_id: scrm.PathId) -> None:
        """Delete a provider; messages still queued for it fail."""
        await catalog.delete_provider(kernel, ws, provider_id)


class TemplateController(Controller):
    path = "/templates"
    tags = ["channels"]

    @post(opt=WRITE, operation_id="channelsCreateTemplate", status_code=201, summary="Add a template")
    async def create(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[TemplateIn]) -> TemplateOut:
        """A template in one language (jinja2, sandboxed: ``member``, ``data``, ``unsubscribe_url``).
        422 when it does not compile; moderation findings make it ``held``; 409 for a name and language
        already there."""
        return await catalog.create_template(kernel, ws, data)

    @get(opt=READ, operation_id="channelsListTemplates", summary="List templates")
    async def list_templates(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> list[TemplateOut]:
        """Every template of the workspace, by name and language."""
        return await catalog.list_templates(kernel, ws)

    @get("/{template_id:int}", opt=READ, operation_id="channelsGetTemplate", summary="Get a template")
    async def get_template(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, template_id: scrm.PathId
    ) -> TemplateOut:
        """One template with what moderation found in it."""
        return await catalog.get_template(kernel, ws, template_id)

    @patch("/{template_id:int}", opt=WRITE, operation_id="channelsUpdateTemplate", summary="Change a template")
    async def update(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, template_id: scrm.PathId, data: JSONBody[TemplatePatch]
    ) -> TemplateOut:
        """Change the subject or body; moderated again."""
        return await catalog.update_template(kernel, ws, template_id, data)

    @delete(
        "/{template_id:int}",
        opt=WRITE,
        operation_id="channelsDeleteTemplate",
        status_code=204,
        summary="Delete a template",
    )
    async def delete_template(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, template_id: scrm.PathId) -> None:
        """Delete a template in one language."""
        await catalog.delete_template(kernel, ws, template_id)

    @post(
        "/{template_id:int}/preview",
        opt=READ,
        operation_id="channelsPreviewTemplate",
        status_code=200,
        summary="Preview a template",
    )
    async def preview(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, template_id: scrm.PathId, data: JSONBody[PreviewIn]
    ) -> PreviewOut:
        """The template rendered for a real member of this workspace with ``data``; nothing is sent."""
        return await preview(kernel, ws, template_id, data)


async def preview(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, template_id: int, data: PreviewIn) -> PreviewOut:
    template = await catalog.get_template(kernel, ws, template_id)
    member = await kernel.members.get(ws, data.member_id)
    link = unsubscribe.url(kernel, ws, member.id, "preview") if template.channel == "email" else None
    from scrm_channels.providers import IDENTITY

    return PreviewOut(
        subject=render.render(template.subject, member, data.data, link),
        body=render.render(template.body, member, data.data, link),
        recipient=member.identities.get(IDENTITY.get(template.channel, ""), None),
    )


class MessageController(Controller):
    path = "/messages"
    tags = ["channels"]

    @post(opt=WRITE, operation_id="channelsSend", status_code=200, summary="Send a message")
    async def send(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[SendIn]) -> SendOut:
        """Send a template to a member for a purpose, through the consent door: ``refused`` (counted,
        nothing sent), ``scheduled`` (quiet hours or a cap delay it), ``queued``, or — for a
        ``reference`` sent before — that message's state with ``duplicate`` true. 404 member or
        template; 409 held template or no provider; 422 unknown purpose or unrenderable data."""
        return await messages.send(kernel, ws, data.member_id, data.purpose, data.template, data.data, data.reference)

    @get(opt=READ, operation_id="channelsListMessages", summary="List messages")
    async def list_messages(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        member_id: scrm.QueryId = None,
        status: Annotated[MessageStatus | None, QueryParameter(description="Only messages in this state")] = None,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[MessageOut]:
        """Messages, newest first."""
        return await messages.listing(kernel, ws, member_id, status, cursor, limit)

    @get("/{message_id:int}", opt=READ, operation_id="channelsGetMessage", summary="Get a message")
    async def get_message(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, message_id: scrm.PathId) -> MessageOut:
        """One message with every delivery attempt."""
        return await messages.get(kernel, ws, message_id)


class RuleController(Controller):
    path = "/rules"
    tags = ["channels"]

    @get(opt=READ, operation_id="channelsListRules", summary="List quiet hours and caps")
    async def list_rules(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> list[RuleOut]:
        """Each purpose's quiet hours (in the workspace's time zone) and frequency cap."""
        return await rules.listing(kernel, ws)

    @put("/{purpose:str}", opt=ADMIN, operation_id="channelsPutRule", summary="Set a purpose's quiet hours and cap")
    async def put_rule(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, purpose: PurposePath, data: JSONBody[RuleIn]
    ) -> RuleOut:
        """Replace a purpose's rule. With ``delay`` a veto schedules the message; without, refuses it."""
        return await rules.put(kernel, ws, purpose, data)

    @delete("/{purpose:str}", opt=ADMIN, operation_id="channelsDeleteRule", status_code=204, summary="Remove a rule")
    async def delete_rule(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, purpose: PurposePath) -> None:
        """Remove a purpose's rule; 404 when it has none."""
        await rules.delete(kernel, ws, purpose)


class ReportController(Controller):
    path = "/refusals"
    tags = ["channels"]

    @get(opt=READ, operation_id="channelsRefusals", summary="Count refused sends")
    async def refusals(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> Refusals:
        """Sends the consent door refused, by purpose and reason: for the audit report."""
        return await messages.refusals(kernel, ws)


class UnsubscribeController(Controller):
    path = "/unsubscribe"
    tags = ["channels"]

    @get(
        "/{token:str}",
        opt={**READ, scrm.SIGNED_URL_OPT: True},
        operation_id="channelsUnsubscribePage",
        summary="The unsubscribe page",
        security=[],
        media_type=MediaType.HTML,
    )
    async def page(self, kernel: scrm.KernelDep, token: Token) -> Response[str]:
        """A page with one button that unsubscribes (a GET changes nothing). 404 for a bad link."""
        _, _, purpose = unsubscribe.read(kernel, token)
        html = (
            "<!doctype html><meta charset=utf-8><title>Unsubscribe</title>"
            f"<form method=post><p>Stop messages for “{purpose}”?</p>"
            "<input type=hidden name=List-Unsubscribe value=One-Click><button>Unsubscribe</button></form>"
        )
        return Response(html, media_type=MediaType.HTML)

    @post(
        "/{token:str}",
        opt={**READ, scrm.SIGNED_URL_OPT: True},
        operation_id="channelsUnsubscribe",
        summary="Unsubscribe in one click (RFC 8058)",
        security=[],
        status_code=200,
        media_type=MediaType.HTML,
    )
    async def one_click(self, kernel: scrm.KernelDep, token: Token) -> Response[str]:
        """Withdraw the consent the link names (source ``unsubscribe-link``); again is harmless."""
        purpose = await unsubscribe.withdraw(kernel, token)
        return Response(
            f"<!doctype html><meta charset=utf-8><p>Unsubscribed from “{purpose}”.</p>", media_type=MediaType.HTML
        )


ROUTES = [
    ProviderController,
    TemplateController,
    MessageController,
    RuleController,
    ReportController,
    UnsubscribeController,
]
