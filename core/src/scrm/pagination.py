"""Opaque cursors for keyset pagination.

A cursor names the last id a page returned; the next page continues after it, so rows inserted
meanwhile never shift a page (no skipped or repeated rows, unlike OFFSET). Cursors are signed with
the secret key so a client cannot hand-craft one, and carry the listing they belong to.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Generic, TypeVar

import msgspec

from scrm.params import DEFAULT_LIMIT, MAX_LIMIT
from scrm.problems import InvalidCursor

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Cursors", "Page"]

T = TypeVar("T")


class Page(msgspec.Struct, Generic[T]):
    """One page of a listing; ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None


class Cursors:
    """Encodes and checks cursors for one secret key."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"scrm-cursor:" + secret.encode()).digest()

    def encode(self, listing: str, last_id: int) -> str:
        return self._sign(listing, str(last_id))

    def decode(self, listing: str, cursor: str | None) -> int:
        """The id to continue after (0 for the first page); a bad cursor is a 400."""
        if not cursor:
            return 0
        last = self._verify(listing, cursor)
        if not last.isdecimal():
            raise InvalidCursor("The cursor is not one this server issued for this listing")
        return int(last)

    def encode_position(self, listing: str, at: datetime, last_id: int) -> str:
        """A cursor for listings ordered by a time, then id (events, newest first)."""
        return self._sign(listing, f"{at.astimezone(UTC).isoformat()}~{last_id}")

    def decode_position(self, listing: str, cursor: str | None) -> tuple[datetime, int] | None:
        """The (time, id) to continue after, or None for the first page."""
        if not cursor:
            return None
        at, _, last = self._verify(listing, cursor).partition("~")
        try:
            return datetime.fromisoformat(at), int(last)
        except ValueError:
            raise InvalidCursor("The cursor is not one this server issued for this listing") from None

    def _sign(self, listing: str, position: str) -> str:
        body = f"{listing}:{position}".encode()
        mac = hmac.new(self._key, body, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(body + b"." + mac).decode().rstrip("=")

    def _verify(self, listing: str, cursor: str) -> str:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            body, dot, mac = raw[:-13], raw[-13:-12], raw[-12:]  # the MAC itself may contain b"."
            expected = hmac.new(self._key, body, hashlib.sha256).digest()[:12]
            name, _, last = body.decode().partition(":")  # listing names hold no ":"
            if dot != b".":
                raise ValueError(cursor)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise InvalidCursor("The cursor is not one this server issued") from None
        if not hmac.compare_digest(mac, expected) or name != listing:
            raise InvalidCursor("The cursor is not one this server issued for this listing")
        return last

    def page(self, listing: str, items: Sequence[T], ids: Sequence[int], limit: int) -> Page[T]:
        """A page from up to ``limit + 1`` fetched rows: the extra row only says there is more."""
        if len(items) > limit:
            return Page(items=list(items[:limit]), next_cursor=self.encode(listing, ids[limit - 1]))
        return Page(items=list(items), next_cursor=None)
