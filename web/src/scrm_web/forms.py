"""Forms: the core's form helpers (:mod:`scrm.forms`, public to plugins too), with errors translated
into the operator's language."""

from __future__ import annotations

from scrm import Problem, invalid
from scrm.forms import decode_form as decode
from scrm.forms import form_errors
from scrm.forms import form_values as values

from scrm_web import i18n

__all__ = ["decode", "field_errors", "invalid", "values"]


def field_errors(problem: Problem) -> dict[str, str]:
    """Each field's error message, translated, keyed by field name (``""``: form-wide errors)."""
    return form_errors(problem, i18n.gettext)
