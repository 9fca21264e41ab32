"""The tags page: tags by group with their member counts, creating, editing and deleting tags (with
and without htmx), errors next to the fields, who may do what, CSRF, and no reach into another
workspace's tags."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from console_client import SignIn, text_of
from scrm import NotFound
from scrm.kernel import Kernel


async def tag(tenant: Any, name: str, group: str | None = None, description: str = "") -> None:
    response = await tenant.post("/api/v1/tags", {"name": name, "group": group, "description": description})
    assert response.status_code == 201, response.text


async def stored(kernel: Kernel, tenant: Any, name: str) -> Any:
    return await kernel.tags.get(await kernel.workspaces.ref(tenant.slug), name)


def url(tenant: Any, action: str = "", name: str | None = None) -> str:
    path = f"/console/w/{tenant.slug}/tags{action}"
    return path if name is None else f"{path}?name={quote(name, safe='')}"


async def test_tags_by_group_with_member_counts(sign_in: SignIn, tenant: Any, other: Any) -> None:
    await tag(tenant, "vip", "lifecycle", "Spends the most")
    await tag(tenant, "coffee", "interest")
    await tag(tenant, "misc")
    await tag(other, "their-secret", "lifecycle")
    await tenant.member(tags=["vip"])
    await tenant.member(tags=["vip", "coffee"])
    viewer = await sign_in(tenant, "viewer")
    page = await viewer.get(url(tenant))
    assert page.status_code == 200
    assert 'aria-current="page">Tags<' in page.text
    text = text_of(page)
    assert text.index("interest") < text.index("lifecycle") < text.index("No group")
    assert "Spends the most" in text
    assert f'href="/console/w/{tenant.slug}/members?tags=vip" title="Members with this tag">2</a>' in page.text
    assert f'href="/console/w/{tenant.slug}/members?tags=coffee" title="Members with this tag">1</a>' in page.text
    assert "their-secret" not in text
    assert "New tag" not in text  # a viewer changes nothing
    assert "Delete" not in text


async def test_create_edit_and_delete_without_javascript(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    operator = await sign_in(tenant, "operator")
    created = await operator.post(url(tenant), {"name": "new/odd & tag?", "group": "interest", "description": "d"})
    assert created.status_code == 303
    assert created.headers["location"] == url(tenant)
    made = await stored(kernel, tenant, "new/odd & tag?")
    assert (made.group, made.description) == ("interest", "d")
    page = await operator.get(url(tenant))
    assert f'action="/console/w/{tenant.slug}/tags/edit?name=new/odd%20%26%20tag%3F"' in page.text  # any name

    edited = await operator.post(url(tenant, "/edit", "new/odd & tag?"), {"group": "", "description": "changed"})
    assert edited.status_code == 303
    made = await stored(kernel, tenant, "new/odd & tag?")
    assert (made.group, made.description) == (None, "changed")  # a blank group clears it

    member = await tenant.member(tags=["new/odd & tag?"])
    deleted = await operator.post(url(tenant, "/delete", "new/odd & tag?"))
    assert deleted.status_code == 303
    with pytest.raises(NotFound):
        await stored(kernel, tenant, "new/odd & tag?")
    assert (await tenant.get(f"/api/v1/members/{member['id']}")).json()["tags"] == []


async def test_htmx_answers_with_the_list_and_a_confirmation(sign_in: SignIn, tenant: Any) -> None:
    owner = await sign_in(tenant, "owner")
    created = await owner.post(url(tenant), {"name": "fresh", "group": "lifecycle"}, htmx=True)
    assert created.status_code == 200
    assert created.text.lstrip().startswith('<section id="tags"')
    assert "<html" not in created.text
    assert "Tag fresh created." in text_of(created)
    assert 'data-group="lifecycle"' in created.text

    moved = await owner.post(url(tenant, "/edit", "fresh"), {"group": "interest", "description": ""}, htmx=True)
    assert moved.status_code == 200
    assert "Tag fresh saved." in text_of(moved)
    assert 'data-group="interest"' in moved.text
    assert 'data-group="lifecycle"' not in moved.text  # the tag moved to its new group

    gone = await owner.post(url(tenant, "/delete", "fresh"), htmx=True)
    assert gone.status_code == 200
    assert "Tag fresh deleted." in text_of(gone)
    assert 'data-tag="fresh"' not in gone.text
    assert "hx-confirm" not in gone.text  # no tag left to delete
    page = await owner.get(url(tenant))
    assert "No tags yet." in text_of(page)


async def test_delete_asks_for_confirmation(sign_in: SignIn, tenant: Any) -> None:
    await tag(tenant, "vip")
    await tenant.member(tags=["vip"])
    owner = await sign_in(tenant, "owner")
    page = await owner.get(url(tenant))
    assert 'hx-confirm="Delete the tag vip? It is taken off 1 members."' in page.text


@pytest.mark.parametrize("htmx", [False, True])
async def test_a_duplicate_name_is_an_error_next_to_the_field(sign_in: SignIn, tenant: Any, htmx: bool) -> None:
    await tag(tenant, "vip")
    owner = await sign_in(tenant, "owner")
    response = await owner.post(url(tenant), {"name": "vip", "group": "lifecycle", "description": "typed"}, htmx=htmx)
    assert response.status_code == 422
    assert '<small class="error" id="name-error">already exists</small>' in response.text
    assert 'value="lifecycle"' in response.text  # what was typed is kept
    assert 'value="typed"' in response.text
    assert ("<html" in response.text) is not htmx
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"group": "g"}, "name", "required"),
        ({"name": "a,b"}, "name", "Expected `str` matching regex"),
        ({"name": "a|b"}, "name", "Expected `str` matching regex"),
        ({"name": "ok", "group": "g" * 101}, "group", "Expected `str` of length &lt;= 100"),
        ({"name": "ok", "description": "d" * 2001}, "description", "Expected `str` of length &lt;= 2000"),
    ],
)
async def test_bad_input_on_create(
    sign_in: SignIn, tenant: Any, kernel: Kernel, form: dict[str, str], field: str, message: str
) -> None:
    owner = await sign_in(tenant, "owner")
    response = await owner.post(url(tenant), form)
    assert response.status_code == 422
    assert f'<small class="error" id="{field}-error">{message}' in response.text
    for value in form.values():
        assert f'value="{value.strip()}"' in response.text
    assert await kernel.tags.list(await kernel.workspaces.ref(tenant.slug)) == []


async def test_bad_input_on_edit_shows_in_that_tags_form(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    await tag(tenant, "aaa", "one", "first")
    await tag(tenant, "bbb", "two", "second")
    owner = await sign_in(tenant, "owner")
    for htmx in (False, True):
        response = await owner.post(url(tenant, "/edit", "bbb"), {"group": "x" * 101, "description": "kept"}, htmx=htmx)
        assert response.status_code == 422
        assert response.text.count('id="group-error"') == 1
        assert "<details open>" in response.text  # the failed edit form is open
        assert 'value="kept"' in response.text
        assert 'value="first"' in response.text  # the other tags' forms show their own values
    unchanged = await stored(kernel, tenant, "bbb")
    assert (unchanged.group, unchanged.description) == ("two", "second")


async def test_editing_or_deleting_an_unknown_tag_is_404(sign_in: SignIn, tenant: Any) -> None:
    owner = await sign_in(tenant, "owner")
    assert (await owner.post(url(tenant, "/edit", "nope"), {"description": "x"})).status_code == 404
    assert (await owner.post(url(tenant, "/delete", "nope"))).status_code == 404
    assert (await owner.post(url(tenant, "/delete", "nope"), htmx=True)).status_code == 404
    assert (await owner.post(url(tenant, "/delete"))).status_code == 400  # no name at all


@pytest.mark.parametrize(
    ("role", "writes"), [("owner", True), ("operator", True), ("analyst", False), ("viewer", False)]
)
async def test_who_may_do_what(sign_in: SignIn, tenant: Any, kernel: Kernel, role: str, writes: bool) -> None:
    await tag(tenant, "keep")
    me = await sign_in(tenant, role)
    page = await me.get(url(tenant))
    assert page.status_code == 200
    assert ("New tag" in text_of(page)) is writes
    expected = 303 if writes else 403
    assert (await me.post(url(tenant), {"name": f"by-{role}"})).status_code == expected
    assert (await me.post(url(tenant, "/edit", "keep"), {"description": role})).status_code == expected
    assert (await me.post(url(tenant, "/delete", "keep"))).status_code == expected
    if not writes:
        assert (await stored(kernel, tenant, "keep")).description == ""


async def test_every_form_needs_the_csrf_token(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    await tag(tenant, "keep")
    owner = await sign_in(tenant, "owner")
    for path, form in [
        (url(tenant), {"name": "forged"}),
        (url(tenant, "/edit", "keep"), {"description": "forged"}),
        (url(tenant, "/delete", "keep"), {}),
    ]:
        for htmx in (False, True):
            response = await owner.post(path, form, htmx=htmx, csrf=False)
            assert response.status_code == 403
            assert "This form has expired" in response.text
    assert [t.name for t in await kernel.tags.list(await kernel.workspaces.ref(tenant.slug))] == ["keep"]
    assert (await stored(kernel, tenant, "keep")).description == ""


async def test_no_reach_into_another_workspaces_tags(sign_in: SignIn, tenant: Any, other: Any, kernel: Kernel) -> None:
    await tag(other, "their-secret", "lifecycle", "theirs")
    await tag(other, "shared", None, "theirs")
    await tag(tenant, "shared", None, "ours")
    operator = await sign_in(tenant, "operator")
    assert (await operator.get(url(other))).status_code == 404
    assert (await operator.post(url(other), {"name": "planted"})).status_code == 404
    assert (await operator.post(url(other, "/delete", "their-secret"))).status_code == 404
    # another workspace's tag named in this workspace's URLs: not found here, untouched there
    assert (await operator.post(url(tenant, "/edit", "their-secret"), {"description": "mine"})).status_code == 404
    assert (await operator.post(url(tenant, "/delete", "their-secret"))).status_code == 404
    assert (await operator.post(url(tenant, "/edit", "shared"), {"description": "edited"})).status_code == 303
    assert (await operator.post(url(tenant, "/delete", "shared"))).status_code == 303
    assert (await stored(kernel, other, "their-secret")).description == "theirs"
    assert (await stored(kernel, other, "shared")).description == "theirs"
    with pytest.raises(NotFound):
        await stored(kernel, other, "planted")
