"""Signed, expiring links: ``kernel.signer``.

Some things must be reachable without an API key — a contest entry's image shown in a brand's app or
a mini-program, a file a member downloads — yet must not sit at a guessable address. A plugin signs
what the link names (an opaque text such as ``"12:345:thumb"``) with the app's secret key and an
expiry; the route that serves it (declared with ``opt={"scope": ..., "signed_url": True}``, which
takes no key) verifies the token and reads the payload back. A token names one purpose, so a link
signed for one use cannot be replayed for another, and tampering with the payload or the expiry
breaks the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from scrm.problems import NotFound

#: a route option: the route takes no API key; its handler verifies a signed token instead
SIGNED_URL_OPT = "signed_url"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and verifies expiring tokens with a key derived from the app's secret key."""

    def __init__(self, secret_key: str) -> None:
        self._key = hashlib.sha256(b"scrm-signed-url:" + secret_key.encode()).digest()

    def _mac(self, purpose: str, body: str) -> bytes:
        return hmac.new(self._key, f"{purpose}\n{body}".encode(), hashlib.sha256).digest()[:20]

    def sign(self, purpose: str, payload: str, ttl_seconds: int, *, now: float | None = None) -> str:
        """A token for ``payload`` (any text) valid ``ttl_seconds`` from now, for ``purpose`` only."""
        expires = int((now if now is not None else time.time()) + ttl_seconds)
        body = f"{expires}~{payload}"
        return f"{_b64(body.encode())}.{_b64(self._mac(purpose, body))}"

    def verify(self, purpose: str, token: str, *, now: float | None = None) -> str:
        """The payload of a valid, unexpired token signed for ``purpose``; anything else (forged,
        tampered, expired, for another purpose, malformed) is a 404 that says no more."""
        refused = NotFound("The link is invalid or has expired")
        encoded, _, mac = token.partition(".")
        try:
            body = _unb64(encoded).decode()
            given = _unb64(mac)
        except (ValueError, UnicodeDecodeError):
            raise refused from None
        if not hmac.compare_digest(given, self._mac(purpose, body)):
            raise refused
        expires, _, payload = body.partition("~")
        if not expires.isdecimal() or int(expires) < (now if now is not None else time.time()):
            raise refused
        return payload
