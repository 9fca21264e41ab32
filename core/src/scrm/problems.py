"""RFC 9457 problem documents: every error the API returns, with a stable ``type`` per kind.

Services raise :class:`Problem` subclasses; the app turns them (and Litestar's own validation and
HTTP errors) into ``application/problem+json`` responses. The ``type`` URIs are part of the API
contract: clients branch on them, so they never change once published.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:scrm:problem:"
log = logging.getLogger("scrm.errors")


class Problem(Exception):
    """An error with an HTTP status and a stable kind; ``errors`` names fields at fault, ``headers``
    are response headers the status needs (a 416's ``Content-Range``)."""

    status: int = 400
    kind: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str = "",
        *,
        errors: list[dict[str, Any]] | None = None,
        status: int | None = None,
        kind: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        if status is not None:
            self.status = status
        if kind is not None:
            self.kind = kind
        if title is not None:
            self.title = title
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra

    def document(self, instance: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": TYPE_PREFIX + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            doc["instance"] = instance
        if self.errors is not None:
            doc["errors"] = self.errors
        doc.update(self.extra)
        return doc


class BadRequest(Problem):
    pass


class ValidationFailed(Problem):
    status = 422
    kind = "validation-error"
    title = "The request is not valid"


def field_error(field: str, message: str, source: str = "body") -> dict[str, str]:
    """One entry of a validation problem's ``errors``, in the shape Litestar's own validation errors
    take: the ``field`` (``tags[2]``, ``[0].member_id``; ``""`` for the whole input), its ``source``
    (``body``, ``query`` or ``path``) and a ``message``. Collect several, then raise
    :class:`ValidationFailed` with them, to report every bad field of an input at once."""
    return {"field": field, "source": source, "message": message}


def invalid_fields(errors: list[dict[str, str]]) -> ValidationFailed:
    """The 422 of several fields at once (each a :func:`field_error`), so a caller learns every
    mistake of an input in one answer; :func:`invalid` is the one-field case."""
    return ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)


def invalid(field: str, message: str, source: str = "body") -> ValidationFailed:
    """The 422 of one field: for the checks a msgspec type cannot express (``raise invalid("ends_at",
    "must be later than starts_at")``)."""
    return ValidationFailed(f"{field}: {message}" if field else message, errors=[field_error(field, message, source)])


class InvalidCursor(Problem):
    kind = "invalid-cursor"
    title = "The pagination cursor is not valid"


class Unauthenticated(Problem):
    status = 401
    kind = "unauthenticated"
    title = "Authentication required"


class Forbidden(Problem):
    status = 403
    kind = "forbidden"
    title = "Not allowed"


class MissingScope(Problem):
    status = 403
    kind = "missing-scope"
    title = "The credential lacks the scope this route needs"


class WorkspaceRequired(Problem):
    kind = "workspace-required"
    title = "Name the workspace to act in"


class NotFound(Problem):
    status = 404
    kind = "not-found"
    title = "Not found"


class PluginNotEnabled(Problem):
    status = 404
    kind = "plugin-not-enabled"
    title = "The plugin is not enabled in this workspace"


class Conflict(Problem):
    status = 409
    kind = "conflict"
    title = "Conflicts with existing data"


def duplicate(field: str, detail: str) -> Conflict:
    """The conflict of a value that must be unique, naming the field."""
    return Conflict(detail, errors=[{"field": field, "source": "body", "message": "already exists"}])


class RateLimited(Problem):
    status = 429
    kind = "rate-limited"
    title = "Too many attempts; wait and retry"


class PayloadTooLarge(Problem):
    status = 413
    kind = "payload-too-large"
    title = "The request body is too large"


class ServiceUnavailable(Problem):
    status = 503
    kind = "unavailable"
    title = "A dependency is unavailable; retry later"


def problem_response(problem: Problem, request: Request[Any, Any, Any] | None = None) -> Response[Any]:
    headers = {"Retry-After": "5"} if problem.status == 503 else {}
    instance = request.url.path if request is not None else None
    return Response(
        content=problem.document(instance),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers | problem.headers,
    )


def _validation_errors(extra: Any) -> list[dict[str, Any]]:
    """Litestar's validation details as ``[{"field", "source", "message"}]``."""
    errors = []
    for item in extra if isinstance(extra, list) else []:
        if isinstance(item, dict):
            errors.append(
                {
                    "field": field_name(str(item.get("key", "")), str(item.get("message", ""))),
                    "source": item.get("source", "body"),
                    "message": item.get("message", ""),
                }
            )
    return errors


_PATH_IN_MESSAGE = re.compile(r"at `\$\.?([^`]*)`")
_NAMED_FIELD = re.compile(r"(?:unknown|required) field `([^`]*)`")


def field_name(key: str, message: str) -> str:
    """The field a validation message is about, as a client names it (``identities.email``).

    Litestar reports the body as a whole as ``data``; msgspec's message carries the path inside
    it ("... - at `$.identities.email`") or names the field ("unknown field `x`").
    """
    path = _PATH_IN_MESSAGE.search(message)
    named = _NAMED_FIELD.search(message)
    prefix = path.group(1) if path else ""
    if named:
        return f"{prefix}.{named.group(1)}" if prefix else named.group(1)
    if path:
        return prefix
    return "" if key == "data" else key


def _body_field(cause: str, fallback: str) -> str:
    """The field of a body error from msgspec's own message, whose path Litestar shortens: inside a
    JSON array body (a batch) it keeps the position, ``[1].occurred_at``."""
    located = field_name("", cause.replace("`$.data", "`$", 1))
    return located or fallback


_STATUS_KINDS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    429: "rate-limited",
}


