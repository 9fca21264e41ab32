"""The webhooks console pages (``/console/w/{workspace}/webhooks/…``).

Operators subscribe endpoints (the secret is shown once, on the page that follows), pause, rotate and
delete them, and read each subscription's **delivery log**: every event sent or being retried, its
attempts and the receiver's last answer, with **replay**. Every action goes through the same functions
as the API, so the console refuses exactly what the API refuses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import msgspec
import scrm
from litestar import Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from scrm_webhooks import deliveries, subscriptions
from scrm_webhooks.schemas import DeliveryState, Rotation, SubscriptionIn, SubscriptionPatch

READ = {"scope": "webhooks:read"}
WRITE = {"scope": "webhooks:write"}
PER_PAGE = 50


def N_(message: str) -> str:
    """Marks English text translated where it is shown."""
    return message


STATES = (N_("pending"), N_("succeeded"), N_("failed"))


def _base(request: Request[Any, Any, Any]) -> str:
    return f"{request.state.console.base}/webhooks"


async def _list_page(
    kernel: scrm.Kernel, access: scrm.Access, values: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "subscriptions": await subscriptions.listing(kernel, access.workspace),
        "can_write": access.can("webhooks:write"),
        "values": values or {"event_types": "*"},
        "errors": errors or {},
    }


@get("/", opt=READ)
async def subscription_list(kernel: scrm.KernelDep, access: scrm.AccessDep) -> Template:
    return Template("webhooks/subscriptions.html", context=await _list_page(kernel, access))


@post("/", opt=WRITE)
async def create_subscription(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep
) -> Template:
    """Subscribe, then show the subscription's page with its secret (shown this once)."""
    values = scrm.form_values(await request.form())
    try:
        data = scrm.decode_form(values, SubscriptionIn, lists=("event_types",))
        created = await subscriptions.create(kernel, access.workspace, data)
    except scrm.Problem as exc:
        context = await _list_page(kernel, access, values, scrm.form_errors(exc))
        return Template("webhooks/subscriptions.html", context=context, status_code=scrm.form_status(exc))
    return await _subscription_page(kernel, access, created.id, None, None, secret=created.secret, status=201)


async def _subscription_page(
    kernel: scrm.Kernel,
    access: scrm.Access,
    subscription_id: int,
    state: DeliveryState | None,
    cursor: str | None,
    secret: str | None = None,
    status: int = 200,
) -> Template:
    ws = access.workspace
    page = await deliveries.listing(kernel, ws, subscription_id, state, cursor, PER_PAGE)
    context = {
        "subscription": await subscriptions.get(kernel, ws, subscription_id),
        "deliveries": page.items,
        "next_cursor": page.next_cursor,
        "state": state,
        "states": STATES,
        "secret": secret,
        "can_write": access.can("webhooks:write"),
    }
    return Template("webhooks/subscription.html", context=context, status_code=status)


@get("/{subscription_id:int}", opt=READ)
async def subscription_page(
    kernel: scrm.KernelDep,
    access: scrm.AccessDep,
    subscription_id: scrm.PathId,
    in_state: Annotated[DeliveryState | None, QueryParameter(name="state")] = None,
    cursor: scrm.Cursor = None,
) -> Template:
    return await _subscription_page(kernel, access, subscription_id, in_state, cursor)


@post("/{subscription_id:int}/rotate", opt=WRITE)
async def rotate(kernel: scrm.KernelDep, access: scrm.AccessDep, subscription_id: scrm.PathId) -> Template:
    """A new secret, shown this once; the old one keeps signing for a day."""
    rotated = await subscriptions.rotate(kernel, access.workspace, subscription_id, Rotation())
    return await _subscription_page(kernel, access, subscription_id, None, None, secret=rotated.secret)


@post("/{subscription_id:int}/active", opt=WRITE)
async def toggle(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, subscription_id: scrm.PathId
) -> Redirect:
    """Pause or resume a subscription (the form's ``active`` is ``true`` or ``false``)."""
    values = scrm.form_values(await request.form())
    patch = scrm.convert_form({"active": values.get("active", "")}, SubscriptionPatch)
    await subscriptions.update(kernel, access.workspace, subscription_id, patch)
    return Redirect(f"{_base(request)}/{subscription_id}", status_code=303)


@post("/{subscription_id:int}/delete", opt=WRITE)
async def delete(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, subscription_id: scrm.PathId
) -> Redirect:
    await subscriptions.delete(kernel, access.workspace, subscription_id)
    return Redirect(f"{_base(request)}/", status_code=303)


@get("/deliveries/{delivery_id:int}", opt=READ)
async def delivery_page(kernel: scrm.KernelDep, access: scrm.AccessDep, delivery_id: scrm.PathId) -> Template:
    found = await deliveries.detail(kernel, access.workspace, delivery_id)
    context = {
        "delivery": found,
        "payload": msgspec.json.format(found.payload, indent=2),
        "can_write": access.can("webhooks:write"),
    }
    return Template("webhooks/delivery.html", context=context)


@post("/deliveries/{delivery_id:int}/replay", opt=WRITE)
async def replay(
    request: Request[Any, Any, Any], kernel: scrm.KernelDep, access: scrm.AccessDep, delivery_id: scrm.PathId
) -> Redirect:
    replayed = await deliveries.replay(kernel, access.workspace, delivery_id)
    return Redirect(f"{_base(request)}/{replayed.subscription_id}", status_code=303)


def console_pages() -> scrm.ConsolePages:
    here = Path(__file__).parent
    return scrm.ConsolePages(
        routes=[
            subscription_list,
            create_subscription,
            subscription_page,
            rotate,
            toggle,
            delete,
            delivery_page,
            replay,
        ],
        nav=[scrm.NavLink(N_("Webhooks"), "/", "webhooks:read")],
        templates=here / "templates",
        translations=here / "translations",
    )
