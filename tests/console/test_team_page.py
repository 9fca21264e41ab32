"""The team page: who has which role here; owners add, create, change and remove operators, and the
workspace always keeps an owner."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from console_client import PASSWORD, ConsoleClient, SignIn, client_for, text_of
from litestar import Litestar
from scrm.kernel import Kernel


async def roles_here(kernel: Kernel, slug: str) -> dict[str, str]:
    return {m.operator.username: m.role for m in await kernel.operators.team(await kernel.workspaces.ref(slug))}


async def test_the_team_and_what_each_role_may_do(sign_in: SignIn, tenant: Any) -> None:
    owner = await sign_in(tenant, "owner")
    analyst = await sign_in(tenant, "analyst")
    page = await owner.get(f"/console/w/{tenant.slug}/team")
    assert page.status_code == 200
    assert 'aria-current="page">Team<' in page.text
    text = text_of(page)
    assert owner.username in text
    assert analyst.username in text
    assert "everything in the workspace: team, API keys, plugins" in text  # the roles explained
    assert "reads everything and sees the reports; changes nothing" in text
    assert f'<tr data-operator="{analyst.operator_id}">' in page.text
    assert '<option value="analyst" selected>' in page.text
    assert "Add an operator" in text
    assert "Create an operator account" in text


async def test_adding_an_existing_operator(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    owner = await sign_in(tenant, "owner")
    newcomer = await kernel.operators.create(f"new-{secrets.token_hex(3)}", PASSWORD)
    added = await owner.post(
        f"/console/w/{tenant.slug}/team/add", {"username": newcomer.username.upper(), "role": "analyst"}
    )
    assert added.status_code == 303
    assert added.headers["location"] == f"/console/w/{tenant.slug}/team"
    assert (await roles_here(kernel, tenant.slug))[newcomer.username] == "analyst"
    again = await owner.post(f"/console/w/{tenant.slug}/team/add", {"username": newcomer.username, "role": "owner"})
    assert again.status_code == 422
    assert 'id="username-error">already in this team' in again.text
    assert (await roles_here(kernel, tenant.slug))[newcomer.username] == "analyst"


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"username": "nobody-here", "role": "operator"}, "username", "no operator has this username"),
        ({"username": "", "role": "operator"}, "username", "no operator has this username"),
    ],
)
async def test_adding_someone_unknown_is_an_error_next_to_the_field(
    sign_in: SignIn, tenant: Any, form: dict[str, str], field: str, message: str
) -> None:
    owner = await sign_in(tenant, "owner")
    for htmx in (False, True):
        response = await owner.post(f"/console/w/{tenant.slug}/team/add", form, htmx=htmx)
        assert response.status_code == 422
        assert f'id="{field}-error">{message}' in response.text
        assert f'value="{form["username"]}"' in response.text
        assert ("<html" in response.text) is not htmx


async def test_a_bad_role_is_an_error_next_to_the_field(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    owner = await sign_in(tenant, "owner")
    newcomer = await kernel.operators.create(f"new-{secrets.token_hex(3)}", PASSWORD)
    response = await owner.post(f"/console/w/{tenant.slug}/team/add", {"username": newcomer.username, "role": "king"})
    assert response.status_code == 422
    assert 'id="role-error">must be one of owner, operator, analyst, viewer' in response.text
    assert newcomer.username not in await roles_here(kernel, tenant.slug)


async def test_creating_an_operator_account_here(sign_in: SignIn, tenant: Any, kernel: Kernel, app: Litestar) -> None:
    owner = await sign_in(tenant, "owner")
    username = f"fresh-{secrets.token_hex(3)}"
    form = {"username": username, "display_name": "Fresh Face", "password": PASSWORD, "role": "operator"}
    created = await owner.post(f"/console/w/{tenant.slug}/team/create", form, htmx=True)
    assert created.status_code == 200
    assert created.text.lstrip().startswith('<div id="team">')
    assert "Fresh Face" in created.text
    assert (await roles_here(kernel, tenant.slug))[username] == "operator"
    async with client_for(app, "10.4.0.1") as http:  # they can sign in with the password they were given
        await http.get("/console/login")
        signed = await http.post(
            "/console/login",
            data={"username": username, "password": PASSWORD, "_csrf_token": http.cookies["csrftoken"]},
        )
        assert signed.status_code == 303


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"username": "Not Valid!", "password": PASSWORD}, "username", "3 to 64 characters"),
        ({"username": "fine-name-{}", "password": "short"}, "password", "must be at least 10 characters long"),
        (
            {"username": "fine-name-{}", "password": PASSWORD, "display_name": "x" * 201},
            "display_name",
            "must be at most 200",
        ),
        ({"username": "fine-name-{}", "password": PASSWORD, "role": "boss"}, "role", "must be one of"),
    ],
)
async def test_creating_with_bad_input(
    sign_in: SignIn, tenant: Any, kernel: Kernel, form: dict[str, str], field: str, message: str
) -> None:
    owner = await sign_in(tenant, "owner")
    form = {"role": "viewer", **form, "username": form["username"].format(secrets.token_hex(3))}
    response = await owner.post(f"/console/w/{tenant.slug}/team/create", form)
    assert response.status_code == 422
    assert f'id="{field}-error">{message}' in response.text
    assert f'value="{form["username"]}"' in response.text
    assert form["password"] not in response.text  # never sent back
    assert form["username"] not in (await roles_here(kernel, tenant.slug))
    if field != "username":
        with pytest.raises(Exception, match="No operator"):
            await kernel.operators.by_username(form["username"])  # no account half made


async def test_creating_a_username_that_exists(sign_in: SignIn, tenant: Any) -> None:
    owner = await sign_in(tenant, "owner")
    taken = {"username": owner.username, "password": PASSWORD, "role": "viewer"}
    response = await owner.post(f"/console/w/{tenant.slug}/team/create", taken, htmx=True)
    assert response.status_code == 422
    assert 'id="username-error">already exists' in response.text


async def test_changing_a_role(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    owner = await sign_in(tenant, "owner")
    analyst = await sign_in(tenant, "analyst")
    changed = await owner.post(
        f"/console/w/{tenant.slug}/team/{analyst.operator_id}/role", {"role": "operator"}, htmx=True
    )
    assert changed.status_code == 200
    assert changed.text.lstrip().startswith('<div id="team">')
    assert (await roles_here(kernel, tenant.slug))[analyst.username] == "operator"
    changed = await owner.post(f"/console/w/{tenant.slug}/team/{analyst.operator_id}/role", {"role": "viewer"})
    assert changed.status_code == 303
    assert (await roles_here(kernel, tenant.slug))[analyst.username] == "viewer"
    assert (await analyst.get(f"/console/w/{tenant.slug}/team")).status_code == 403  # viewers do not see the team


async def test_the_last_owner_stays(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    owner = await sign_in(tenant, "owner")
    demoted = await owner.post(f"/console/w/{tenant.slug}/team/{owner.operator_id}/role", {"role": "operator"})
    assert demoted.status_code == 409
    assert "A workspace keeps at least one owner" in text_of(demoted)
    assert '<section class="problem" role="alert">' in demoted.text  # htmx shows it in the flash
    removed = await owner.post(f"/console/w/{tenant.slug}/team/{owner.operator_id}/remove", htmx=True)
    assert removed.status_code == 409
    assert "A workspace keeps at least one owner" in removed.text
    assert (await roles_here(kernel, tenant.slug))[owner.username] == "owner"

    second = await sign_in(tenant, "owner")  # with another owner, one may step down
    stepped = await owner.post(
        f"/console/w/{tenant.slug}/team/{owner.operator_id}/role", {"role": "analyst"}, htmx=True
    )
    assert stepped.headers["HX-Redirect"] == f"/console/w/{tenant.slug}/"
    assert (await roles_here(kernel, tenant.slug))[owner.username] == "analyst"
    left = await second.post(f"/console/w/{tenant.slug}/team/{second.operator_id}/remove", htmx=True)
    assert left.status_code == 409  # now the last owner


async def test_removing_someone(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    owner = await sign_in(tenant, "owner")
    viewer = await sign_in(tenant, "viewer")
    page = await owner.get(f"/console/w/{tenant.slug}/team")
    assert f'action="/console/w/{tenant.slug}/team/{viewer.operator_id}/remove"' in page.text
    assert "hx-confirm=" in page.text
    removed = await owner.post(f"/console/w/{tenant.slug}/team/{viewer.operator_id}/remove", htmx=True)
    assert removed.status_code == 200
    assert viewer.username not in removed.text
    assert viewer.username not in await roles_here(kernel, tenant.slug)
    assert (await viewer.get(f"/console/w/{tenant.slug}/plugins")).status_code == 404
    assert (await owner.post(f"/console/w/{tenant.slug}/team/{viewer.operator_id}/remove")).status_code == 404


@pytest.mark.parametrize(("role", "reads"), [("operator", True), ("analyst", True), ("viewer", False)])
async def test_only_owners_manage_the_team(
    sign_in: SignIn, tenant: Any, kernel: Kernel, role: str, reads: bool
) -> None:
    owner = await sign_in(tenant, "owner")
    someone = await sign_in(tenant, role)
    page = await someone.get(f"/console/w/{tenant.slug}/team")
    assert page.status_code == (200 if reads else 403)
    if reads:
        assert owner.username in page.text
        assert "<select" not in page.text.split('<main id="main">', 1)[1]
        assert "/remove" not in page.text
        assert "Add an operator" not in page.text
    newcomer = await kernel.operators.create(f"new-{secrets.token_hex(3)}", PASSWORD)
    writes = [
        ("/team/add", {"username": newcomer.username, "role": "owner"}),
        ("/team/create", {"username": f"x-{secrets.token_hex(3)}", "password": PASSWORD, "role": "owner"}),
        (f"/team/{someone.operator_id}/role", {"role": "owner"}),
        (f"/team/{owner.operator_id}/remove", {}),
    ]
    for path, form in writes:
        assert (await someone.post(f"/console/w/{tenant.slug}{path}", form)).status_code == 403
    assert await roles_here(kernel, tenant.slug) == {owner.username: "owner", someone.username: role}


async def test_forms_without_the_csrf_token_are_refused(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    owner = await sign_in(tenant, "owner")
    analyst = await sign_in(tenant, "analyst")
    newcomer = await kernel.operators.create(f"new-{secrets.token_hex(3)}", PASSWORD)
    writes = [
        ("/team/add", {"username": newcomer.username, "role": "owner"}),
        ("/team/create", {"username": f"x-{secrets.token_hex(3)}", "password": PASSWORD, "role": "owner"}),
        (f"/team/{analyst.operator_id}/role", {"role": "owner"}),
        (f"/team/{analyst.operator_id}/remove", {}),
    ]
    for path, form in writes:
        refused = await owner.post(f"/console/w/{tenant.slug}{path}", form, csrf=False)
        assert refused.status_code == 403
        assert "This form has expired" in refused.text
    assert await roles_here(kernel, tenant.slug) == {owner.username: "owner", analyst.username: "analyst"}


async def test_no_way_into_another_workspace_s_team(sign_in: SignIn, tenant: Any, other: Any, kernel: Kernel) -> None:
    owner = await sign_in(tenant, "owner")
    theirs: ConsoleClient = await sign_in(other, "analyst")
    assert (await owner.get(f"/console/w/{other.slug}/team")).status_code == 404
    assert (
        await owner.post(f"/console/w/{other.slug}/team/{theirs.operator_id}/role", {"role": "owner"})
    ).status_code == 404
    # someone with no role here, named in this workspace's URLs: not found, and not added by the way
    assert (
        await owner.post(f"/console/w/{tenant.slug}/team/{theirs.operator_id}/role", {"role": "owner"})
    ).status_code == 404
    assert (await owner.post(f"/console/w/{tenant.slug}/team/{theirs.operator_id}/remove")).status_code == 404
    assert theirs.username not in await roles_here(kernel, tenant.slug)
    assert (await roles_here(kernel, other.slug))[theirs.username] == "analyst"
