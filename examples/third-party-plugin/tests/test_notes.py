"""Boot a real scrm app with this plugin on a throwaway SQLite database and call it over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import scrm


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client for a fresh app in workspace ``acme``, authenticated with an operator key."""
    settings = scrm.Settings.from_env({"SCRM_DATA_DIR": str(tmp_path), "SCRM_PLUGINS": "notes"})
    kernel = scrm.Kernel(settings)  # loads the plugin through its installed entry point
    await kernel.migrate()  # the core's migrations, then this plugin's
    await kernel.start()
    operator = await kernel.keys.create(None, ["*"], "test")
    app = scrm.create_app(kernel=kernel, configure_logs=False)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {operator.key}", "X-Scrm-Workspace": "acme"}
    async with httpx.AsyncClient(transport=transport, base_url="http://scrm.test", headers=headers) as client:
        created = await client.post("/api/v1/workspaces", json={"slug": "acme", "name": "Acme"})
        assert created.status_code == 201, created.text
        yield client
    await kernel.stop()


async def test_notes_answer_only_where_enabled(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/notes/members/1")
    assert response.status_code == 404
    assert response.json()["type"] == "urn:scrm:problem:plugin-not-enabled"


async def test_notes_follow_the_member(api: httpx.AsyncClient) -> None:
    enabled = await api.post("/api/v1/plugins", json={"name": "notes", "enabled": True})
    assert enabled.json()["enabled"] is True
    member = (await api.post("/api/v1/members", json={"external_id": "u-1"})).json()
    url = f"/api/v1/notes/members/{member['id']}"

    added = await api.post(url, json={"body": "Prefers oat milk"})
    assert added.status_code == 201, added.text
    assert added.json()["author"].startswith("key:")
    assert [n["body"] for n in (await api.get(url)).json()["items"]] == ["Prefers oat milk"]

    assert (await api.delete(f"/api/v1/members/{member['id']}")).status_code == 204
    assert (await api.get(url)).json()["items"] == []  # scrm_member_erased deleted them
    refused = await api.post(url, json={"body": "too late"})
    assert refused.status_code == 409
    assert refused.json()["type"] == "urn:scrm:problem:notes-member-erased"


async def test_unknown_member_is_404(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/plugins", json={"name": "notes", "enabled": True})
    response = await api.get("/api/v1/notes/members/999")
    assert response.json()["type"] == "urn:scrm:problem:not-found"


async def test_notes_come_a_page_at_a_time(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/plugins", json={"name": "notes", "enabled": True})
    member = (await api.post("/api/v1/members", json={"external_id": "u-1"})).json()
    url = f"/api/v1/notes/members/{member['id']}"
    for n in range(3):
        assert (await api.post(url, json={"body": f"note {n}"})).status_code == 201
    first = (await api.get(url, params={"limit": 2})).json()
    assert [n["body"] for n in first["items"]] == ["note 0", "note 1"]
    second = (await api.get(url, params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [n["body"] for n in second["items"]] == ["note 2"]
    assert second["next_cursor"] is None


async def test_bad_input_is_a_422_naming_the_field(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/plugins", json={"name": "notes", "enabled": True})
    member = (await api.post("/api/v1/members", json={"external_id": "u-1"})).json()
    blank = await api.post(f"/api/v1/notes/members/{member['id']}", json={"body": "  "})
    assert blank.status_code == 422
    assert blank.json()["errors"][0]["field"] == "body"
    huge = await api.get(f"/api/v1/notes/members/{2**63}")  # beyond a 64-bit id
    assert huge.status_code == 422
    forged = await api.get(f"/api/v1/notes/members/{member['id']}", params={"cursor": "forged"})
    assert forged.json()["type"] == "urn:scrm:problem:invalid-cursor"
