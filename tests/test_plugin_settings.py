"""``scrm_settings_schema``: a plugin's settings are checked wherever they are set (a 422 naming
``settings.<field>``), stored as converted (defaults filled in), shown as JSON Schema; a bad schema
stops the plugin from loading."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Annotated, Any

import msgspec
import pytest
import scrm
from scrm.kernel import Kernel
from scrm.plugins import PluginError, PluginManager
from scrm.testing import problem


class Limits(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    max_per_day: Annotated[int, msgspec.Meta(ge=1, le=100)] = 5
    greeting: str = "hi"


JSON_SCHEMA = {
    "type": "object",
    "properties": {"colour": {"enum": ["red", "green"]}, "sizes": {"type": "array", "items": {"type": "integer"}}},
    "additionalProperties": False,
}


async def _set(tenant: Any, name: str, settings: Any) -> Any:
    return await tenant.post("/api/v1/plugins", {"name": name, "enabled": True, "settings": settings})


async def test_a_struct_schema_checks_converts_and_is_shown(tenant: Any, plugin: Callable[..., str]) -> None:
    name = plugin(scrm_settings_schema=lambda: Limits)
    bad = problem(await _set(tenant, name, {"max_per_day": 0}), 422, "validation-error")
    assert [e["field"] for e in bad["errors"]] == ["settings.max_per_day"]
    unknown = problem(await _set(tenant, name, {"colour": "red"}), 422, "validation-error")
    assert [e["field"] for e in unknown["errors"]] == ["settings.colour"]
    wrong = problem(await _set(tenant, name, {"greeting": 3}), 422, "validation-error")
    assert [e["field"] for e in wrong["errors"]] == ["settings.greeting"]
    good = await _set(tenant, name, {"max_per_day": "7"})
    assert good.status_code == 200, good.text
    assert good.json()["settings"] == {"max_per_day": 7, "greeting": "hi"}  # converted, defaults filled in
    shown = (await tenant.get(f"/api/v1/plugins/{name}")).json()
    assert shown["settings_schema"]["$ref"].endswith("Limits")


async def test_a_json_schema_checks_every_field(tenant: Any, plugin: Callable[..., str]) -> None:
    name = plugin(scrm_settings_schema=lambda: JSON_SCHEMA)
    bad = problem(await _set(tenant, name, {"colour": "blue", "sizes": [1, "x"]}), 422, "validation-error")
    assert sorted(e["field"] for e in bad["errors"]) == ["settings.colour", "settings.sizes[1]"]
    assert (await _set(tenant, name, {"colour": "red", "sizes": [1]})).json()["settings"] == {
        "colour": "red",
        "sizes": [1],
    }
    # switching off or on without settings keeps what is stored
    await tenant.post("/api/v1/plugins", {"name": name, "enabled": False})
    again = await tenant.post("/api/v1/plugins", {"name": name, "enabled": True})
    assert again.json()["settings"] == {"colour": "red", "sizes": [1]}


async def test_a_plugin_without_a_schema_takes_any_object(tenant: Any, plugin: Callable[..., str]) -> None:
    name = plugin()
    response = await _set(tenant, name, {"anything": [1, {"x": None}]})
    assert response.json()["settings_schema"] is None
    assert response.json()["settings"] == {"anything": [1, {"x": None}]}


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"type": "no-such-type"}, "not a valid JSON Schema"),
        (["not", "a", "schema"], "must return a msgspec.Struct type or a JSON Schema"),
        (int, "must return a msgspec.Struct type or a JSON Schema"),
    ],
)
def test_a_bad_schema_stops_the_plugin_loading(declared: Any, message: str) -> None:
    module = types.ModuleType("badsettings")
    manifest = scrm.Manifest(name="badsettings", version="1.0.0", core=">=0.1")
    module.scrm_manifest = scrm.hookimpl(lambda: manifest)  # type: ignore[attr-defined]
    module.scrm_settings_schema = scrm.hookimpl(lambda: declared)  # type: ignore[attr-defined]
    with pytest.raises(PluginError, match=message):
        PluginManager().register(module)


async def test_the_service_validates_for_every_caller(kernel: Kernel, tenant: Any, plugin: Callable[..., str]) -> None:
    name = plugin(scrm_settings_schema=lambda: Limits)
    ws = await kernel.workspaces.ref(tenant.slug)
    with pytest.raises(scrm.ValidationFailed):
        await kernel.workspaces.set_plugin(ws, name, True, {"max_per_day": 1000})
    assert (await kernel.workspaces.plugin(ws, name)).enabled is False  # nothing half-written
