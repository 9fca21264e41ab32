"""A plugin's settings schema (hook ``scrm_settings_schema``) and the validation of settings against it.

A plugin declares its settings in a workspace either as a msgspec ``Struct`` type (fields with
defaults; the stored settings are the converted value, defaults filled in) or as a JSON Schema (a
dict; Draft 2020-12, checked when the plugin loads; the stored settings are what was given). Every
place settings are set — ``POST /api/v1/plugins``, the console, ``scrm bundle apply`` — goes through
:meth:`Workspaces.set_plugin`, which validates here: a bad value is a 422 naming ``settings.<field>``.
A plugin that declares no schema takes any JSON object.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import msgspec

from scrm.problems import ValidationFailed, field_error

_AT = re.compile(r" - at `\$(.*)`$")


class SettingsSchema:
    """One plugin's declared settings, able to validate a workspace's settings and to describe
    itself as JSON Schema (for the API, the console and the catalogue)."""

    def __init__(self, plugin: str, declared: Any) -> None:
        self.plugin = plugin
        self.struct: type[msgspec.Struct] | None = None
        if isinstance(declared, type) and issubclass(declared, msgspec.Struct):
            self.struct = declared
            self.json_schema: dict[str, Any] = msgspec.json.schema(declared)
        elif isinstance(declared, dict):
            jsonschema.Draft202012Validator.check_schema(declared)  # a SchemaError names what is wrong
            self.json_schema = declared
        else:
            raise TypeError("a msgspec.Struct type or a JSON Schema (dict)")
        self._validator = None if self.struct else jsonschema.Draft202012Validator(self.json_schema)

    def validate(self, settings: dict[str, Any]) -> dict[str, Any]:
        """The settings to store, or :class:`ValidationFailed` naming every bad field as ``settings.<path>``."""
        if self.struct is not None:
            try:
                converted = msgspec.convert(settings, self.struct, strict=False)
            except msgspec.ValidationError as exc:
                message = str(exc)
                at = _AT.search(message)
                path = at.group(1) if at else ""
                reason = _AT.sub("", message)
                missing = re.match(r"Object missing required field `(\w+)`", reason)
                if missing:
                    path, reason = f"{path}.{missing.group(1)}", "required"
                unknown = re.match(r"Object contains unknown field `(\w+)`", reason)
                if unknown:
                    path, reason = f"{path}.{unknown.group(1)}", "unknown field"
                raise self._failed([(path, reason)]) from None
            stored: dict[str, Any] = msgspec.to_builtins(converted)
            return stored
        assert self._validator is not None
        errors = sorted(self._validator.iter_errors(settings), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            raise self._failed([(_json_path(e.absolute_path), e.message) for e in errors])
        return settings

    def _failed(self, errors: list[tuple[str, str]]) -> ValidationFailed:
        fields = [field_error(f"settings{path}", reason) for path, reason in errors]
        first = fields[0]
        return ValidationFailed(
            f"{first['field']}: {first['message']} (settings of the plugin {self.plugin!r})", errors=fields
        )


def _json_path(parts: Any) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
