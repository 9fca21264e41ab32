"""No text may hold a NUL character: PostgreSQL's text and jsonb cannot store one (asyncpg raises
``CharacterNotInRepertoireError``), so every text a request brings is refused with it, on both
engines, as a 422 naming the field.

One layer does it for every route, the core's and every plugin's: :class:`RefuseNul`, an ASGI
middleware run after routing, looks at the path parameters, the query and the body of JSON and form
requests. It costs a substring search per request; only a request that holds the marker of a NUL is
decoded to find the field. Bodies streamed in another format (the member import) are checked row by
row where they are decoded, with :func:`nul_at`, and reported like the other bad rows.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from scrm.problems import Problem, ValidationFailed, field_error

NUL = "\x00"
MESSAGE = "must not contain a NUL character (\\u0000)"
#: what a NUL looks like in raw bytes: itself, a JSON escape, a percent escape (query, form)
_MARKERS = (b"\x00", b"\\u0000", b"%00")


def nul_at(value: Any, path: str = "") -> str | None:
    """The path (``identities.email``, ``[1].idempotency_key``) of the first string — value or
    object key — in decoded JSON ``value`` that holds a NUL, or None. ``""`` is the value itself."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                return inner
            found = nul_at(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_at(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def holds_nul(raw: bytes) -> bool:
    """Whether raw bytes may hold a NUL (a cheap test before decoding them)."""
    return any(marker in raw for marker in _MARKERS)


def refusal(field: str, source: str) -> Problem:
    """The 422 for a NUL in ``field`` of ``source`` (``path``, ``query`` or ``body``)."""
    where = field or source
    return ValidationFailed(f"{where}: {MESSAGE}", errors=[field_error(field, MESSAGE, source)])


class RefuseNul(ASGIMiddleware):
    """Raises the 422 for a NUL in a path or query parameter at once, and for one in a JSON or form
    body from ``receive``, when the route has read the whole body; the app's error handlers answer."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        problem = _in_path(scope) or _in_query(scope)
        if problem is not None:
            raise problem
        decode = _body_decoder(scope)
        await next_app(scope, receive if decode is None else _checked(receive, decode), send)


def _in_path(scope: Scope) -> Problem | None:
    if NUL not in scope["path"]:
        return None
    for name, value in scope.get("path_params", {}).items():
        if isinstance(value, str) and NUL in value:
            return refusal(name, "path")
    return refusal("", "path")


def _in_query(scope: Scope) -> Problem | None:
    query: bytes = scope.get("query_string", b"")
    if b"%00" not in query and b"\x00" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if NUL in name or NUL in value:
            return refusal(name.replace(NUL, "\\u0000"), "query")
    return None


def _body_decoder(scope: Scope) -> Any:
    """How to decode this request's body to find a NUL in it: JSON and forms; None for other media
    (streamed bodies, checked where they are decoded)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            if media == b"application/json" or media.endswith(b"+json"):
                return msgspec.json.decode
            if media == b"application/x-www-form-urlencoded":
                return lambda raw: dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
            return None
    return None


def _checked(receive: Receive, decode: Any) -> Receive:
    """``receive`` that keeps the body's chunks and, at its end, raises the 422 if it holds a NUL."""
    chunks: list[bytes] = []

    async def checked_receive() -> ReceiveMessage:
        message = await receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                chunks.clear()
                field = _field_in_body(body, decode)
                if field is not None:
                    raise refusal(field, "body")
        return message

    return checked_receive


def _field_in_body(body: bytes, decode: Any) -> str | None:
    if not holds_nul(body):
        return None
    try:
        value = decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None  # not valid JSON: the route answers that
    return nul_at(value)
