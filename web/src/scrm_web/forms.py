"""Forms: decode a submitted form into the same msgspec types the API uses, so the core's services
validate console input exactly as they validate API input, and map any error back to its field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec
from scrm import Problem, ValidationFailed

from scrm_web import i18n

T = TypeVar("T")


def values(form: Mapping[str, Any]) -> dict[str, str]:
    """The submitted text fields (what the form shows again when it comes back with errors)."""
    return {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "_csrf_token"}


def decode(form: Mapping[str, Any], into: type[T], *, lists: tuple[str, ...] = ()) -> T:
    """``into`` from the form's fields: blank fields are left out (so defaults apply), fields named
    in ``lists`` are comma-separated lists; a bad field is a :class:`ValidationFailed` naming it."""
    data: dict[str, Any] = {}
    for key, value in values(form).items():
        if not value:
            continue
        data[key] = [v.strip() for v in value.split(",") if v.strip()] if key in lists else value
    try:
        return msgspec.convert(data, into, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        field = message.rsplit("$.", 1)[1].split("`")[0].split("[")[0].split(".")[0] if "$." in message else ""
        reason = message.split(" - at ", 1)[0]
        if reason.startswith("Object missing required field"):
            field = reason.rsplit("`", 2)[-2]
            reason = "required"
        raise ValidationFailed(
            f"{field}: {reason}" if field else reason,
            errors=[{"field": field, "source": "body", "message": reason}],
        ) from None


def invalid(field: str, message: str) -> ValidationFailed:
    """The error of one field, as the core's services raise it (``message`` is an English msgid)."""
    return ValidationFailed(f"{field}: {message}", errors=[{"field": field, "source": "body", "message": message}])


def field_errors(problem: Problem) -> dict[str, str]:
    """Each field's error message (translated), keyed by field name; ``""`` holds form-wide errors.

    A field inside a list (``tags[2]``) is reported on the list's field (``tags``).
    """
    errors: dict[str, str] = {}
    for error in problem.errors or []:
        name = str(error.get("field", "")).split("[")[0].split(".")[0]
        errors.setdefault(name, i18n.gettext(str(error.get("message", ""))))
    if not errors:
        errors[""] = i18n.gettext(problem.detail)
    return errors
