"""A plugin's manifest: who it is, which core versions it fits, what it asks to be allowed."""

from __future__ import annotations

import re

import msgspec

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    """What a plugin declares about itself (hook ``scrm_manifest``).

    ``core`` is a PEP 440 specifier of the scrm versions the plugin works with (``">=0.1,<1"``);
    ``scopes`` lists the API scopes its routes use, shown to admins before they enable it.
    """

    name: str
    version: str
    description: str = ""
    core: str = ""
    scopes: list[str] = msgspec.field(default_factory=list)
    homepage: str = ""
