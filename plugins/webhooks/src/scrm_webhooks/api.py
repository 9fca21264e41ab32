"""The webhooks REST API, mounted under ``/api/v1/webhooks``. Scopes: ``webhooks:read`` to read
subscriptions and the delivery log; ``webhooks:write`` to create, change, rotate, delete and replay."""

from __future__ import annotations

from typing import Annotated

import scrm
from litestar import Controller, delete, get, patch, post
from litestar.params import JSONBody, QueryParameter

from scrm_webhooks import deliveries, subscriptions
from scrm_webhooks.schemas import (
    DeliveryDetail,
    DeliveryOut,
    DeliveryState,
    Rotation,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
    SubscriptionSecret,
)

READ = {"scope": "webhooks:read"}
WRITE = {"scope": "webhooks:write"}


class SubscriptionController(Controller):
    path = "/subscriptions"
    tags = ["webhooks"]

    @post(opt=WRITE, operation_id="webhooksCreate", status_code=201, summary="Subscribe an endpoint")
    async def create(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[SubscriptionIn]
    ) -> SubscriptionSecret:
        """Subscribe a URL to event types (``*``, ``order.paid``, ``member.*``). The answer carries the
        signing secret (``whsec_…``): store it now, it is not shown again (rotate it to get a new one)."""
        return await subscriptions.create(kernel, ws, data)

    @get(opt=READ, operation_id="webhooksList", summary="List subscriptions")
    async def list_subscriptions(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> list[SubscriptionOut]:
        """The workspace's subscriptions, oldest first (without their secrets)."""
        return await subscriptions.listing(kernel, ws)

    @get("/{subscription_id:int}", opt=READ, operation_id="webhooksGet", summary="Get a subscription")
    async def get_subscription(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, subscription_id: scrm.PathId
    ) -> SubscriptionOut:
        """One subscription; 404 when it is not in this workspace."""
        return await subscriptions.get(kernel, ws, subscription_id)

    @patch("/{subscription_id:int}", opt=WRITE, operation_id="webhooksUpdate", summary="Change a subscription")
    async def update(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        subscription_id: scrm.PathId,
        data: JSONBody[SubscriptionPatch],
    ) -> SubscriptionOut:
        """Change the URL, event types, description, or pause it (``active: false``); fields left out stay."""
        return await subscriptions.update(kernel, ws, subscription_id, data)

    @delete(
        "/{subscription_id:int}",
        opt=WRITE,
        operation_id="webhooksDelete",
        status_code=204,
        summary="Delete a subscription",
    )
    async def delete_subscription(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, subscription_id: scrm.PathId
    ) -> None:
        """Delete a subscription and its delivery log."""
        await subscriptions.delete(kernel, ws, subscription_id)

    @post(
        "/{subscription_id:int}/rotate",
        opt=WRITE,
        operation_id="webhooksRotate",
        status_code=200,
        summary="Rotate the signing secret",
    )
    async def rotate(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, subscription_id: scrm.PathId, data: JSONBody[Rotation]
    ) -> SubscriptionSecret:
        """A new signing secret. Messages carry a signature by the old secret too for
        ``keep_previous_s`` seconds (default a day), so a receiver can switch without losing one."""
        return await subscriptions.rotate(kernel, ws, subscription_id, data)

    @get(
        "/{subscription_id:int}/deliveries",
        opt=READ,
        operation_id="webhooksDeliveries",
        summary="List a subscription's deliveries",
    )
    async def list_deliveries(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        subscription_id: scrm.PathId,
        in_state: Annotated[
            DeliveryState | None, QueryParameter(name="state", description="Only deliveries in this state")
        ] = None,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[DeliveryOut]:
        """The delivery log, newest first: each event sent (or being retried), its attempts and last answer."""
        return await deliveries.listing(kernel, ws, subscription_id, in_state, cursor, limit)


class DeliveryController(Controller):
    path = "/deliveries"
    tags = ["webhooks"]

    @get("/{delivery_id:int}", opt=READ, operation_id="webhooksDelivery", summary="Get a delivery")
    async def get_delivery(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, delivery_id: scrm.PathId
    ) -> DeliveryDetail:
        """One delivery with its payload and every attempt."""
        return await deliveries.detail(kernel, ws, delivery_id)

    @post(
        "/{delivery_id:int}/replay",
        opt=WRITE,
        operation_id="webhooksReplay",
        status_code=200,
        summary="Send a delivery again",
    )
    async def replay(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, delivery_id: scrm.PathId) -> DeliveryDetail:
        """Send it again now, with a fresh day of retries and the same ``webhook-id``. 409 while it is
        being sent."""
        return await deliveries.replay(kernel, ws, delivery_id)


ROUTES = [SubscriptionController, DeliveryController]
