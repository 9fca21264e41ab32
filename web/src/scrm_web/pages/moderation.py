"""The workspace word list (敏感词): the terms the core's moderator finds in member content, by
category and severity; adding them (one per line, many at once), taking them off, and trying a text
against every moderator enabled here.

Every form posts to the server; with htmx the answer is the word list section alone.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from scrm import (
    AccessDep,
    Kernel,
    KernelDep,
    ModerationTermsIn,
    NavLink,
    PathId,
    Problem,
    WorkspaceDep,
    WorkspaceRef,
    convert_form,
)

from scrm_web import i18n
from scrm_web.auth import console_of
from scrm_web.errors import is_htmx
from scrm_web.forms import field_errors, values
from scrm_web.i18n import N_
from scrm_web.respond import form_status, page

READ = {"scope": "moderation:read"}
WRITE = {"scope": "moderation:write"}
SHOWN = 1000  # terms the page lists (the API pages through all of them)
SEVERITIES = (N_("low"), N_("medium"), N_("high"))


@get("/moderation", opt=READ)
async def word_list(
    request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, access: AccessDep
) -> Template:
    return await _page(request, kernel, ws, access.can("moderation:write"))


@post("/moderation/terms", opt=WRITE)
async def add_terms(request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep) -> Template | Redirect:
    """Terms one per line, all taking the form's category and severity."""
    typed = values(await request.form())
    lines = [line.strip() for line in typed.get("terms", "").splitlines() if line.strip()]
    body = {
        "terms": [
            {
                "term": line,
                "category": typed.get("category") or "wordlist",
                "severity": typed.get("severity") or "medium",
            }
            for line in lines
        ]
    }
    try:
        added = await kernel.wordlist.add(ws, convert_form(body, ModerationTermsIn))
    except Problem as exc:
        errors = {("terms" if k.startswith("terms") else k): v for k, v in field_errors(exc).items()}
        return await _page(request, kernel, ws, True, typed=typed, errors=errors, status=form_status(exc))
    return await _done(request, kernel, ws, i18n.gettext("Terms saved: %(n)s.") % {"n": len(added)})


@post("/moderation/terms/{term_id:int}/delete", opt=WRITE)
async def remove_term(
    request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, term_id: PathId
) -> Template | Redirect:
    await kernel.wordlist.remove(ws, term_id)
    return await _done(request, kernel, ws, i18n.gettext("Term removed."))


@post("/moderation/check", opt=READ)
async def try_text(request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep, access: AccessDep) -> Template:
    """The findings of every moderator enabled here in a sample text, marked in the text."""
    typed = values(await request.form())
    text = typed.get("sample", "")[:100_000]
    found = await kernel.moderation.check(ws, text=text) if text else []
    return await _page(request, kernel, ws, access.can("moderation:write"), sample=text, found=found)


async def _done(request: Request[Any, Any, Any], kernel: Kernel, ws: WorkspaceRef, message: str) -> Template | Redirect:
    if is_htmx(request):
        return await _page(request, kernel, ws, True, flash=message)
    return Redirect(f"{console_of(request).base}/moderation", status_code=HTTP_303_SEE_OTHER)


def marked(text: str, found: list[Any]) -> list[tuple[str, bool]]:
    """``text`` cut into pieces, each flagged when a finding's span covers it (for ``<mark>``)."""
    spans = sorted((f.start, f.end) for f in found if f.start is not None and f.end is not None)
    pieces, at = [], 0
    for start, end in spans:
        if start < at:
            continue
        pieces += [(text[at:start], False), (text[start:end], True)]
        at = end
    pieces.append((text[at:], False))
    return [p for p in pieces if p[0]]


async def _page(
    request: Request[Any, Any, Any],
    kernel: Kernel,
    ws: WorkspaceRef,
    can_write: bool,
    *,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    flash: str = "",
    sample: str = "",
    found: list[Any] | None = None,
    status: int = 200,
) -> Template:
    listed = await kernel.wordlist.listing(ws, None, None, SHOWN)
    context = {
        "base": console_of(request).base,
        "terms": listed.items,
        "more": listed.next_cursor is not None,
        "can_write": can_write,
        "values": typed or {"severity": "medium", "category": "wordlist"},
        "errors": errors or {},
        "severities": SEVERITIES,
        "flash": flash,
        "sample": sample,
        "found": found,
        "pieces": marked(sample, found or []),
    }
    return page(request, "moderation", context, status)


routes = [word_list, add_terms, remove_term, try_text]
nav = [NavLink(N_("Word list"), "/moderation", "moderation:read")]
