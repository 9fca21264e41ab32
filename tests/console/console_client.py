"""Helpers of the console tests: a browser-like client (its own cookies, forms posted with the CSRF
token the console set in its cookie) and the page's text."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Litestar

PASSWORD = "correct horse battery"


@dataclass
class ConsoleClient:
    """A client of the console, signed in as ``username``."""

    username: str
    operator_id: int
    http: httpx.AsyncClient

    async def get(self, path: str, htmx: bool = False, **kw: Any) -> httpx.Response:
        return await self.http.get(path, headers={"HX-Request": "true"} if htmx else {}, **kw)

    async def csrf(self) -> str:
        if "csrftoken" not in self.http.cookies:
            await self.http.get("/console/login")
        return str(self.http.cookies["csrftoken"])

    async def post(
        self, path: str, data: dict[str, Any] | None = None, htmx: bool = False, csrf: bool = True, **kw: Any
    ) -> httpx.Response:
        """Post a form (with the CSRF token unless ``csrf=False``); ``htmx=True`` as htmx would."""
        form = dict(data or {})
        if csrf:
            form["_csrf_token"] = await self.csrf()
        return await self.http.post(path, data=form, headers={"HX-Request": "true"} if htmx else {}, **kw)


def client_for(app: Litestar, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """A client with its own cookie jar, calling the app in-process from ``address``."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://scrm.test"
    )


SignIn = Callable[..., Awaitable[ConsoleClient]]


def text_of(response: httpx.Response) -> str:
    """The page's visible text, tags stripped and whitespace collapsed (for content checks)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text))