def handle_problem(request: Request[Any, Any, Any], exc: Problem) -> Response[Any]:
    return problem_response(exc, request)


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's own errors (routing, body decoding, validation) as problem documents."""
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc.extra)
        if any(e["field"] == "" and e["message"] == "'data'" for e in errors):  # Litestar: no body at all
            return problem_response(_MalformedBody("The request body is empty; send a JSON object"), request)
        if len(errors) == 1 and errors[0]["source"] == "body" and isinstance(exc.__cause__, msgspec.ValidationError):
            errors[0]["field"] = _body_field(str(exc.__cause__), errors[0]["field"])
        detail = errors[0]["message"] if errors else exc.detail
        if "JSON is malformed" in str(detail) or "malformed" in str(exc.detail).lower():
            return problem_response(_MalformedBody(str(detail), errors=errors), request)
        return problem_response(ValidationFailed(_describe(errors) or exc.detail, errors=errors), request)
    if exc.status_code == 400 and isinstance(exc.__cause__, (msgspec.DecodeError, SerializationException)):
        return problem_response(_MalformedBody(f"The body is not valid JSON: {exc.detail}"), request)
    kind = _STATUS_KINDS.get(exc.status_code, "http-error")
    return problem_response(_generic(exc.status_code, kind, exc.detail), request)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Anything unforeseen: a 500 problem document without internals, logged with its traceback."""
    problem = _map_database_error(exc)
    if problem is None:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        problem = _generic(500, "internal-error", "Internal server error; the error was logged")
    return problem_response(problem, request)


def _map_database_error(exc: Exception) -> Problem | None:
    """A database that cannot be reached (down, restarting, out of connections) is a 503, not a 500."""
    import sqlite3

    from scrm.db import UNREACHABLE

    if isinstance(exc, UNREACHABLE):
        return ServiceUnavailable("The database is unavailable; retry shortly")
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return ServiceUnavailable("The database is busy; retry shortly")
    return None


class _MalformedBody(Problem):
    kind = "malformed-body"
    title = "The request body is not valid JSON"


def _generic(status: int, kind: str, detail: str) -> Problem:
    return Problem(detail, status=status, kind=kind, title=HTTPStatus(status).phrase)


def _describe(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors)


class FieldError(msgspec.Struct):
    """One field at fault: its name as a client spells it, where it was (``body``, ``query``, ``path``)."""

    field: str
    source: str
    message: str


class ProblemDocument(msgspec.Struct):
    """The body of every error answer, as the OpenAPI document declares it. Some kinds add members
    (``required_scope``, ``missing``, a plugin's own), which the schema allows."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


#: what can go wrong with any API call: the request (400, 422), the key (401, 403), what it names
#: (404: an id, a workspace, a plugin not enabled), the database (503)
_ANY_CALL = {
    400: "The request is malformed (a body that is not JSON, a bad cursor)",
    401: "No API key, or an unknown or revoked one",
    403: "The key lacks the scope the operation needs",
    404: "What the path names does not exist in the workspace, or the plugin is not enabled there",
    422: "A parameter or the body is not valid; errors names each field",
    503: "A dependency is unavailable; retry after Retry-After seconds",
}
#: and with a call that writes
_WRITES = {
    409: "Conflicts with existing data (a duplicate name, a state that does not allow it)",
    413: "The request body is too large",
    415: "The body is not in a media type the operation reads",
}


def problem_responses(methods: set[str]) -> dict[int, ResponseSpec]:
    """The problem documents an API operation of these HTTP methods can answer, for its OpenAPI
    description (with ``application/problem+json``, which clients and fuzzers check answers against)."""
    statuses = dict(_ANY_CALL)
    if methods & {"POST", "PUT", "PATCH", "DELETE"}:
        statuses |= _WRITES
    return {status: problem_spec(description) for status, description in sorted(statuses.items())}


def problem_spec(description: str) -> ResponseSpec:
    """A problem-document answer in a handler's OpenAPI ``responses``: for a status the core does not
    declare for every operation (``responses={416: scrm.problem_spec("The range is outside the file")}``)."""
    return ResponseSpec(
        data_container=ProblemDocument,
        media_type=PROBLEM_MEDIA_TYPE,
        description=description,
        generate_examples=False,
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    Problem: handle_problem,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
