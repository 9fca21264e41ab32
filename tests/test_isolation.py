"""Workspace isolation on every route: a key of workspace A never reads, changes or even confirms
the existence of workspace B's rows.

The cross-workspace table below is checked against the app's own route list: every ``/api/v1``
route with a path parameter must have a probe, and every other route must name the test that covers
it here, so a new route without an isolation case fails ``test_every_route_has_an_isolation_case``.
Every probe is followed by a look at both workspaces (B through B's own key) to prove nothing
changed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from conftest import Tenant, core_route, problem
from litestar import Litestar
from scrm.kernel import Kernel
from scrm.services.events import NewEvent

API = "/api/v1"


@dataclass
class World:
    a: Tenant
    b: Tenant
    a_member: dict[str, Any]
    b_member: dict[str, Any]
    b_key_id: int
    b_event: int
    b_reader: str  # a members:read key of B, revoked by nothing here
    a_spare_key_id: int
    b_term: int  # a term of B's word list
    b_app: int  # an OAuth app of B
    a_app: int  # an OAuth app of A


@pytest.fixture
async def world(tenant: Tenant, other: Tenant, kernel: Kernel) -> World:
    """A and B, each with the test plugin on, a member, a tag only it has and a spare key."""
    a, b = tenant, other
    for ws, settings in ((a, {}), (b, {"greeting": "b-secret"})):
        response = await ws.post(f"{API}/plugins", {"name": "testplugin", "enabled": True, "settings": settings})
        assert response.status_code == 200, response.text
    response = await b.post(f"{API}/tags", {"name": "b-only", "group": "b-group", "description": "B's own"})
    assert response.status_code == 201, response.text
    b_member = await b.member(
        external_id="b-ext",
        display_name="Bea",
        identities={"email": "bea@b.example"},
        attributes={"secret": "b"},
        tags=["b-only"],
    )
    created = await b.post(f"{API}/keys", {"scopes": ["members:read"], "name": "b-reader"})
    assert created.status_code == 201, created.text
    event = await b.post(f"{API}/events", {"member_id": b_member["id"], "type": "b.secret", "idempotency_key": "b-key"})
    assert event.status_code == 201, event.text
    purpose = await b.post(f"{API}/consents/purposes", {"name": "b.secret", "description": "B's own"})
    assert purpose.status_code == 201, purpose.text
    consent = await b.post(f"{API}/consents", {"member_id": b_member["id"], "purpose": "b.secret", "status": "granted"})
    assert consent.status_code == 201, consent.text
    a_member = await a.member(external_id="a-ext", display_name="Ann", tags=["a-only"])
    term = await b.post(f"{API}/moderation/terms", {"terms": [{"term": "b-secret-word", "severity": "high"}]})
    assert term.status_code == 200, term.text
    spare = await a.post(f"{API}/keys", {"scopes": ["members:read"], "name": "a-spare"})
    assert spare.status_code == 201, spare.text
    apps = [await ws.post(f"{API}/apps", {"name": "erp", "scopes": ["members:read"]}) for ws in (a, b)]
    assert all(app.status_code == 201 for app in apps), apps[0].text
    await kernel.jobs.idle()  # deliveries (which mark members active) finish before any snapshot
    return World(
        a=a,
        b=b,
        a_member=a_member,
        b_member=b_member,
        b_key_id=created.json()["id"],
        b_event=event.json()["id"],
        b_reader=created.json()["key"],
        a_spare_key_id=spare.json()["id"],
        b_term=term.json()[0]["id"],
        b_app=apps[1].json()["id"],
        a_app=apps[0].json()["id"],
    )


async def state(ws: Tenant, member_id: int) -> dict[str, Any]:
    """Everything a workspace's own all-scopes key sees of itself."""
    seen: dict[str, Any] = {}
    for path in (
        f"/workspaces/{ws.slug}",
        "/workspaces",
        "/members",
        f"/members/{member_id}",
        f"/members/{member_id}/tags",
        "/tags",
        "/keys",
        "/apps",
        "/plugins",
        "/testplugin/welcomes",
        "/events",
        f"/members/{member_id}/consents",
        "/consents/purposes",
        "/consents/verify",
        "/moderation/terms",
    ):
        response = await ws.get(API + path)
        assert response.status_code == 200, f"{path}: {response.text}"
        seen[path] = response.json()
    export = await ws.get(f"{API}/members/export")
    assert export.status_code == 200, export.text
    seen["export"] = export.text
    return seen


