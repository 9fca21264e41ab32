"""The API keys page: the list, creating a key (shown once), revoking one, who may do which."""

from __future__ import annotations

import re
from typing import Any

import pytest
from console_client import SignIn, text_of
from scrm import Access, Kernel, OperatorOut, WorkspaceRef
from scrm_web.pages.keys import beyond_role


def new_key(response: Any) -> str:
    """The key the page shows once, in its highlighted box."""
    found = re.search(r'<p class="secret" id="new-key">([^<]+)</p>', response.text)
    assert found, response.text
    return found.group(1)


async def test_owner_creates_a_key_that_is_shown_once(sign_in: SignIn, tenant: Any) -> None:
    owner = await sign_in(tenant, "owner")
    page = await owner.get(f"/console/w/{tenant.slug}/keys")
    assert page.status_code == 200
    assert 'aria-current="page">API keys<' in page.text  # in the navigation, as the current page
    assert tenant.key[:12] + "…" in page.text  # the fixture's key, by its prefix only
    assert tenant.key not in page.text
    assert 'value="members:read"' in page.text
    assert 'value="*"' in page.text
    assert 'value="workspaces:write"' not in page.text  # never on a workspace key

    created = await owner.post(f"/console/w/{tenant.slug}/keys", {"name": "shop", "scopes": ["members:read"]})
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    key = new_key(created)
    assert key.startswith("scrm_")
    assert "shown this once" in text_of(created)
    assert (await tenant.get("/api/v1/members", key=key)).status_code == 200
    assert (await tenant.get("/api/v1/tags", key=key)).status_code == 403  # only the scopes ticked

    again = await owner.get(f"/console/w/{tenant.slug}/keys")
    assert key not in again.text
    assert 'class="secret"' not in again.text
    assert key[:12] + "…" in again.text
    assert "shop" in text_of(again)


async def test_the_all_scopes_choice_and_htmx(sign_in: SignIn, tenant: Any) -> None:
    owner = await sign_in(tenant, "owner")
    created = await owner.post(f"/console/w/{tenant.slug}/keys", {"scopes": ["*"]}, htmx=True)
    assert created.status_code == 201
    assert "<html" not in created.text  # the fragment htmx swaps in
    assert created.text.lstrip().startswith('<div id="keys">')
    key = new_key(created)
    assert (await tenant.get("/api/v1/keys", key=key)).status_code == 200


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"name": "no scopes"}, "scopes", "required"),
        ({"name": "x" * 201, "scopes": ["tags:read"]}, "name", "Expected `str` of length"),
        ({"name": "forged", "scopes": ["nope:read"]}, "scopes", "unknown scope"),
        ({"name": "bad", "scopes": ["Not A Scope"]}, "scopes", "Expected `str` matching"),
    ],
)
async def test_bad_input_comes_back_with_the_error_next_to_the_field(
    sign_in: SignIn, tenant: Any, form: dict[str, Any], field: str, message: str
) -> None:
    owner = await sign_in(tenant, "owner")
    for htmx in (False, True):
        response = await owner.post(
            f"/console/w/{tenant.slug}/keys", {**form, "scopes": form.get("scopes", [])}, htmx=htmx
        )
        assert response.status_code == 422
        assert f'id="{field}-error">{message}' in response.text
        assert f'value="{form["name"]}"' in response.text  # what was typed is kept
        assert 'class="secret"' not in response.text
        assert "Traceback" not in response.text


async def test_ticked_scopes_stay_ticked_when_the_form_comes_back(sign_in: SignIn, tenant: Any) -> None:
    owner = await sign_in(tenant, "owner")
    response = await owner.post(
        f"/console/w/{tenant.slug}/keys", {"name": "x" * 201, "scopes": ["tags:read", "events:write"]}
    )
    assert response.status_code == 422
    assert 'value="tags:read" checked' in response.text
    assert 'value="events:write" checked' in response.text
    assert 'value="members:read" checked' not in response.text


