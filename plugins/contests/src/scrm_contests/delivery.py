"""How a signed link's file is sent: streamed from storage a chunk at a time, whole or in part.

A ``<video>`` player seeks by asking for the bytes it needs (``Range: bytes=…``, RFC 9110 §14), and
Safari plays no video whose server does not answer such requests. One range is served (``206`` with
``Content-Range``); several ranges, a malformed header or an ``If-Range`` that no longer matches get
the whole file (``200``), as the RFC allows; a range starting past the end is a ``416``. The ETag is
derived from the storage key, which is written once and never rewritten (so it is a strong
validator) and never leaves the server (so it is hashed).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import scrm
from litestar import Response
from litestar.response import Stream

from scrm_contests.problems import RangeNotSatisfiable
from scrm_contests.storage import Storage

#: what every answer says: private (a signed link is a capability), never sniffed, shown in place
FIXED_HEADERS = {
    "Accept-Ranges": "bytes",
    "Cache-Control": "private, max-age=3600",
    "X-Content-Type-Options": "nosniff",
    "Content-Disposition": "inline",
}
#: one range; positions of more than 18 digits (far past any file) are taken as malformed
_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})", re.IGNORECASE)


def etag(key: str) -> str:
    """A strong validator of the file stored at ``key``, which says nothing about the key."""
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def requested(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte (inclusive, clipped to the file) of the one range ``header`` asks for;
    None for the whole file: no header, a malformed one or several ranges. A range that starts past
    the end, or an empty suffix, is a 416 naming the file's size."""
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None:
        return None
    first, last = match.groups()
    if first and last and int(last) < int(first):
        return None  # not a range at all
    if first:
        start, end = int(first), int(last) if last else size - 1
    elif last:
        start, end = max(0, size - int(last)), size - 1
    else:
        return None
    if start >= size:
        raise RangeNotSatisfiable(
            f"The file is {size} bytes; the range asked for is not within it",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return start, min(end, size - 1)


def _matches(if_none_match: str, tag: str) -> bool:
    """``If-None-Match`` names this ETag (weak comparison, as RFC 9110 §13.1.2 asks) or ``*``."""
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or tag in tags


async def respond(
    store: Storage, key: str, content_type: str, request_headers: Mapping[str, str], *, body: bool
) -> Response[Any]:
    """The answer to a GET (``body``) or HEAD of the file at ``key``: 304 when the client has it
    already, else 200 or 206 streaming from storage. A file gone from storage is a 404."""
    tag = etag(key)
    headers = {**FIXED_HEADERS, "ETag": tag}
    if _matches(request_headers.get("if-none-match", ""), tag):
        return Response(b"", status_code=304, headers=headers)
    size = await store.size(key)
    if size is None:
        raise scrm.NotFound("The file is gone")
    if_range = request_headers.get("if-range")
    wanted = requested(request_headers.get("range"), size) if if_range in (None, tag) else None
    start, end = wanted or (0, size - 1)
    headers["Content-Type"] = content_type  # a header, or the route's documented type would override it
    headers["Content-Length"] = str(end - start + 1)
    if wanted:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    status = 206 if wanted else 200
    if not body:
        return Response(b"", status_code=status, headers=headers)
    return Stream(store.read(key, start, end - start + 1), status_code=status, headers=headers)