async def both(w: World) -> tuple[dict[str, Any], dict[str, Any]]:
    return await state(w.a, w.a_member["id"]), await state(w.b, w.b_member["id"])


def values(w: World) -> dict[str, Any]:
    return {
        "a_member": w.a_member["id"],
        "a_slug": w.a.slug,
        "a_spare_key": w.a_spare_key_id,
        "b_member": w.b_member["id"],
        "b_ext": w.b_member["external_id"],
        "b_slug": w.b.slug,
        "b_id": w.b.id,
        "b_key": w.b_key_id,
        "b_event": w.b_event,
        "b_term": w.b_term,
        "b_app": w.b_app,
    }


# --- the cross-workspace table ----------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """A's key against one of B's objects: ``route`` is the app's route path, ``url`` the call."""

    method: str
    route: str
    url: str
    body: Any = None
    status: int = 404
    kind: str = "not-found"
    check: Callable[[World, httpx.Response], None] | None = field(default=None, compare=False)

    @property
    def id(self) -> str:
        return f"{self.method} {self.url}"


def _a_state_of_testplugin(w: World, response: httpx.Response) -> None:
    body = response.json()
    assert body["name"] == "testplugin"
    assert body["settings"] == {}, "A sees B's plugin settings"


PROBES = [
    # workspaces: B's slug or id is unknown to A's key; changing it needs an operator key anyway
    Probe("GET", f"{API}/workspaces/{{slug:str}}", "/workspaces/{b_slug}"),
    Probe("GET", f"{API}/workspaces/{{slug:str}}", "/workspaces/{b_id}"),
    Probe(
        "PATCH", f"{API}/workspaces/{{slug:str}}", "/workspaces/{b_slug}", {"name": "Hijacked"}, 403, "missing-scope"
    ),
    Probe("DELETE", f"{API}/workspaces/{{slug:str}}", "/workspaces/{b_slug}", None, 403, "missing-scope"),
    # members
    Probe("GET", f"{API}/members/{{member_id:int}}", "/members/{b_member}"),
    Probe("GET", f"{API}/members/{{member_id:int}}/export", "/members/{b_member}/export"),
    Probe(
        "PATCH",
        f"{API}/members/{{member_id:int}}",
        "/members/{b_member}",
        {"display_name": "Hijacked", "attributes": {"secret": None}, "status": "blocked"},
    ),
    Probe("DELETE", f"{API}/members/{{member_id:int}}", "/members/{b_member}"),
    Probe("GET", f"{API}/members/by-external-id/{{external_id:str}}", "/members/by-external-id/{b_ext}"),
    # a member's tags
    Probe("GET", f"{API}/members/{{member_id:int}}/tags", "/members/{b_member}/tags"),
    Probe("POST", f"{API}/members/{{member_id:int}}/tags", "/members/{b_member}/tags", {"tags": ["hijack", "b-only"]}),
    Probe("DELETE", f"{API}/members/{{member_id:int}}/tags/{{name:str}}", "/members/{b_member}/tags/b-only"),
    # B's tag name on A's own member: nothing to remove in A, nothing touched in B
    Probe("DELETE", f"{API}/members/{{member_id:int}}/tags/{{name:str}}", "/members/{a_member}/tags/b-only", None, 204),
    # tags: a name that exists only in B
    Probe("GET", f"{API}/tags/{{name:str}}", "/tags/b-only"),
    Probe("PATCH", f"{API}/tags/{{name:str}}", "/tags/b-only", {"description": "hijacked", "group": None}),
    Probe("DELETE", f"{API}/tags/{{name:str}}", "/tags/b-only"),
    # keys
    Probe("DELETE", f"{API}/keys/{{key_id:int}}", "/keys/{b_key}"),
    Probe("GET", f"{API}/apps/{{app_id:int}}", "/apps/{b_app}"),
    Probe("DELETE", f"{API}/apps/{{app_id:int}}", "/apps/{b_app}"),
    # events
    Probe("GET", f"{API}/events/{{event_id:int}}", "/events/{b_event}"),
    Probe("GET", f"{API}/members/{{member_id:int}}/events", "/members/{b_member}/events"),
    # consents
    Probe("GET", f"{API}/members/{{member_id:int}}/consents", "/members/{b_member}/consents"),
    Probe("GET", f"{API}/members/{{member_id:int}}/can-contact", "/members/{b_member}/can-contact?purpose=b.secret"),
    Probe(
        "GET",
        f"{API}/members/{{member_id:int}}/can-contact",
        "/members/{b_member}/can-contact?purpose=marketing.email",
    ),
    Probe(
        "POST",
        f"{API}/members/{{member_id:int}}/contact-attempts",
        "/members/{b_member}/contact-attempts",
        {"purpose": "marketing.email"},
    ),
    # the word list
    Probe("DELETE", f"{API}/moderation/terms/{{term_id:int}}", "/moderation/terms/{b_term}"),
    # plugins are installed for all, but their state and settings are per workspace
    Probe("GET", f"{API}/plugins/{{name:str}}", "/plugins/testplugin", None, 200, "", _a_state_of_testplugin),
]

