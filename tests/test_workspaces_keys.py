"""Workspaces through an operator key, the X-Scrm-Workspace header, and API keys: created once,
listed without the secret, revoked at once."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from conftest import Tenant, make_tenant, problem
from scrm.kernel import Kernel
from scrm_testplugin.tables import Welcome

API = "/api/v1"


class Operator:
    """Calls with an operator key, optionally naming a workspace."""

    def __init__(self, client: httpx.AsyncClient, key: str) -> None:
        self.client = client
        self.key = key

    def headers(self, workspace: str | int | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.key}"}
        if workspace is not None:
            headers["X-Scrm-Workspace"] = str(workspace)
        return headers

    async def request(
        self, method: str, path: str, json: Any = None, workspace: str | int | None = None
    ) -> httpx.Response:
        kwargs = {} if json is None else {"json": json}
        return await self.client.request(method, API + path, headers=self.headers(workspace), **kwargs)


@pytest.fixture
def op(client: httpx.AsyncClient, operator_key: str) -> Operator:
    return Operator(client, operator_key)


def new_slug(prefix: str = "ws") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def count(kernel: Kernel, table: str) -> int:
    return int((await kernel.db.fetch(f"SELECT COUNT(*) AS n FROM {table}"))[0]["n"])


# --- workspaces -------------------------------------------------------------------------------


async def test_workspace_lifecycle(op: Operator) -> None:
    slug = new_slug()
    created = await op.request(
        "POST", "/workspaces", {"slug": slug, "name": "Acme Coffee", "time_zone": "Asia/Shanghai"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["slug"] == slug
    assert body["name"] == "Acme Coffee"
    assert body["time_zone"] == "Asia/Shanghai"
    assert isinstance(body["id"], int)
    assert body["created_at"]

    default_tz = await op.request("POST", "/workspaces", {"slug": new_slug(), "name": "Default"})
    assert default_tz.status_code == 201, default_tz.text
    assert default_tz.json()["time_zone"] == "UTC"

    listed = await op.request("GET", "/workspaces")
    assert listed.status_code == 200, listed.text
    slugs = [w["slug"] for w in listed.json()]
    assert slug in slugs
    assert default_tz.json()["slug"] in slugs
    assert [w["id"] for w in listed.json()] == sorted(w["id"] for w in listed.json())

    assert (await op.request("GET", f"/workspaces/{slug}")).json() == body
    assert (await op.request("GET", f"/workspaces/{body['id']}")).json() == body

    patched = await op.request("PATCH", f"/workspaces/{slug}", {"name": "Acme Tea", "time_zone": "Europe/Paris"})
    assert patched.status_code == 200, patched.text
    assert patched.json() == {**body, "name": "Acme Tea", "time_zone": "Europe/Paris"}
    assert (await op.request("GET", f"/workspaces/{slug}")).json() == patched.json()
    only_name = await op.request("PATCH", f"/workspaces/{slug}", {"name": "Acme"})
    assert only_name.json()["time_zone"] == "Europe/Paris"
    unchanged = await op.request("PATCH", f"/workspaces/{slug}", {})
    assert unchanged.status_code == 200, unchanged.text
    assert unchanged.json() == only_name.json()

    deleted = await op.request("DELETE", f"/workspaces/{slug}")
    assert deleted.status_code == 204, deleted.text
    problem(await op.request("GET", f"/workspaces/{slug}"), 404, "not-found")
    problem(await op.request("PATCH", f"/workspaces/{slug}", {"name": "x"}), 404, "not-found")
    problem(await op.request("DELETE", f"/workspaces/{slug}"), 404, "not-found")
    assert slug not in [w["slug"] for w in (await op.request("GET", "/workspaces")).json()]
    # "²" is a digit to str.isdigit() but no number to int(): not a workspace id, no 500 (fuzzer seed 696031317)
    problem(await op.request("GET", "/workspaces/²"), 404, "not-found")


async def test_duplicate_slug_is_409(kernel: Kernel, op: Operator) -> None:
    slug = new_slug()
    assert (await op.request("POST", "/workspaces", {"slug": slug, "name": "First"})).status_code == 201
    before = await count(kernel, "scrm_workspace")
    doc = problem(await op.request("POST", "/workspaces", {"slug": slug, "name": "Second"}), 409, "conflict")
    assert doc["errors"][0]["field"] == "slug"
    assert await count(kernel, "scrm_workspace") == before
    assert (await op.request("GET", f"/workspaces/{slug}")).json()["name"] == "First"


@pytest.mark.parametrize(
    "slug", ["Bad Slug", "UPPER", "a", "-lead", "under_score", "dots.no", "x" * 64, "ü-nicode", ""]
)
async def test_bad_slug_is_422(kernel: Kernel, op: Operator, slug: str) -> None:
    before = await count(kernel, "scrm_workspace")
    doc = problem(await op.request("POST", "/workspaces", {"slug": slug, "name": "Bad"}), 422, "validation-error")
    assert doc["errors"][0]["field"] == "slug"
    assert await count(kernel, "scrm_workspace") == before


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "utc+8", "Asia/Shang hai", "../../etc/passwd", "Europe/"])
async def test_bad_time_zone_is_422(kernel: Kernel, op: Operator, tz: str) -> None:
    before = await count(kernel, "scrm_workspace")
    doc = problem(
        await op.request("POST", "/workspaces", {"slug": new_slug(), "name": "Tz", "time_zone": tz}),
        422,
        "validation-error",
    )
    assert doc["errors"][0]["field"] == "time_zone"
    assert await count(kernel, "scrm_workspace") == before

    slug = new_slug()
    assert (await op.request("POST", "/workspaces", {"slug": slug, "name": "Tz"})).status_code == 201
    doc = problem(await op.request("PATCH", f"/workspaces/{slug}", {"time_zone": tz}), 422, "validation-error")
    assert doc["errors"][0]["field"] == "time_zone"
    assert (await op.request("GET", f"/workspaces/{slug}")).json()["time_zone"] == "UTC"


async def test_delete_cascades_to_everything_in_the_workspace(
    kernel: Kernel, op: Operator, tenant: Tenant, other: Tenant
) -> None:
    members = [await tenant.member(external_id=f"gone-{i}", tags=["doomed"]) for i in range(3)]
    await tenant.post(f"{API}/tags", {"name": "spare"})
    await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": True})
    narrow = await tenant.new_key("members:read")
    survivor = await other.member(external_id="gone-0", tags=["doomed"])
    assert (await tenant.get(f"{API}/members/{members[0]['id']}", key=narrow)).status_code == 200

    deleted = await op.request("DELETE", f"/workspaces/{tenant.slug}")
    assert deleted.status_code == 204, deleted.text

    for table in ("scrm_member", "scrm_tag", "scrm_member_tag", "scrm_api_key", "scrm_workspace_plugin"):
        rows = await kernel.db.fetch(f"SELECT id FROM {table} WHERE workspace = {{}}", tenant.id)
        assert rows == [], table
    ids = [m["id"] for m in members]
    rows = await kernel.db.fetch(f"SELECT id FROM scrm_member WHERE id IN ({', '.join(['{}'] * len(ids))})", *ids)
    assert rows == []
    # its keys are gone with it, at once
    problem(await tenant.get(f"{API}/members", key=narrow), 401, "unauthenticated")
    problem(await tenant.get(f"{API}/members"), 401, "unauthenticated")
    problem(await op.request("GET", "/members", workspace=tenant.slug), 404, "not-found")
    problem(await op.request("GET", "/members", workspace=tenant.id), 404, "not-found")
    # the other workspace, with the same external id and tag name, is untouched
    kept = await other.get(f"{API}/members/{survivor['id']}")
    assert kept.status_code == 200
    assert kept.json() == survivor
    assert [t["name"] for t in (await other.get(f"{API}/tags")).json()] == ["doomed"]


# --- operator keys and the workspace header ---------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "json"),
    [
        ("GET", "/members", None),
        ("POST", "/members", {"external_id": "op"}),
        ("GET", "/tags", None),
        ("GET", "/keys", None),
        ("GET", "/plugins", None),
        ("GET", "/members/export", None),
    ],
)
async def test_operator_key_without_workspace_header_is_400(
    kernel: Kernel, op: Operator, method: str, path: str, json: Any
) -> None:
    before = await count(kernel, "scrm_member")
    doc = problem(await op.request(method, path, json), 400, "workspace-required")
    assert "X-Scrm-Workspace" in doc["detail"]
    assert await count(kernel, "scrm_member") == before


async def test_operator_key_acts_in_the_named_workspace(op: Operator, tenant: Tenant, other: Tenant) -> None:
    created = await op.request("POST", "/members", {"external_id": "by-op", "tags": ["op"]}, workspace=tenant.slug)
    assert created.status_code == 201, created.text
    member = created.json()
    # the member is the workspace's: its own key sees it, the other workspace does not
    assert (await tenant.get(f"{API}/members/{member['id']}")).json() == member
    problem(await other.get(f"{API}/members/{member['id']}"), 404, "not-found")
    for named in (tenant.slug, tenant.id):
        listed = await op.request("GET", "/members", workspace=named)
        assert listed.status_code == 200, listed.text
        assert [m["id"] for m in listed.json()["items"]] == [member["id"]]
    problem(await op.request("GET", f"/members/{member['id']}", workspace=other.slug), 404, "not-found")
    assert (await op.request("GET", "/members", workspace=other.slug)).json()["items"] == []
    problem(await op.request("GET", "/members", workspace="no-such-workspace"), 404, "not-found")
    # operator keys list every workspace
    slugs = [w["slug"] for w in (await op.request("GET", "/workspaces")).json()]
    assert {tenant.slug, other.slug} <= set(slugs)


async def test_workspace_key_sees_only_its_own_workspace(tenant: Tenant, other: Tenant) -> None:
    listed = await tenant.get(f"{API}/workspaces")
    assert listed.status_code == 200
    assert [w["slug"] for w in listed.json()] == [tenant.slug]
    assert (await tenant.get(f"{API}/workspaces/{tenant.slug}")).json()["id"] == tenant.id
    assert (await tenant.get(f"{API}/workspaces/{tenant.id}")).json()["slug"] == tenant.slug
    problem(await tenant.get(f"{API}/workspaces/{other.slug}"), 404, "not-found")


# --- keys -------------------------------------------------------------------------------------


async def test_key_is_shown_once_and_never_listed(kernel: Kernel, tenant: Tenant) -> None:
    created = await tenant.post(f"{API}/keys", {"scopes": ["members:read", "tags:*"], "name": "reporting"})
    assert created.status_code == 201, created.text
    body = created.json()
    key = body["key"]
    assert key.startswith("scrm_")
    assert len(key) >= 40
    assert body["prefix"] == key[:12]
    assert body["scopes"] == ["members:read", "tags:*"]
    assert body["name"] == "reporting"
    assert body["workspace"] == tenant.slug

    listed = await tenant.get(f"{API}/keys")
    assert listed.status_code == 200
    assert key not in listed.text
    mine = [k for k in listed.json() if k["id"] == body["id"]]
    assert mine == [
        {
            "id": body["id"],
            "name": "reporting",
            "prefix": key[:12],
            "scopes": ["members:read", "tags:*"],
            "workspace": tenant.slug,
            "created_at": mine[0]["created_at"],
            "revoked_at": None,
        }
    ]
    assert all("key" not in k for k in listed.json())
    # only a digest is stored
    rows = await kernel.db.fetch("SELECT * FROM scrm_api_key WHERE id = {}", body["id"])
    assert key not in str(rows)

    assert (await tenant.get(f"{API}/members", key=key)).status_code == 200
    problem(await tenant.get(f"{API}/keys", key=key), 403, "missing-scope")


async def test_revoked_key_is_refused_at_once(tenant: Tenant) -> None:
    created = (await tenant.post(f"{API}/keys", {"scopes": ["members:read"]})).json()
    key = created["key"]
    # used first, so the kernel has cached it
    assert (await tenant.get(f"{API}/members", key=key)).status_code == 200
    assert (await tenant.get(f"{API}/members", key=key)).status_code == 200

    revoked = await tenant.delete(f"{API}/keys/{created['id']}")
    assert revoked.status_code == 204, revoked.text
    problem(await tenant.get(f"{API}/members", key=key), 401, "unauthenticated")

    listed = {k["id"]: k for k in (await tenant.get(f"{API}/keys")).json()}
    assert listed[created["id"]]["revoked_at"] is not None
    problem(await tenant.delete(f"{API}/keys/{created['id']}"), 404, "not-found")
    assert (await tenant.get(f"{API}/members")).status_code == 200  # the revoking key still works


async def test_a_key_can_revoke_itself(tenant: Tenant) -> None:
    created = (await tenant.post(f"{API}/keys", {"scopes": ["keys:write", "keys:read"]})).json()
    key = created["key"]
    assert (await tenant.delete(f"{API}/keys/{created['id']}", key=key)).status_code == 204
    problem(await tenant.get(f"{API}/keys", key=key), 401, "unauthenticated")


async def test_operator_key_manages_a_workspaces_keys(op: Operator, tenant: Tenant) -> None:
    created = await op.request("POST", "/keys", {"scopes": ["members:read"], "name": "by-op"}, workspace=tenant.slug)
    assert created.status_code == 201, created.text
    assert created.json()["workspace"] == tenant.slug
    key = created.json()["key"]
    assert (await tenant.get(f"{API}/members", key=key)).status_code == 200
    listed = (await op.request("GET", "/keys", workspace=tenant.slug)).json()
    assert created.json()["id"] in [k["id"] for k in listed]
    assert all(k["workspace"] == tenant.slug for k in listed)
    revoked = await op.request("DELETE", f"/keys/{created.json()['id']}", workspace=tenant.slug)
    assert revoked.status_code == 204, revoked.text
    problem(await tenant.get(f"{API}/members", key=key), 401, "unauthenticated")


async def test_deleting_a_workspace_deletes_plugin_rows(
    kernel: Kernel, client: httpx.AsyncClient, operator_key: str
) -> None:
    """Plugins clean up their rows (scrm_workspace_deleted), so nothing surfaces in a workspace
    that later gets the same id (SQLite reuses the highest id)."""
    doomed = await make_tenant(kernel, client, "doomed")
    enable = await doomed.post("/api/v1/plugins", {"name": "testplugin", "enabled": True})
    assert enable.status_code == 200, enable.text
    await doomed.member(external_id="bea", display_name="Secret Bea")
    assert await Welcome.count().where(Welcome.workspace == doomed.id) == 1
    deleted = await client.delete(
        f"/api/v1/workspaces/{doomed.slug}", headers={"Authorization": f"Bearer {operator_key}"}
    )
    assert deleted.status_code == 204, deleted.text
    assert await Welcome.count().where(Welcome.workspace == doomed.id) == 0
