"""Forms: the core's form helpers (``scrm.decode_form`` and the rest, public to plugins too), with errors translated
into the operator's language."""

from __future__ import annotations

from scrm import Problem, form_errors, invalid
from scrm import decode_form as decode
from scrm import form_values as values

from scrm_web import i18n

__all__ = ["decode", "field_errors", "invalid", "values"]


def field_errors(problem: Problem) -> dict[str, str]:
    """Each field's error message, translated, keyed by field name (``""``: form-wide errors)."""
    return form_errors(problem, i18n.gettext)
