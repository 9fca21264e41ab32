"""``Client`` and ``AsyncClient``: the transport of :mod:`scrm_sdk._base` with the generated namespaces."""

from __future__ import annotations

from scrm_sdk._base import AsyncTransport, SyncTransport
from scrm_sdk._generated import OPERATIONS, AsyncNamespaces, SyncNamespaces


class Client(SyncNamespaces, SyncTransport):
    """The synchronous client: ``with Client("https://crm.example.com", api_key=KEY) as scrm:``, then
    ``scrm.members.create_member({...})``, ``scrm.events.record_events({...})``, … one namespace per
    resource or plugin. ``timeout`` is in seconds (or an ``httpx.Timeout``); ``retry`` says when a
    request is sent again (:class:`scrm_sdk.Retry`). With an operator key, ``workspace`` is the slug of
    the workspace it acts in (sent as ``X-Scrm-Workspace``). ``transport`` and ``sleep`` are for tests."""

    OPERATIONS = OPERATIONS


class AsyncClient(AsyncNamespaces, AsyncTransport):
    """The asyncio client: ``async with AsyncClient(url, api_key=KEY) as scrm:``, then ``await
    scrm.lottery.enter(campaign_id, {"member_id": 1})``; the same options as :class:`Client`. Requests
    may run concurrently (``asyncio.gather``); ``limits`` bounds the connections (100 by default)."""

    OPERATIONS = OPERATIONS
