"""Cursors of the lottery's keyset-paginated listings: the last id (or rank) a page returned.

A cursor only moves a position inside a listing that is already filtered by workspace and campaign,
so it needs no signature; it is opaque (base64) so clients do not build them."""

from __future__ import annotations

import base64
import binascii

from scrm_lottery.problems import InvalidCursor

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def encode(last: int) -> str:
    return base64.urlsafe_b64encode(f"lottery:{last}".encode()).decode().rstrip("=")


def decode(cursor: str | None) -> int:
    """The position to continue after (-1 for the first page); a cursor this plugin did not issue is a 400."""
    if not cursor:
        return -1
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    prefix, _, last = text.partition(":")
    if prefix != "lottery" or not last.isdigit() or len(last) > 19:
        raise InvalidCursor("The cursor is not one this listing issued")
    return int(last)


def next_cursor(positions: list[int], limit: int) -> str | None:
    """The cursor after a page of ``positions``, or None when the page was the last one."""
    return encode(positions[-1]) if len(positions) == limit and positions else None
