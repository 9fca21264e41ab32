"""Every error answer of scrm is a problem document (RFC 9457); the SDK raises it as a typed exception.

``except scrm_sdk.NotFound`` catches a 404, ``except scrm_sdk.ValidationError as e`` a 422 whose
``e.errors`` name the bad fields, ``except scrm_sdk.ProblemError`` any of them. ``e.kind`` is the last
part of the problem ``type`` (``urn:scrm:problem:not-found`` → ``not-found``): the user guide lists
every kind.
"""

from __future__ import annotations

from typing import Any

import msgspec

PROBLEM_PREFIX = "urn:scrm:problem:"


class ScrmError(Exception):
    """Anything the SDK raises of its own (network errors are httpx's, raised after the retries)."""


class FieldError(msgspec.Struct, kw_only=True):
    """One bad field of a request: where (``body``, ``query``…), which field, and why."""

    field: str
    message: str
    source: str = "body"


class ProblemError(ScrmError):
    """An error answer: ``status``, ``type`` (a URN), ``title``, ``detail`` and the field ``errors``."""

    def __init__(self, document: dict[str, Any], status: int) -> None:
        self.document = document
        self.status = int(document.get("status") or status)
        self.type: str = str(document.get("type") or "about:blank")
        self.title: str = str(document.get("title") or "")
        self.detail: str = str(document.get("detail") or "")
        self.errors: list[FieldError] = [
            msgspec.convert(error, FieldError) for error in document.get("errors") or [] if isinstance(error, dict)
        ]
        super().__init__(f"{self.status} {self.kind}: {self.detail or self.title}")

    @property
    def kind(self) -> str:
        """The problem's kind, e.g. ``not-found`` or ``validation-error``."""
        return self.type.removeprefix(PROBLEM_PREFIX)


class BadRequest(ProblemError):
    """400: the request could not be read."""


class Unauthorized(ProblemError):
    """401: no API key, or one that is unknown or revoked."""


class Forbidden(ProblemError):
    """403: the key lacks the operation's scope, or the plugin is not enabled."""


class NotFound(ProblemError):
    """404: no such thing in this workspace."""


class Conflict(ProblemError):
    """409: the change conflicts with the current state (a duplicate, a wrong state)."""


class PayloadTooLarge(ProblemError):
    """413: the body is larger than the server takes."""


class ValidationError(ProblemError):
    """422: the request was read but is invalid; ``errors`` names each bad field."""


class RateLimited(ProblemError):
    """429: too many requests (retried with backoff before this is raised)."""


class ServerError(ProblemError):
    """5xx: the server failed (503s are retried with backoff before this is raised)."""


class ServiceUnavailable(ServerError):
    """503: a dependency is unavailable."""


_BY_STATUS: dict[int, type[ProblemError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationError,
    429: RateLimited,
    503: ServiceUnavailable,
}


def problem_from(status: int, content: bytes) -> ProblemError:
    """The exception for an error answer (a body that is no problem document still gives one)."""
    try:
        document = msgspec.json.decode(content) if content else {}
    except msgspec.DecodeError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    document.setdefault("status", status)
    document.setdefault("detail", content[:200].decode("utf-8", "replace") if content else "")
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ProblemError)
    return cls(document, status)
