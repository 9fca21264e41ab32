"""Telling personal data apart from what may sit in a record that is never rewritten.

The consent ledger and the audit trail are hash-chained: a record cannot be changed without breaking
every link after it, so erasing a member cannot reach inside them. What they hold must therefore be
free of personal data from the start; :func:`personal_data_in` is the check they apply at the door.

It is a heuristic, on purpose strict where a mistake is cheap: a key that names a personal field
(``email``, ``phone``, ``ip``…), or a value that reads like an email address, a phone number or a
network address, is refused. A caller that needs such a fact keeps it in the member's own row (which
erasure reaches) and refers to the member by id.
"""

from __future__ import annotations

import re
from typing import Any

#: keys that name a personal field, whatever their value (compared lowercased, ``-`` as ``_``)
PERSONAL_KEYS = frozenset(
    {
        "email",
        "e_mail",
        "mail",
        "phone",
        "mobile",
        "tel",
        "telephone",
        "name",
        "full_name",
        "first_name",
        "last_name",
        "display_name",
        "address",
        "ip",
        "ip_address",
        "user_agent",
        "id_card",
        "id_number",
        "passport",
        "birthday",
        "date_of_birth",
        "wechat",
        "wecom",
        "openid",
        "unionid",
    }
)
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an email address", re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]{2,}")),
    (
        "a phone number",
        re.compile(r"\+\d[\d \-]{6,}\d|(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)\d{3}[ .\-]\d{3,4}[ .\-]\d{4}(?!\d)"),
    ),
    (
        "a network address",
        re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])|\b(?:[0-9a-fA-F]{1,4}:){4,7}[0-9a-fA-F]{1,4}\b"),
    ),
)


def personal_data_in(value: Any, path: str = "") -> str | None:
    """Where ``value`` (JSON-like) seems to hold personal data, and what: ``"form.email: a personal
    field"``; None when nothing was found."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if str(key).lower().replace("-", "_") in PERSONAL_KEYS:
                return f"{where}: a personal field"
            found = personal_data_in(item, where)
            if found:
                return found
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = personal_data_in(item, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(value, str):
        for what, pattern in _PATTERNS:
            if pattern.search(value):
                return f"{path or 'value'}: reads like {what}"
    return None