# Routes without a path parameter: the test in this module that tries them across workspaces.
PARAMLESS = {
    ("GET", f"{API}/workspaces"): "test_listings_hold_only_own_rows",
    ("POST", f"{API}/workspaces"): "test_workspace_key_cannot_create_workspaces",
    ("GET", f"{API}/members"): "test_listings_hold_only_own_rows",
    ("POST", f"{API}/members"): "test_writes_with_b_names_land_in_a",
    ("POST", f"{API}/members/bulk-tags"): "test_bulk_tags_with_b_members",
    ("POST", f"{API}/members/import"): "test_writes_with_b_names_land_in_a",
    ("GET", f"{API}/members/export"): "test_export_holds_only_own_rows",
    ("GET", f"{API}/tags"): "test_listings_hold_only_own_rows",
    ("POST", f"{API}/tags"): "test_writes_with_b_names_land_in_a",
    ("GET", f"{API}/keys"): "test_listings_hold_only_own_rows",
    ("POST", f"{API}/keys"): "test_writes_with_b_names_land_in_a",
    ("GET", f"{API}/apps"): "test_listings_hold_only_own_rows",
    ("POST", f"{API}/apps"): "test_writes_with_b_names_land_in_a",
    ("GET", f"{API}/plugins"): "test_listings_hold_only_own_rows",
    ("POST", f"{API}/plugins"): "test_plugin_switch_is_per_workspace",
    ("GET", f"{API}/testplugin/welcomes"): "test_listings_hold_only_own_rows",
    ("GET", f"{API}/events"): "test_listings_hold_only_own_rows",
    ("POST", f"{API}/events"): "test_events_naming_b_are_refused_or_stay_in_a",
    ("POST", f"{API}/consents"): "test_consents_naming_b_are_refused_or_stay_in_a",
    ("GET", f"{API}/consents/purposes"): "test_listings_hold_only_own_rows",
    ("POST", f"{API}/consents/purposes"): "test_consents_naming_b_are_refused_or_stay_in_a",
    ("GET", f"{API}/consents/verify"): "test_listings_hold_only_own_rows",
    ("GET", f"{API}/moderation/terms"): "test_listings_hold_only_own_rows",
    ("POST", f"{API}/moderation/terms"): "test_word_lists_are_per_workspace",
    ("POST", f"{API}/moderation/check"): "test_word_lists_are_per_workspace",
    ("GET", f"{API}/audit"): "test_audit_trails_are_per_workspace",
    ("GET", f"{API}/audit/export"): "test_audit_trails_are_per_workspace",
    ("GET", f"{API}/audit/verify"): "test_audit_trails_are_per_workspace",
}


