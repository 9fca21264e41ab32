"""Uploaded files are closed when their response is sent, whoever parsed the form: the CSRF check
reads a multipart form (and with it the files) before any guard or handler runs, so a request refused
by a guard would otherwise leave its spooled temporary files to the garbage collector."""

from __future__ import annotations

from litestar.datastructures import UploadFile
from litestar.types import Empty, Message, Scope
from litestar.utils.scope.state import ScopeState


async def close_uploads(message: Message, scope: Scope) -> None:
    """``before_send`` hook: at the last body message, close every file of the request's parsed form."""
    if message["type"] != "http.response.body" or message.get("more_body", False):
        return
    form = ScopeState.from_scope(scope).form
    if form is Empty or not isinstance(form, dict):
        return
    for value in form.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, UploadFile):
                await item.close()
