"""Where requests and commands enter the audit trail (:mod:`scrm.services.audit`): one ASGI middleware
for every route — the API's, the console's, every plugin's — and one context for CLI commands.

:class:`RecordWrites` opens the request's :class:`~scrm.services.audit.AuditContext` (channel, address,
user agent, and from the route: the action — its ``operation_id``, else ``METHOD /path/{template}`` —
and the target — its last ``*_id`` path parameter). The guards that authenticate say who the actor
is (:func:`~scrm.services.audit.set_actor`). Only ``POST``/``PUT``/``PATCH``/``DELETE`` are recorded;
a route that writes nothing although it is a ``POST`` (a check, a preview) declares
``opt={"audit": False}``. A write request that answered 2xx/3xx without a transaction of its own
(a single-statement write) gets its record when its response starts
(:meth:`~scrm.services.audit.Audit.record_request`).
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from scrm.services.audit import Actor, AuditContext, begin, end

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: a route handler's ``opt`` key: False for a write-method route that changes nothing
AUDIT_OPT = "audit"
#: path parameters that name where a route acts, not what it acts on
_PLACE_PARAMS = frozenset({"slug", "workspace"})


class RecordWrites(ASGIMiddleware):
    """Opens each HTTP request's audit context and records a write that no transaction recorded."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        handler = scope.get("route_handler")
        method = scope.get("method", "GET")
        writes = method in WRITE_METHODS and (handler is None or handler.opt.get(AUDIT_OPT, True) is not False)
        context = describe(scope, writes)
        token = begin(context)
        try:
            if not writes:
                await next_app(scope, receive, send)
                return

            async def recording_send(message: Message) -> None:
                if message["type"] == "http.response.start" and message["status"] < 400 and not context.recorded:
                    await scope["app"].state.kernel.audit.record_request()
                await send(message)

            await next_app(scope, receive, recording_send)
        finally:
            end(token)


def describe(scope: Scope, writes: bool) -> AuditContext:
    """A request's audit context, as far as the route tells it."""
    handler = scope.get("route_handler")
    path = scope.get("path", "")
    channel = "api" if path.startswith("/api/") else "console"
    operation = getattr(handler, "operation_id", None)
    template = scope.get("path_template") or path
    action = operation if isinstance(operation, str) else f"{scope.get('method', 'GET')} {template}"
    params: dict[str, Any] = dict(scope.get("path_params") or {})
    target_type = target_id = ""
    for name in reversed(list(params)):
        if name.endswith("_id"):
            target_type, target_id = name.removesuffix("_id"), str(params.pop(name))
            break
    for name in _PLACE_PARAMS:
        params.pop(name, None)
    headers = dict(scope.get("headers") or ())
    client = scope.get("client")
    return AuditContext(
        channel=channel,
        action=action,
        address=client[0] if client else "",
        user_agent=headers.get(b"user-agent", b"").decode("latin-1")[:300],
        writes=writes,
        target_type=target_type,
        target_id=target_id,
        summary={"params": params} if params else {},
    )


@contextmanager
def command_context(action: str) -> Iterator[AuditContext]:
    """The audit context of a CLI command: the OS user running it is the actor."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    context = AuditContext(channel="cli", action=action, actor=Actor("cli", user, user), address="local")
    token = begin(context)
    try:
        yield context
    finally:
        end(token)