async def test_audit_trails_are_per_workspace(tenant: Tenant, other: Tenant) -> None:
    """Each workspace reads, exports and verifies its own chain only."""
    mine = (await tenant.member(external_id="trail-a"))["id"]
    theirs = (await other.member(external_id="trail-b"))["id"]
    await other.patch(f"{API}/members/{theirs}", {"status": "blocked"})
    listed = (await tenant.get(f"{API}/audit")).json()["items"]
    assert [(r["target_type"], r["target_id"]) for r in listed] == [("member", str(mine))]
    assert (await tenant.get(f"{API}/audit", params={"target": f"member:{theirs}"})).json()["items"] == []
    exported = (await tenant.get(f"{API}/audit/export")).text.splitlines()
    assert [json.loads(line)["target_id"] for line in exported] == [str(mine)]
    assert (await tenant.get(f"{API}/audit/verify")).json()["records"] == 1
    assert (await other.get(f"{API}/audit/verify")).json()["records"] == 2


def api_routes(app: Litestar) -> list[tuple[str, str, bool]]:
    """(method, route path, has path parameters) of every API route handler."""
    found = []
    for route in app.routes:
        if not route.path.startswith(API):
            continue
        for handler in route.route_handlers:  # type: ignore[union-attr]
            if not core_route(handler):
                continue
            for method in handler.http_methods:
                if method != "OPTIONS":
                    found.append((method, route.path, bool(route.path_parameters)))
    return sorted(found)


def test_every_route_has_an_isolation_case(app: Litestar) -> None:
    routes = api_routes(app)
    assert routes, "no API routes found"
    probed = {(p.method, p.route) for p in PROBES}
    with_params = {(m, p) for m, p, has in routes if has}
    without_params = {(m, p) for m, p, has in routes if not has}
    assert with_params - probed == set(), "routes with a path parameter but no cross-workspace probe"
    assert probed - with_params == set(), "probes for routes the app does not have"
    assert without_params - set(PARAMLESS) == set(), "routes with no isolation test named in PARAMLESS"
    assert set(PARAMLESS) - without_params == set(), "PARAMLESS names routes the app does not have"
    for test_name in PARAMLESS.values():
        assert callable(globals().get(test_name)), test_name


@pytest.mark.parametrize("probe", PROBES, ids=[p.id for p in PROBES])
async def test_cross_workspace_probe(world: World, probe: Probe) -> None:
    w = world
    before = await both(w)
    url = API + probe.url.format(**values(w))
    kwargs: dict[str, Any] = {} if probe.body is None else {"json": probe.body}
    response = await w.a.client.request(probe.method, url, headers=w.a.headers(), **kwargs)
    if probe.status >= 400:
        problem(response, probe.status, probe.kind)
    else:
        assert response.status_code == probe.status, response.text
    if probe.check is not None:
        probe.check(w, response)
    assert await both(w) == before
    # B's own narrower key still works: nothing of B's was revoked
    assert (await w.b.get(f"{API}/members/{w.b_member['id']}", key=w.b_reader)).status_code == 200


# --- X-Scrm-Workspace never switches a workspace key's workspace ------------------------------


def _uses_workspace(app: Litestar, kernel: Kernel, method: str, path: str) -> bool:
    """Whether a route acts in the caller's workspace (the ``ws`` dependency or a plugin router)."""
    if path.split("/")[3] in kernel.plugins.plugins:
        return True
    for route in app.routes:
        if route.path == path:
            for handler in route.route_handlers:  # type: ignore[union-attr]
                if method in handler.http_methods:
                    return "ws" in handler.parsed_fn_signature.parameters
    raise AssertionError(f"no route {method} {path}")


