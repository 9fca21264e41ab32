"""Console forms for plugins and the console alike: decode a submitted form into the msgspec types
the API uses, so a service validates console input exactly as it validates API input, and map any
error back to the field it is about (to show it next to that field)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import msgspec

from scrm.problems import Problem, invalid

T = TypeVar("T")
UNPROCESSABLE = 422


def form_values(form: Mapping[str, Any]) -> dict[str, str]:
    """The submitted text fields, stripped (what the form shows again when it comes back with
    errors); the CSRF token is left out."""
    return {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "_csrf_token"}


def decode_form(form: Mapping[str, Any], into: type[T], *, lists: tuple[str, ...] = ()) -> T:
    """``into`` from the form's fields: blank fields are left out (so defaults apply), fields named
    in ``lists`` are comma-separated lists, text converts to numbers, booleans and times as msgspec's
    lax mode allows; a bad field is a :class:`scrm.ValidationFailed` naming it."""
    data: dict[str, Any] = {}
    for key, value in form_values(form).items():
        if not value:
            continue
        data[key] = [v.strip() for v in value.split(",") if v.strip()] if key in lists else value
    return convert_form(data, into)


def convert_form(data: Mapping[str, Any], into: type[T]) -> T:
    """``into`` from data a form handler assembled (text where numbers are expected is converted);
    a bad value is a :class:`scrm.ValidationFailed` naming its top-level field."""
    try:
        return msgspec.convert(data, into, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        field = message.rsplit("$.", 1)[1].split("`")[0].split("[")[0].split(".")[0] if "$." in message else ""
        reason = message.split(" - at ", 1)[0]
        if reason.startswith("Object missing required field"):
            field = reason.rsplit("`", 2)[-2]
            reason = "required"
        raise invalid(field, reason) from None


def form_errors(problem: Problem, translate: Callable[[str], str] = str) -> dict[str, str]:
    """Each field's error message (through ``translate``), keyed by field name; ``""`` holds
    form-wide errors. A field inside a list or object (``tags[2]``, ``tiers.gold``) is reported on
    its top-level field (``tags``, ``tiers``)."""
    errors: dict[str, str] = {}
    for error in problem.errors or []:
        name = str(error.get("field", "")).split("[")[0].split(".")[0]
        errors.setdefault(name, translate(str(error.get("message", ""))))
    if not errors:
        errors[""] = translate(problem.detail)
    return errors


def form_status(problem: Problem) -> int:
    """The status of a form shown again for ``problem``: 422 when it names a field (a duplicate name
    is a 409 to the API, but to the form it is an error next to a field, which htmx swaps in), else
    the problem's own."""
    if any(error.get("field") for error in problem.errors or []):
        return UNPROCESSABLE
    return problem.status
