"""Rendering a template for a member: jinja2 in a sandbox.

Templates are written by operators, so they run in jinja2's ``ImmutableSandboxedEnvironment``: no
attribute of Python internals, no mutation of what they are given. Variables: ``member``
(``display_name``, ``external_id``, ``attributes``, ``identities``, ``tags``), ``data`` (what the
calling plugin passed: a lottery's prize, a journey's name) and ``unsubscribe_url``. A template that
does not compile is a 422 when it is saved; one that fails on a member's data is a 422 when sent.
"""

from __future__ import annotations

from typing import Any

import scrm
from jinja2 import TemplateError, Undefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_env = ImmutableSandboxedEnvironment(autoescape=False, undefined=Undefined, keep_trailing_newline=True)


def check(field: str, source: str) -> None:
    """422 naming ``field`` when ``source`` is not a valid template."""
    try:
        _env.parse(source)
    except TemplateError as exc:
        raise scrm.invalid(field, f"not a valid template: {exc.message}") from None


def member_context(member: scrm.MemberOut) -> dict[str, Any]:
    return {
        "id": member.id,
        "display_name": member.display_name,
        "external_id": member.external_id,
        "attributes": member.attributes,
        "identities": member.identities,
        "tags": member.tags,
    }


def render(source: str, member: scrm.MemberOut, data: dict[str, Any], unsubscribe_url: str | None) -> str:
    """The text for one member; a template that fails on this data is a 422."""
    try:
        return _env.from_string(source).render(
            member=member_context(member), data=data, unsubscribe_url=unsubscribe_url or ""
        )
    except (TemplateError, SecurityError, TypeError, ValueError, ArithmeticError) as exc:
        raise scrm.invalid("data", f"the template cannot be rendered with this data: {exc}") from None