def _own_call(w: World, method: str, path: str) -> tuple[str, dict[str, Any]]:
    """A well-formed call to ``path`` on A's own objects (so only the header can make it fail)."""
    url = (
        path.replace("{member_id:int}", str(w.a_member["id"]))
        .replace("{external_id:str}", "a-ext")
        .replace("{key_id:int}", str(w.a_spare_key_id))
        .replace("{app_id:int}", str(w.a_app))
        .replace("{slug:str}", w.a.slug)
    )
    if "/plugins/" in url:
        url = url.replace("{name:str}", "testplugin")
    url = url.replace("{name:str}", "a-only")
    bodies: dict[tuple[str, str], Any] = {
        ("POST", f"{API}/members"): {"external_id": "via-header"},
        ("PATCH", f"{API}/members/{{member_id:int}}"): {"display_name": "via-header"},
        ("POST", f"{API}/members/{{member_id:int}}/tags"): {"tags": ["via-header"]},
        ("POST", f"{API}/members/bulk-tags"): {"member_ids": [w.a_member["id"]], "add": ["via-header"]},
        ("POST", f"{API}/tags"): {"name": "via-header"},
        ("PATCH", f"{API}/tags/{{name:str}}"): {"description": "via-header"},
        ("POST", f"{API}/keys"): {"scopes": ["members:read"]},
        ("POST", f"{API}/apps"): {"name": "via-header", "scopes": ["members:read"]},
        ("POST", f"{API}/plugins"): {"name": "testplugin", "enabled": False},
        ("POST", f"{API}/workspaces"): {"slug": f"via-header-{w.a.id}", "name": "Via header"},
        ("PATCH", f"{API}/workspaces/{{slug:str}}"): {"name": "via-header"},
        ("POST", f"{API}/consents"): {"member_id": w.a_member["id"], "purpose": "marketing.email", "status": "granted"},
        ("POST", f"{API}/consents/purposes"): {"name": "via.header"},
    }
    if path.endswith("/can-contact"):
        url += "?purpose=marketing.email"
    kwargs: dict[str, Any] = {}
    if (method, path) in bodies:
        kwargs["json"] = bodies[(method, path)]
    elif path == f"{API}/members/import":
        kwargs["content"] = b'{"external_id": "via-header"}\n'
    return url, kwargs


@pytest.mark.parametrize("named", ["b_slug", "b_id"])
async def test_workspace_header_never_switches_a_workspace_key(
    app: Litestar, kernel: Kernel, world: World, named: str
) -> None:
    w = world
    header = str(values(w)[named])
    before = await both(w)
    checked = 0
    for method, path, _ in api_routes(app):
        url, kwargs = _own_call(w, method, path)
        headers = w.a.headers(**{"X-Scrm-Workspace": header})
        if path == f"{API}/members/import":
            headers["Content-Type"] = "application/x-ndjson"
        response = await w.a.client.request(method, url, headers=headers, **kwargs)
        where = f"{method} {url}"
        if _uses_workspace(app, kernel, method, path):
            problem(response, 404, "not-found")
            checked += 1
        elif method == "GET":
            # the workspace routes answer from the key's own workspace and ignore the header
            assert response.status_code == 200, f"{where}: {response.text}"
            assert w.b.slug not in response.text, where
            assert w.a.slug in response.text, where
        else:
            problem(response, 403, "missing-scope")  # workspaces:write is for operator keys only
    assert checked >= 20
    assert await both(w) == before


async def test_workspace_header_naming_own_workspace_is_accepted(world: World) -> None:
    w = world
    for header in (w.a.slug, str(w.a.id)):
        response = await w.a.client.get(f"{API}/members", headers=w.a.headers(**{"X-Scrm-Workspace": header}))
        assert response.status_code == 200, response.text
        assert [m["id"] for m in response.json()["items"]] == [w.a_member["id"]]


# --- routes without path parameters -----------------------------------------------------------


