"""Scopes on every route, table-driven over the app's own route list.

For every ``/api/v1`` route handler (method, path, ``handler.opt["scope"]``): a key of the same
workspace holding every known scope but the one needed gets 403 ``missing-scope`` and writes
nothing; so does an operator key lacking it; no key, a malformed header, an unknown key and a
revoked key get 401 ``unauthenticated``; and a key holding just that one scope gets through. The
recipes below say how to call each route; a route without a recipe (or a recipe for a route the
app does not have) fails ``test_every_route_has_a_recipe``.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import scrm
from conftest import Tenant, core_route, problem
from litestar import Litestar
from scrm.api.security import SCOPE_OPT
from scrm.kernel import Kernel
from scrm.schemas import AppCreate, WorkspaceCreate
from scrm.scopes import CORE_SCOPES, OPERATOR_SCOPES, grants
from scrm.services.events import NewEvent

API = "/api/v1"
_seq = itertools.count(1)


def api_routes(app: Litestar) -> list[tuple[str, str, str]]:
    """(method, route path, scope) of every API route handler (Litestar's OPTIONS answers aside)."""
    found = []
    for route in app.routes:
        if not route.path.startswith(API):
            continue
        for handler in route.route_handlers:  # type: ignore[union-attr]
            if not core_route(handler):
                continue
            methods = handler.http_methods - {"OPTIONS"}
            for method in methods:
                found.append((method, route.path, handler.opt.get(SCOPE_OPT)))
    return sorted(found)


# --- how to call each route -------------------------------------------------------------------


@dataclass
class Call:
    url: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def kwargs(self) -> dict[str, Any]:
        if self.content is not None:
            return {"content": self.content}
        return {} if self.json is None else {"json": self.json}


@dataclass
class Ctx:
    """Makes the fresh objects a call needs, so a successful destructive call harms no other."""

    kernel: Kernel
    tenant: Tenant

    def name(self, prefix: str) -> str:
        return f"{prefix}-{next(_seq)}-{secrets.token_hex(2)}"

    async def member(self) -> int:
        return (await self.tenant.member(external_id=self.name("m"), tags=["scoped"]))["id"]

    async def tag(self) -> str:
        name = self.name("tag")
        response = await self.tenant.post(f"{API}/tags", {"name": name})
        assert response.status_code == 201, response.text
        return name

    async def key_id(self) -> int:
        ws = await self.kernel.workspaces.ref(self.tenant.id)
        return (await self.kernel.keys.create(ws, ["keys:write"], "target")).id

    async def app_id(self) -> int:
        ws = await self.kernel.workspaces.ref(self.tenant.id)
        return (await self.kernel.apps.create(ws, AppCreate(name="target", scopes=["members:read"]))).id

    async def workspace(self) -> str:
        slug = self.name("scoped-ws")
        await self.kernel.workspaces.create(WorkspaceCreate(slug=slug, name=slug))
        return slug


Recipe = Callable[[Ctx], Awaitable[Call]]
RECIPES: dict[tuple[str, str], Recipe] = {}


def recipe(method: str, path: str) -> Callable[[Recipe], Recipe]:
    def register(fn: Recipe) -> Recipe:
        assert (method, API + path) not in RECIPES
        RECIPES[(method, API + path)] = fn
        return fn

    return register


@recipe("GET", "/workspaces")
async def _list_workspaces(c: Ctx) -> Call:
    return Call(f"{API}/workspaces")


@recipe("POST", "/workspaces")
async def _create_workspace(c: Ctx) -> Call:
    return Call(f"{API}/workspaces", {"slug": c.name("new-ws"), "name": "New"})


@recipe("GET", "/workspaces/{slug:str}")
async def _get_workspace(c: Ctx) -> Call:
    return Call(f"{API}/workspaces/{c.tenant.slug}")


@recipe("PATCH", "/workspaces/{slug:str}")
async def _update_workspace(c: Ctx) -> Call:
    return Call(f"{API}/workspaces/{await c.workspace()}", {"name": "Renamed", "time_zone": "Asia/Shanghai"})


@recipe("DELETE", "/workspaces/{slug:str}")
async def _delete_workspace(c: Ctx) -> Call:
    return Call(f"{API}/workspaces/{await c.workspace()}")


@recipe("GET", "/members")
async def _list_members(c: Ctx) -> Call:
    return Call(f"{API}/members")


@recipe("POST", "/members")
async def _create_member(c: Ctx) -> Call:
    return Call(f"{API}/members", {"external_id": c.name("new"), "tags": ["fresh"]})


@recipe("GET", "/members/{member_id:int}")
async def _get_member(c: Ctx) -> Call:
    return Call(f"{API}/members/{await c.member()}")


@recipe("PATCH", "/members/{member_id:int}")
async def _update_member(c: Ctx) -> Call:
    return Call(f"{API}/members/{await c.member()}", {"display_name": "Changed", "status": "blocked"})


@recipe("DELETE", "/members/{member_id:int}")
async def _erase_member(c: Ctx) -> Call:
    return Call(f"{API}/members/{await c.member()}")


@recipe("GET", "/members/{member_id:int}/export")
async def _export_member(c: Ctx) -> Call:
    return Call(f"{API}/members/{await c.member()}/export")


@recipe("GET", "/members/by-external-id/{external_id:str}")
async def _by_external_id(c: Ctx) -> Call:
    ext = c.name("ext")
    await c.tenant.member(external_id=ext)
    return Call(f"{API}/members/by-external-id/{ext}")


@recipe("GET", "/members/{member_id:int}/tags")
async def _member_tags(c: Ctx) -> Call:
    return Call(f"{API}/members/{await c.member()}/tags")


@recipe("POST", "/members/{member_id:int}/tags")
async def _add_member_tags(c: Ctx) -> Call:
    return Call(f"{API}/members/{await c.member()}/tags", {"tags": ["added"]})


@recipe("DELETE", "/members/{member_id:int}/tags/{name:str}")
async def _remove_member_tag(c: Ctx) -> Call:
    return Call(f"{API}/members/{await c.member()}/tags/scoped")


@recipe("POST", "/members/bulk-tags")
async def _bulk_tags(c: Ctx) -> Call:
    return Call(f"{API}/members/bulk-tags", {"member_ids": [await c.member()], "add": ["bulk"], "remove": ["scoped"]})


@recipe("POST", "/members/import")
async def _import(c: Ctx) -> Call:
    row = f'{{"external_id": "{c.name("imp")}", "tags": ["imported"]}}\n'.encode()
    return Call(f"{API}/members/import", content=row, headers={"Content-Type": "application/x-ndjson"})


@recipe("GET", "/members/export")
async def _export(c: Ctx) -> Call:
    await c.member()
    return Call(f"{API}/members/export?format=csv")


@recipe("GET", "/tags")
async def _list_tags(c: Ctx) -> Call:
    return Call(f"{API}/tags")


@recipe("POST", "/tags")
async def _create_tag(c: Ctx) -> Call:
    return Call(f"{API}/tags", {"name": c.name("t"), "group": "g"})


@recipe("GET", "/tags/{name:str}")
async def _get_tag(c: Ctx) -> Call:
    return Call(f"{API}/tags/{await c.tag()}")


@recipe("PATCH", "/tags/{name:str}")
async def _update_tag(c: Ctx) -> Call:
    return Call(f"{API}/tags/{await c.tag()}", {"description": "changed", "group": "g"})


@recipe("DELETE", "/tags/{name:str}")
async def _delete_tag(c: Ctx) -> Call:
    return Call(f"{API}/tags/{await c.tag()}")


@recipe("GET", "/audit")
async def _list_audit(c: Ctx) -> Call:
    return Call(f"{API}/audit")


@recipe("GET", "/audit/export")
async def _export_audit(c: Ctx) -> Call:
    return Call(f"{API}/audit/export")


@recipe("GET", "/audit/verify")
async def _verify_audit(c: Ctx) -> Call:
    return Call(f"{API}/audit/verify")


@recipe("GET", "/moderation/terms")
async def _list_terms(c: Ctx) -> Call:
    return Call(f"{API}/moderation/terms")


@recipe("POST", "/moderation/terms")
async def _add_terms(c: Ctx) -> Call:
    return Call(f"{API}/moderation/terms", {"terms": [{"term": c.name("word")}]})


@recipe("DELETE", "/moderation/terms/{term_id:int}")
async def _remove_term(c: Ctx) -> Call:
    ws = await c.kernel.workspaces.ref(c.tenant.id)
    [term] = await c.kernel.wordlist.add(ws, scrm.ModerationTermsIn(terms=[scrm.ModerationTermIn(term=c.name("w"))]))
    return Call(f"{API}/moderation/terms/{term.id}")


@recipe("POST", "/moderation/check")
async def _check_text(c: Ctx) -> Call:
    return Call(f"{API}/moderation/check", {"text": "hello"})


@recipe("GET", "/keys")
async def _list_keys(c: Ctx) -> Call:
    return Call(f"{API}/keys")


@recipe("POST", "/keys")
async def _create_key(c: Ctx) -> Call:
    return Call(f"{API}/keys", {"scopes": ["keys:write"], "name": "made"})


@recipe("DELETE", "/keys/{key_id:int}")
async def _revoke_key(c: Ctx) -> Call:
    return Call(f"{API}/keys/{await c.key_id()}")


@recipe("GET", "/apps")
async def _list_apps(c: Ctx) -> Call:
    return Call(f"{API}/apps")


@recipe("POST", "/apps")
async def _create_app(c: Ctx) -> Call:
    return Call(f"{API}/apps", {"name": "made", "scopes": ["keys:write"]})


@recipe("GET", "/apps/{app_id:int}")
async def _get_app(c: Ctx) -> Call:
    return Call(f"{API}/apps/{await c.app_id()}")


@recipe("DELETE", "/apps/{app_id:int}")
async def _revoke_app(c: Ctx) -> Call:
    return Call(f"{API}/apps/{await c.app_id()}")


@recipe("GET", "/plugins")
async def _list_plugins(c: Ctx) -> Call:
    return Call(f"{API}/plugins")


@recipe("GET", "/plugins/{name:str}")
async def _get_plugin(c: Ctx) -> Call:
    return Call(f"{API}/plugins/testplugin")


@recipe("POST", "/plugins")
async def _set_plugin(c: Ctx) -> Call:
    return Call(f"{API}/plugins", {"name": "testplugin", "enabled": True, "settings": {"n": next(_seq)}})


@recipe("POST", "/events")
async def _record_event(c: Ctx) -> Call:
    return Call(f"{API}/events", {"member_id": await c.member(), "type": "scoped"})


@recipe("GET", "/events")
async def _list_events(c: Ctx) -> Call:
    return Call(f"{API}/events")


@recipe("GET", "/events/{event_id:int}")
async def _get_event(c: Ctx) -> Call:
    created = await c.kernel.events.record(
        await c.kernel.workspaces.ref(c.tenant.id), [NewEvent(await c.member(), "scoped")]
    )
    return Call(f"{API}/events/{created[0].id}")


@recipe("GET", "/members/{member_id:int}/events")
async def _member_events(c: Ctx) -> Call:
    return Call(f"{API}/members/{await c.member()}/events")


@recipe("POST", "/consents")
async def _record_consents(c: Ctx) -> Call:
    member = await c.member()
    return Call(
        f"{API}/consents",
        [
            {"member_id": member, "purpose": "marketing.email", "status": "granted"},
            {"member_id": member, "purpose": "marketing.sms", "status": "withdrawn", "evidence": {"form": "f"}},
        ],
    )


@recipe("GET", "/consents/purposes")
async def _list_purposes(c: Ctx) -> Call:
    return Call(f"{API}/consents/purposes")


@recipe("POST", "/consents/purposes")
async def _create_purpose(c: Ctx) -> Call:
    return Call(f"{API}/consents/purposes", {"name": c.name("p").replace("-", "_"), "description": "scoped"})


@recipe("GET", "/consents/verify")
async def _verify_consents(c: Ctx) -> Call:
    return Call(f"{API}/consents/verify")


@recipe("GET", "/members/{member_id:int}/consents")
async def _member_consents(c: Ctx) -> Call:
    return Call(f"{API}/members/{await c.member()}/consents")


@recipe("GET", "/members/{member_id:int}/can-contact")
async def _can_contact(c: Ctx) -> Call:
    return Call(f"{API}/members/{await c.member()}/can-contact?purpose=marketing.email")


@recipe("POST", "/members/{member_id:int}/contact-attempts")
async def _contact_attempt(c: Ctx) -> Call:
    return Call(f"{API}/members/{await c.member()}/contact-attempts", json={"purpose": "marketing.email"})


@recipe("GET", "/testplugin/welcomes")
async def _welcomes(c: Ctx) -> Call:
    return Call(f"{API}/testplugin/welcomes")


# --- what "nothing written" means -------------------------------------------------------------

WORKSPACE_TABLES = (
    "scrm_member",
    "scrm_tag",
    "scrm_member_tag",
    "scrm_api_key",
    "scrm_workspace_plugin",
    "scrm_event",
    "scrm_consent",
    "scrm_consent_chain",
    "scrm_consent_purpose",
)


async def snapshot(kernel: Kernel, tenant: Tenant) -> dict[str, Any]:
    """Row counts of every table, all workspaces, and every row of the tenant's workspace."""
    state: dict[str, Any] = {"workspaces": await kernel.db.fetch("SELECT * FROM scrm_workspace ORDER BY id")}
    for table in (*WORKSPACE_TABLES, "testplugin_welcome"):
        state[table] = (await kernel.db.fetch(f"SELECT COUNT(*) AS n, MAX(id) AS top FROM {table}"))[0]
        state[f"{table}:rows"] = await kernel.db.fetch(
            f"SELECT * FROM {table} WHERE workspace = {{}} ORDER BY id", tenant.id
        )
    return state


# --- the table --------------------------------------------------------------------------------


@dataclass
class Keys:
    """Per scope: a workspace key and an operator key holding every other known scope, and a
    key holding just that one (an operator key for operator-only scopes)."""

    lacking: dict[str, str]
    operator_lacking: dict[str, str]
    only: dict[str, str]
    revoked: str


@pytest.fixture
async def keys(kernel: Kernel, app: Litestar, tenant: Tenant) -> Keys:
    ws = await kernel.workspaces.ref(tenant.id)
    known = kernel.known_scopes()
    lacking, operator_lacking, only = {}, {}, {}
    for scope in sorted({s for _, _, s in api_routes(app) if s}):
        held = [s for s in known if s != scope and s not in OPERATOR_SCOPES]
        assert not grants(held, scope)
        lacking[scope] = (await kernel.keys.create(ws, held, f"all but {scope}")).key
        held_op = [s for s in known if s != scope]
        operator_lacking[scope] = (await kernel.keys.create(None, held_op, f"operator, all but {scope}")).key
        target = None if scope in OPERATOR_SCOPES else ws
        only[scope] = (await kernel.keys.create(target, [scope], f"only {scope}")).key
    revoked = await kernel.keys.create(ws, ["*"], "revoked")
    await kernel.keys.revoke(ws, revoked.id)
    response = await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": True})
    assert response.status_code == 200, response.text
    return Keys(lacking=lacking, operator_lacking=operator_lacking, only=only, revoked=revoked.key)


def test_every_route_has_a_recipe_and_a_known_scope(app: Litestar, kernel: Kernel) -> None:
    routes = api_routes(app)
    assert len(routes) >= 29
    declared = {(m, p) for m, p, _ in routes}
    assert declared - set(RECIPES) == set(), "routes without a recipe in test_scopes.py"
    assert set(RECIPES) - declared == set(), "recipes for routes the app does not have"
    known = set(kernel.known_scopes())
    for method, path, scope in routes:
        assert scope, f"{method} {path} declares no scope"
        assert scope in known, f"{method} {path}: {scope}"
    assert set(CORE_SCOPES) <= known
    assert "testplugin:read" in known


async def test_openapi_lists_every_route_with_security(app: Litestar, client: httpx.AsyncClient) -> None:
    """The OpenAPI document and the app agree on the API's operations, each behind the API key. A
    ``HEAD`` route (the GET's headers without the body: contest media) is not listed; its GET is."""
    doc = (await client.get("/schema/openapi.json")).json()
    documented = set()
    for path, operations in doc["paths"].items():
        if path.startswith(API):
            for method, operation in operations.items():
                documented.add((method.upper(), path))
                assert operation["security"] == [{"apiKey": []}], (method, path)
    served = set()
    for route in app.routes:
        if route.path.startswith(API):
            for handler in route.route_handlers:  # type: ignore[union-attr]
                served |= {(m, route.path_format) for m in handler.http_methods - {"OPTIONS"}}
    heads = {(m, path) for m, path in served if m == "HEAD"}
    assert {("GET", path) for _, path in heads} <= documented
    assert documented == served - heads


async def send(tenant: Tenant, method: str, call: Call, headers: dict[str, str]) -> httpx.Response:
    return await tenant.client.request(method, call.url, headers={**call.headers, **headers}, **call.kwargs())


async def test_every_route_checks_its_scope(app: Litestar, kernel: Kernel, tenant: Tenant, keys: Keys) -> None:
    ctx = Ctx(kernel, tenant)
    checked = []
    for method, path, scope in api_routes(app):
        assert scope is not None
        where = f"{method} {path} ({scope})"
        call = await RECIPES[(method, path)](ctx)
        await kernel.jobs.idle()  # deliveries of earlier calls' events (they mark members active) are done
        before = await snapshot(kernel, tenant)

        refusals = {
            "workspace key without the scope": (
                {"Authorization": f"Bearer {keys.lacking[scope]}"},
                403,
                "missing-scope",
            ),
            "operator key without the scope": (
                {"Authorization": f"Bearer {keys.operator_lacking[scope]}", "X-Scrm-Workspace": tenant.slug},
                403,
                "missing-scope",
            ),
            "no Authorization header": ({}, 401, "unauthenticated"),
            "empty bearer": ({"Authorization": "Bearer "}, 401, "unauthenticated"),
            "another scheme": ({"Authorization": f"Basic {tenant.key}"}, 401, "unauthenticated"),
            "unknown key": ({"Authorization": "Bearer scrm_" + "x" * 43}, 401, "unauthenticated"),
            "revoked key": ({"Authorization": f"Bearer {keys.revoked}"}, 401, "unauthenticated"),
        }
        for what, (headers, status, kind) in refusals.items():
            response = await send(tenant, method, call, headers)
            try:
                body = problem(response, status, kind)
            except AssertionError as exc:
                raise AssertionError(f"{where}, {what}: {exc}") from None
            if kind == "missing-scope":
                assert body["required_scope"] == scope, (where, body)
            assert await snapshot(kernel, tenant) == before, f"{where}, {what}: something was written"

        # the same call with a key holding just this one scope gets through
        headers = {"Authorization": f"Bearer {keys.only[scope]}"}
        response = await send(tenant, method, call, headers)
        assert 200 <= response.status_code < 300, f"{where}, key with only {scope}: {response.text}"
        checked.append(where)
    assert len(checked) == len(RECIPES)


# --- wildcards, operator-only scopes and key creation -----------------------------------------


async def test_resource_wildcard_covers_its_resource_only(tenant: Tenant) -> None:
    key = await tenant.new_key("members:*")
    member = await tenant.member(external_id="wild")
    assert (await tenant.get(f"{API}/members/{member['id']}", key=key)).status_code == 200
    patched = await tenant.patch(f"{API}/members/{member['id']}", {"display_name": "W"}, key=key)
    assert patched.status_code == 200, patched.text
    problem(await tenant.get(f"{API}/tags", key=key), 403, "missing-scope")
    problem(await tenant.get(f"{API}/members/{member['id']}/tags", key=key), 403, "missing-scope")
    problem(await tenant.get(f"{API}/keys", key=key), 403, "missing-scope")


async def test_workspace_key_with_every_scope_cannot_create_workspaces(kernel: Kernel, tenant: Tenant) -> None:
    wildcard = await tenant.new_key("workspaces:*")
    before = await snapshot(kernel, tenant)
    for key in (tenant.key, wildcard):
        body = problem(
            await tenant.post(f"{API}/workspaces", {"slug": f"nope-{tenant.id}", "name": "Nope"}, key=key),
            403,
            "missing-scope",
        )
        assert body["required_scope"] == "workspaces:write"
        problem(await tenant.patch(f"{API}/workspaces/{tenant.slug}", {"name": "X"}, key=key), 403, "missing-scope")
        problem(await tenant.delete(f"{API}/workspaces/{tenant.slug}", key=key), 403, "missing-scope")
    assert await snapshot(kernel, tenant) == before
    assert (await tenant.get(f"{API}/workspaces/{tenant.slug}")).json()["name"] == tenant.slug.title()


async def test_workspace_keys_cannot_hold_operator_scopes(kernel: Kernel, tenant: Tenant, operator_key: str) -> None:
    before = await snapshot(kernel, tenant)
    doc = problem(await tenant.post(f"{API}/keys", {"scopes": ["workspaces:write"]}), 422, "validation-error")
    assert doc["errors"][0]["field"] == "scopes[0]"
    doc = problem(
        await tenant.post(f"{API}/keys", {"scopes": ["members:read", "workspaces:write"]}), 422, "validation-error"
    )
    assert doc["errors"][0]["field"] == "scopes[1]"
    # an operator key acting in the workspace cannot mint one there either
    response = await tenant.client.post(
        f"{API}/keys",
        json={"scopes": ["workspaces:write"]},
        headers={"Authorization": f"Bearer {operator_key}", "X-Scrm-Workspace": tenant.slug},
    )
    problem(response, 422, "validation-error")
    assert await snapshot(kernel, tenant) == before


def test_the_scopes_a_workspace_key_may_hold(kernel: Kernel) -> None:
    every = kernel.keys.workspace_scopes()
    assert set(every) == set(kernel.known_scopes()) - OPERATOR_SCOPES
    assert "points:read" in every  # a plugin's scopes too
    assert kernel.keys.workspace_scopes(["members:*", "points:read"]) == [
        *(s for s in CORE_SCOPES if s.startswith("members:")),
        "points:read",
    ]
    assert kernel.keys.workspace_scopes(["workspaces:write"]) == []


async def test_a_key_cannot_grant_what_it_does_not_hold(kernel: Kernel, tenant: Tenant) -> None:
    issuer = await tenant.new_key("keys:write", "members:read", "tags:*")
    before = await snapshot(kernel, tenant)
    for scopes in (
        ["members:write"],
        ["members:read", "members:write"],
        ["members:*"],
        ["*"],
        ["keys:read"],
        ["testplugin:read"],
        ["plugins:write"],
    ):
        response = await tenant.post(f"{API}/keys", {"scopes": scopes}, key=issuer)
        problem(response, 403, "forbidden")
    assert await snapshot(kernel, tenant) == before
    for scopes in (["members:read"], ["tags:write"], ["tags:*"], ["keys:write", "tags:read"]):
        response = await tenant.post(f"{API}/keys", {"scopes": scopes}, key=issuer)
        assert response.status_code == 201, (scopes, response.text)
        assert response.json()["scopes"] == scopes


async def test_a_key_cannot_revoke_a_stronger_key(kernel: Kernel, tenant: Tenant) -> None:
    weak = await tenant.new_key("keys:write")
    strong = (await tenant.post(f"{API}/keys", {"scopes": ["members:write"]})).json()
    problem(await tenant.delete(f"{API}/keys/{strong['id']}", key=weak), 403, "forbidden")
    assert (await tenant.get(f"{API}/members", key=strong["key"])).status_code == 403  # still valid: 403, not 401


@pytest.mark.parametrize(
    "scope",
    ["members:fly", "nosuch:read", "nosuch:*", "testplugin:write", "members", "MEMBERS:READ", "members:read:x", ""],
)
async def test_unknown_scope_is_422(kernel: Kernel, tenant: Tenant, scope: str) -> None:
    before = await snapshot(kernel, tenant)
    doc = problem(await tenant.post(f"{API}/keys", {"scopes": ["members:read", scope]}), 422, "validation-error")
    assert doc["errors"][0]["field"] == "scopes[1]", doc
    assert await snapshot(kernel, tenant) == before


async def test_empty_scope_list_is_422(tenant: Tenant) -> None:
    doc = problem(await tenant.post(f"{API}/keys", {"scopes": []}), 422, "validation-error")
    assert doc["errors"][0]["field"] == "scopes"
