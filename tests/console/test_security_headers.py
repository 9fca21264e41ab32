"""Every console response carries the security headers: a Content-Security-Policy with no inline
script or style and no framing, X-Frame-Options, nosniff. (The browser tests check that the pages
satisfy the policy: a violation fails them.)"""

from __future__ import annotations

import re
from pathlib import Path

from console_client import SignIn, client_for
from litestar import Litestar

TEMPLATES = [
    *Path(__file__).resolve().parents[2].glob("web/src/scrm_web/templates/**/*.html"),
    *Path(__file__).resolve().parents[2].glob("plugins/*/src/*/templates/**/*.html"),
]


async def test_console_responses_carry_the_headers(app: Litestar, sign_in: SignIn, tenant: object) -> None:
    owner = await sign_in(tenant)
    async with client_for(app) as anonymous:
        responses = [
            await anonymous.get("/console/login"),  # a page
            await anonymous.get("/console/"),  # a redirect to sign in
            await anonymous.get("/console/static/console.js"),  # an asset
            await anonymous.get("/console/no-such-page"),  # an error page
            await owner.http.get(f"/console/w/{tenant.slug}/members"),  # type: ignore[attr-defined]
        ]
    for response in responses:
        where = f"{response.request.url.path} ({response.status_code})"
        csp = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp, where
        assert "style-src 'self'" in csp, where
        assert "frame-ancestors 'none'" in csp, where
        assert "unsafe-inline" not in csp, where
        assert response.headers.get("x-frame-options") == "DENY", where
        assert response.headers.get("x-content-type-options") == "nosniff", where
    async with client_for(app) as api:
        assert "content-security-policy" not in (await api.get("/schema/swagger")).headers  # Swagger UI's inline script


def test_templates_hold_no_inline_script_or_style() -> None:
    """What the policy forbids, caught before a browser runs: inline scripts, event handler
    attributes, htmx's evaluated ``hx-on``, style elements and attributes."""
    assert len(TEMPLATES) > 20
    forbidden = re.compile(r"<script(?![^>]*\bsrc=)|\son[a-z]+=|\shx-on|<style|\sstyle=", re.IGNORECASE)
    found = [f"{path.name}: {m.group(0)}" for path in TEMPLATES for m in forbidden.finditer(path.read_text())]
    assert not found, found