async def test_listings_hold_only_own_rows(world: World) -> None:
    w = world
    b_member = w.b_member["id"]

    members = (await w.a.get(f"{API}/members")).json()
    assert [m["id"] for m in members["items"]] == [w.a_member["id"]]
    for params in ({"q": "b-ext"}, {"q": "Bea"}, {"tag": "b-only"}, {"attribute": "secret:b"}, {"status": "active"}):
        listed = await w.a.get(f"{API}/members", params=params)
        assert listed.status_code == 200, listed.text
        assert b_member not in [m["id"] for m in listed.json()["items"]], params

    tags = (await w.a.get(f"{API}/tags")).json()
    assert [t["name"] for t in tags] == ["a-only"]
    assert (await w.a.get(f"{API}/tags", params={"group": "b-group"})).json() == []

    keys = (await w.a.get(f"{API}/keys")).json()
    assert w.b_key_id not in [k["id"] for k in keys]
    assert {k["workspace"] for k in keys} == {w.a.slug}

    apps = (await w.a.get(f"{API}/apps")).json()
    assert [app["id"] for app in apps] == [w.a_app]

    workspaces = (await w.a.get(f"{API}/workspaces")).json()
    assert [ws["slug"] for ws in workspaces] == [w.a.slug]

    assert (await w.a.get(f"{API}/moderation/terms")).json()["items"] == []

    plugins = {p["name"]: p for p in (await w.a.get(f"{API}/plugins")).json()}
    assert plugins["testplugin"]["enabled"] is True
    assert plugins["testplugin"]["settings"] == {}

    events = (await w.a.get(f"{API}/events")).json()["items"]
    assert {e["member_id"] for e in events} == {w.a_member["id"]}
    assert w.b_event not in [e["id"] for e in events]
    for params in ({"member_id": b_member}, {"type": "b.secret"}):
        assert (await w.a.get(f"{API}/events", params=params)).json()["items"] == [], params

    welcomes = (await w.a.get(f"{API}/testplugin/welcomes")).json()
    assert [row["member_id"] for row in welcomes] == [w.a_member["id"]]
    b_welcomes = (await w.b.get(f"{API}/testplugin/welcomes")).json()
    assert [row["member_id"] for row in b_welcomes] == [b_member]  # B's row exists; A just cannot see it

    purposes = [p["name"] for p in (await w.a.get(f"{API}/consents/purposes")).json()]
    assert "b.secret" not in purposes
    assert "marketing.email" in purposes
    a_chain = (await w.a.get(f"{API}/consents/verify")).json()
    b_chain = (await w.b.get(f"{API}/consents/verify")).json()
    assert (a_chain["ok"], a_chain["records"]) == (True, 0)  # B's record is in B's chain only
    assert (b_chain["ok"], b_chain["records"]) == (True, 1)
    assert a_chain["head_hash"] != b_chain["head_hash"]


async def test_export_holds_only_own_rows(world: World) -> None:
    w = world
    ndjson = await w.a.get(f"{API}/members/export")
    assert ndjson.status_code == 200, ndjson.text
    rows = [json.loads(line) for line in ndjson.text.splitlines() if line]
    assert [r["external_id"] for r in rows] == ["a-ext"]
    as_csv = await w.a.get(f"{API}/members/export", params={"format": "csv"})
    assert as_csv.status_code == 200, as_csv.text
    assert [r["external_id"] for r in csv.DictReader(io.StringIO(as_csv.text))] == ["a-ext"]
    for text in (ndjson.text, as_csv.text):
        for secret in ("b-ext", "Bea", "bea@b.example", "b-only", str(w.b.slug)):
            assert secret not in text
    # and B's export, through B's key, still has B's member
    b_rows = [json.loads(line) for line in (await w.b.get(f"{API}/members/export")).text.splitlines() if line]
    assert [r["external_id"] for r in b_rows] == ["b-ext"]


BULK_BODIES: dict[str, Callable[[int, int], dict[str, Any]]] = {
    "id-add": lambda a, b: {"member_ids": [b], "add": ["hijack"]},
    "id-remove": lambda a, b: {"member_ids": [b], "remove": ["b-only"]},
    "ids-mixed": lambda a, b: {"member_ids": [a, b], "add": ["hijack"]},
    "ext-add": lambda a, b: {"external_ids": ["b-ext"], "add": ["hijack"]},
    "ext-remove": lambda a, b: {"external_ids": ["b-ext"], "remove": ["b-only"]},
    "ext-mixed": lambda a, b: {"external_ids": ["a-ext", "b-ext"], "add": ["hijack"]},
    "id-and-ext": lambda a, b: {"member_ids": [a], "external_ids": ["b-ext"], "remove": ["a-only"]},
}


@pytest.mark.parametrize("case", sorted(BULK_BODIES))
async def test_bulk_tags_with_b_members(world: World, case: str) -> None:
    """Naming any of B's members fails the whole call: not even A's own members change."""
    w = world
    body = BULK_BODIES[case](w.a_member["id"], w.b_member["id"])
    before = await both(w)
    doc = problem(await w.a.post(f"{API}/members/bulk-tags", body), 404, "not-found")
    assert doc["missing"] in ([w.b_member["id"]], ["b-ext"]), doc
    assert await both(w) == before