async def test_revoking_a_key_stops_it(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    owner = await sign_in(tenant, "owner")
    key = await tenant.new_key("members:read")
    ws = await kernel.workspaces.ref(tenant.slug)
    key_id = next(k.id for k in await kernel.keys.list(ws) if key.startswith(k.prefix))
    page = await owner.get(f"/console/w/{tenant.slug}/keys")
    assert f'action="/console/w/{tenant.slug}/keys/{key_id}/revoke"' in page.text
    assert "hx-confirm=" in page.text

    revoked = await owner.post(f"/console/w/{tenant.slug}/keys/{key_id}/revoke")
    assert revoked.status_code == 303
    assert revoked.headers["location"] == f"/console/w/{tenant.slug}/keys"
    assert (await tenant.get("/api/v1/members", key=key)).status_code == 401
    page = await owner.get(f"/console/w/{tenant.slug}/keys")
    assert f"/keys/{key_id}/revoke" not in page.text  # no button on a revoked key
    assert (await owner.post(f"/console/w/{tenant.slug}/keys/{key_id}/revoke")).status_code == 404

    other_key = await tenant.new_key("tags:read")
    other_id = next(k.id for k in await kernel.keys.list(ws) if other_key.startswith(k.prefix))
    fragment = await owner.post(f"/console/w/{tenant.slug}/keys/{other_id}/revoke", htmx=True)
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="keys">')
    assert (await tenant.get("/api/v1/tags", key=other_key)).status_code == 401


@pytest.mark.parametrize(
    ("role", "reads", "writes"), [("operator", True, False), ("analyst", True, False), ("viewer", False, False)]
)
async def test_who_may_see_and_change_keys(
    sign_in: SignIn, tenant: Any, kernel: Kernel, role: str, reads: bool, writes: bool
) -> None:
    someone = await sign_in(tenant, role)
    page = await someone.get(f"/console/w/{tenant.slug}/keys")
    assert page.status_code == (200 if reads else 403)
    if reads:
        assert tenant.key[:12] in page.text
        assert "Create a key" not in page.text
        assert "/revoke" not in page.text
    nav = await someone.get(f"/console/w/{tenant.slug}/keys" if reads else "/console/account")
    assert ("API keys" in nav.text) == reads
    created = await someone.post(f"/console/w/{tenant.slug}/keys", {"scopes": ["members:read"]})
    assert created.status_code == 403
    assert "Your role here does not allow this" in created.text
    ws = await kernel.workspaces.ref(tenant.slug)
    key_id = (await kernel.keys.list(ws))[0].id
    assert (await someone.post(f"/console/w/{tenant.slug}/keys/{key_id}/revoke")).status_code == 403
    assert (await tenant.get("/api/v1/members")).status_code == 200  # the key still works


async def test_forms_without_the_csrf_token_are_refused(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    owner = await sign_in(tenant, "owner")
    created = await owner.post(f"/console/w/{tenant.slug}/keys", {"scopes": ["*"]}, csrf=False)
    assert created.status_code == 403
    assert "scrm_" not in created.text
    ws = await kernel.workspaces.ref(tenant.slug)
    assert len(await kernel.keys.list(ws)) == 1
    key_id = (await kernel.keys.list(ws))[0].id
    assert (await owner.post(f"/console/w/{tenant.slug}/keys/{key_id}/revoke", csrf=False)).status_code == 403
    assert (await tenant.get("/api/v1/members")).status_code == 200


async def test_no_way_into_another_workspace_s_keys(sign_in: SignIn, tenant: Any, other: Any, kernel: Kernel) -> None:
    owner = await sign_in(tenant, "owner")
    assert (await owner.get(f"/console/w/{other.slug}/keys")).status_code == 404
    assert (await owner.post(f"/console/w/{other.slug}/keys", {"scopes": ["*"]})).status_code == 404
    theirs = (await kernel.keys.list(await kernel.workspaces.ref(other.slug)))[0].id
    revoked = await owner.post(f"/console/w/{tenant.slug}/keys/{theirs}/revoke")
    assert revoked.status_code == 404
    assert (await other.get("/api/v1/members")).status_code == 200  # their key still works
    assert (await owner.post(f"/console/w/{tenant.slug}/keys/{2**70}/revoke")).status_code == 400


async def test_a_key_cannot_hold_more_than_its_creator_s_role(kernel: Kernel) -> None:
    ws = WorkspaceRef(id=1, slug="w", name="W")
    me = OperatorOut(1, "me", "", False, "en", None, None, False, True, False)  # type: ignore[arg-type]
    every, members = kernel.keys.workspace_scopes(), kernel.keys.workspace_scopes(["members:*"])
    assert members == ["members:read", "members:write", "members:export"]
    assert beyond_role(Access(me, ws, "owner"), every) == []
    assert beyond_role(Access(me, ws, "operator"), every) == ["plugins:write", "keys:write"]
    assert beyond_role(Access(me, ws, "operator"), members) == []
    assert beyond_role(Access(me, ws, "analyst"), members) == ["members:write", "members:export"]
