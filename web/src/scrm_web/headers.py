"""The console's security headers, on every response under ``/console`` (pages, fragments, errors,
redirects, static files).

The Content-Security-Policy allows scripts, styles and everything else only from the console's own
origin — htmx and the other assets are served locally — and no inline script or style: behaviour
lives in ``static/console.js`` (data attributes, never ``onclick=`` or ``hx-on``), htmx is told not to
inject its indicator style nor to evaluate expressions (``htmx-config`` in ``base.html``). The
console may not be framed (clickjacking), and browsers must not guess content types.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

CONSOLE_PATH = "/console"
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


async def add_console_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook: the headers above on the start of every console response."""
    if message["type"] != "http.response.start":
        return
    path: str = scope["path"]
    if path == CONSOLE_PATH or path.startswith(CONSOLE_PATH + "/"):
        headers = MutableScopeHeaders.from_message(message)
        for name, value in HEADERS.items():
            headers[name] = value
