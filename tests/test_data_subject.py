"""Data-subject requests and plugin services: ``GET /members/{id}/export`` gathers every installed
plugin's share, erasure runs every plugin's ``scrm_erase_member`` inside its transaction, and
``kernel.service`` finds another plugin's public service only where it is enabled."""

from __future__ import annotations

from typing import Any

import pytest
import scrm
from conftest import Tenant, problem
from scrm.kernel import Kernel


async def test_export_holds_the_profile_consents_events_and_plugins_shares(
    tenant: Tenant, plugin: Any, kernel: Kernel
) -> None:
    member = await tenant.member(external_id="u-1", display_name="Ada", identities={"email": "ada@example.com"})

    def share(workspace: scrm.WorkspaceRef, member_id: int) -> dict[str, Any] | None:
        return {"workspace": workspace.slug, "member": member_id} if member_id == member["id"] else None

    # installed but not enabled here: a plugin switched off may still hold data
    name = plugin(scrm_export_member=share)

    async def nothing(member_id: int) -> None:
        return None

    silent = plugin(scrm_export_member=nothing)  # an async hook answering None is left out too
    granted = await tenant.post(
        "/api/v1/consents",
        [{"member_id": member["id"], "purpose": "marketing.email", "status": "granted", "source": "form"}],
    )
    assert granted.status_code == 201, granted.text
    assert (await tenant.post("/api/v1/events", {"member_id": member["id"], "type": "order.paid"})).status_code == 201

    response = await tenant.get(f"/api/v1/members/{member['id']}/export")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["member"]["display_name"] == "Ada"
    assert [c["purpose"] for c in body["consents"]] == ["marketing.email"]
    assert "order.paid" in [e["type"] for e in body["events"]]
    assert body["plugins"][name] == {"workspace": tenant.slug, "member": member["id"]}
    assert silent not in body["plugins"]


async def test_export_needs_its_own_scope_and_stays_in_the_workspace(tenant: Tenant, other: Tenant) -> None:
    member = await tenant.member(external_id="u-2")
    reader = await tenant.new_key("members:read", "events:read", "consent:read")
    problem(await tenant.get(f"/api/v1/members/{member['id']}/export", key=reader), 403, "missing-scope")
    problem(await other.get(f"/api/v1/members/{member['id']}/export"), 404, "not-found")


async def test_erasure_runs_every_plugins_share_in_its_transaction(tenant: Tenant, plugin: Any, kernel: Kernel) -> None:
    member = await tenant.member(external_id="u-3", display_name="Grace")
    seen: list[tuple[int, bool]] = []

    async def erase(workspace: scrm.WorkspaceRef, member_id: int) -> None:
        seen.append((member_id, kernel.db.in_transaction()))

    plugin(scrm_erase_member=erase)
    assert (await tenant.delete(f"/api/v1/members/{member['id']}")).status_code == 204
    assert seen == [(member["id"], True)]


async def test_a_failing_plugin_share_rolls_the_erasure_back(tenant: Tenant, plugin: Any) -> None:
    member = await tenant.member(external_id="u-4", display_name="Linus")

    def refuse(member_id: int) -> None:
        raise RuntimeError("storage unavailable")

    plugin(scrm_erase_member=refuse)
    response = await tenant.delete(f"/api/v1/members/{member['id']}")
    assert response.status_code == 500
    kept = (await tenant.get(f"/api/v1/members/{member['id']}")).json()
    assert (kept["status"], kept["display_name"], kept["external_id"]) == ("active", "Linus", "u-4")


class Counter:
    def __init__(self) -> None:
        self.calls = 0


@pytest.mark.parametrize("enabled", [True, False])
async def test_a_plugin_service_is_found_only_where_enabled(
    tenant: Tenant, plugin: Any, kernel: Kernel, enabled: bool
) -> None:
    made: list[Counter] = []

    def provide(kernel: Kernel) -> Counter:
        made.append(Counter())
        return made[-1]

    name = plugin(scrm_service=provide)
    if enabled:
        await tenant.enable(name)
    ws = await kernel.workspaces.ref(tenant.slug)
    found = kernel.service(name, ws)
    assert (found is not None) is enabled
    assert kernel.service(name) is kernel.service(name)  # made once per kernel
    assert len(made) == 1
    assert kernel.service("no_such_plugin") is None
    assert kernel.service("testplugin") is None  # installed, but it offers no service