async def test_writes_with_b_names_land_in_a(world: World) -> None:
    """Creating rows in A under names B uses (external id, tag name) creates A's own rows and
    leaves B's alone; an import keyed on B's external id does not update B's member."""
    w = world
    b_before = await state(w.b, w.b_member["id"])

    same_ext = await w.a.member(external_id="b-ext", display_name="Not Bea", tags=["b-only"])
    assert same_ext["id"] != w.b_member["id"]
    problem(await w.a.post(f"{API}/members", {"external_id": "b-ext"}), 409, "conflict")  # now taken in A

    tag = await w.a.post(f"{API}/tags", {"name": "b-group-tag", "group": "b-group"})
    assert tag.status_code == 201, tag.text
    problem(await w.a.post(f"{API}/tags", {"name": "b-only"}), 409, "conflict")  # A's own b-only, from above

    imported = await w.a.client.post(
        f"{API}/members/import",
        content=b'{"external_id": "b-ext", "display_name": "Imported"}\n{"external_id": "b-ext-2", "tags": ["b-only"]}\n',
        headers=w.a.headers(**{"Content-Type": "application/x-ndjson"}),
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 1
    assert imported.json()["updated"] == 1  # A's own b-ext, made above — not B's
    assert (await w.a.get(f"{API}/members/{same_ext['id']}")).json()["display_name"] == "Imported"

    key = await w.a.post(f"{API}/keys", {"scopes": ["members:read"], "name": "b-reader"})
    assert key.status_code == 201, key.text
    assert key.json()["workspace"] == w.a.slug
    new_key = key.json()["key"]
    problem(await w.a.get(f"{API}/members/{w.b_member['id']}", key=new_key), 404, "not-found")
    listed = (await w.a.get(f"{API}/members", key=new_key)).json()
    assert w.b_member["id"] not in [m["id"] for m in listed["items"]]

    app = await w.a.post(f"{API}/apps", {"name": "erp", "scopes": ["members:read"]})  # B's app's name
    assert app.status_code == 201, app.text
    assert app.json()["workspace"] == w.a.slug

    assert await state(w.b, w.b_member["id"]) == b_before


async def test_events_naming_b_are_refused_or_stay_in_a(world: World) -> None:
    """An event for B's member (by id or external id) is a 422; B's idempotency key in A makes A's
    own event, not a duplicate of B's."""
    w = world
    before = await both(w)
    for ref in ({"member_id": w.b_member["id"]}, {"external_id": "b-ext"}):
        doc = problem(await w.a.post(f"{API}/events", {**ref, "type": "hijack"}), 422, "validation-error")
        assert doc["errors"][0]["message"] == "no such member in this workspace"
    assert await both(w) == before
    mine = await w.a.post(
        f"{API}/events", {"member_id": w.a_member["id"], "type": "b.secret", "idempotency_key": "b-key"}
    )
    assert mine.status_code == 201, mine.text
    assert mine.json()["id"] != w.b_event
    assert await state(w.b, w.b_member["id"]) == before[1]


async def test_workspace_events_stay_in_their_workspace(world: World, kernel: Kernel) -> None:
    """B's workspace event (no member: nothing else ties it to B) is B's alone: A's stream, its
    workspace-events filter and a read by id never show it; the same idempotency key in A is A's own."""
    w = world
    b_ref = await kernel.workspaces.ref(w.b.slug)
    [b_alert] = await kernel.events.record(b_ref, [NewEvent(None, "b.alert", {"secret": "b"}, idempotency_key="k")])
    problem(await w.a.get(f"{API}/events/{b_alert.id}"), 404, "not-found")
    for params in ({}, {"has_member": "false"}, {"type": "b.alert"}):
        listed = (await w.a.get(f"{API}/events", params=params)).json()["items"]
        assert b_alert.id not in [e["id"] for e in listed], params
    [a_alert] = await kernel.events.record(
        await kernel.workspaces.ref(w.a.slug), [NewEvent(None, "b.alert", {}, idempotency_key="k")]
    )
    assert (a_alert.status, a_alert.id != b_alert.id) == ("created", True)
    theirs = (await w.b.get(f"{API}/events", params={"has_member": "false"})).json()["items"]
    assert [(e["id"], e["properties"]) for e in theirs] == [(b_alert.id, {"secret": "b"})]


async def test_consents_naming_b_are_refused_or_stay_in_a(world: World) -> None:
    """A consent for B's member (by id or external id) or for B's own purpose is a 422, and a purpose
    of the same name created in A is A's own: B's ledger and registry stay as they were."""
    w = world
    before = await both(w)
    for ref in ({"member_id": w.b_member["id"]}, {"external_id": "b-ext"}):
        doc = problem(
            await w.a.post(f"{API}/consents", {**ref, "purpose": "marketing.email", "status": "withdrawn"}),
            422,
            "validation-error",
        )
        assert doc["errors"][0]["message"] == "no such member in this workspace"
        batch = [
            {"member_id": w.a_member["id"], "purpose": "marketing.email", "status": "granted"},
            {**ref, "purpose": "marketing.email", "status": "granted"},
        ]
        doc = problem(await w.a.post(f"{API}/consents", batch), 422, "validation-error")
        assert doc["errors"][0]["field"].startswith("[1].")
    mine = {"member_id": w.a_member["id"], "purpose": "b.secret", "status": "granted"}
    doc = problem(await w.a.post(f"{API}/consents", mine), 422, "validation-error")
    assert doc["errors"][0]["field"] == "purpose"
    problem(
        await w.a.get(f"{API}/members/{w.a_member['id']}/can-contact", params={"purpose": "b.secret"}),
        422,
        "validation-error",
    )
    assert await both(w) == before

    created = await w.a.post(f"{API}/consents/purposes", {"name": "b.secret", "description": "A's own"})
    assert created.status_code == 201, created.text
    record = await w.a.post(f"{API}/consents", mine)
    assert record.status_code == 201, record.text
    assert record.json()["seq"] == 1  # A's chain, not a link in B's
    assert (await w.a.get(f"{API}/consents/verify")).json()["records"] == 1
    assert await state(w.b, w.b_member["id"]) == before[1]


async def test_plugin_switch_is_per_workspace(world: World) -> None:
    w = world
    b_before = await state(w.b, w.b_member["id"])
    response = await w.a.post(f"{API}/plugins", {"name": "testplugin", "enabled": False, "settings": {"x": 1}})
    assert response.status_code == 200, response.text
    assert response.json()["enabled"] is False
    problem(await w.a.get(f"{API}/testplugin/welcomes"), 404, "plugin-not-enabled")
    assert await state(w.b, w.b_member["id"]) == b_before
    b_plugin = (await w.b.get(f"{API}/plugins/testplugin")).json()
    assert b_plugin["enabled"] is True
    assert b_plugin["settings"] == {"greeting": "b-secret"}


async def test_workspace_key_cannot_create_workspaces(world: World, kernel: Kernel) -> None:
    w = world
    count = len(await kernel.workspaces.list())
    problem(await w.a.post(f"{API}/workspaces", {"slug": f"from-{w.a.slug}", "name": "X"}), 403, "missing-scope")
    assert len(await kernel.workspaces.list()) == count


async def test_word_lists_are_per_workspace(world: World) -> None:
    """B's terms do not moderate A's texts; A adding B's term adds it to A's list alone."""
    w = world
    checked = await w.a.post(f"{API}/moderation/check", {"text": "a b-secret-word here"})
    assert checked.status_code == 200
    assert checked.json() == []
    before = await state(w.b, w.b_member["id"])
    added = await w.a.post(f"{API}/moderation/terms", {"terms": [{"term": "b-secret-word", "severity": "low"}]})
    assert added.status_code == 200
    assert added.json()[0]["id"] != w.b_term
    assert await state(w.b, w.b_member["id"]) == before
    theirs = (await w.b.get(f"{API}/moderation/terms")).json()["items"]
    assert [(t["term"], t["severity"]) for t in theirs] == [("b-secret-word", "high")]
