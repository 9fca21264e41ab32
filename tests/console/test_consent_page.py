"""The consent page: purposes with their coverage, adding a purpose (errors next to the fields), the
chain's check on request (intact, then broken by tampering), who may do what, CSRF, and nothing of
another workspace."""

from __future__ import annotations

import re
from typing import Any

import pytest
from console_client import SignIn, text_of
from scrm.kernel import Kernel


async def grant(tenant: Any, member_id: int, purpose: str = "marketing.email", status: str = "granted") -> None:
    body = {"member_id": member_id, "purpose": purpose, "status": status}
    response = await tenant.post("/api/v1/consents", body)
    assert response.status_code == 201, response.text


def row(response: Any, purpose: str) -> str:
    """The text of a purpose's row in the table."""
    found = re.search(rf'<tr data-purpose="{re.escape(purpose)}">(.*?)</tr>', response.text, re.S)
    assert found, response.text
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


async def test_purposes_with_their_coverage(sign_in: SignIn, tenant: Any, other: Any) -> None:
    ann, bob = await tenant.member(), await tenant.member()
    await grant(tenant, ann["id"])
    await grant(tenant, bob["id"])
    await grant(tenant, bob["id"], status="withdrawn")  # the latest record counts
    stranger = await other.member()
    await grant(other, stranger["id"], "marketing.sms")
    viewer = await sign_in(tenant, "viewer")
    page = await viewer.get(f"/console/w/{tenant.slug}/consent")
    assert page.status_code == 200
    assert 'aria-current="page">Consent<' in page.text
    assert row(page, "marketing.email") == "marketing.email Marketing messages by email 1 / 2 50.0%"
    assert row(page, "marketing.sms") == "marketing.sms Marketing messages by SMS 0 / 2 0.0%"
    assert "New purpose" not in text_of(page)  # a viewer adds nothing
    assert "Verify now" in text_of(page)
    assert "Intact" not in text_of(page)  # checked on request only


async def test_add_a_purpose_without_javascript(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    operator = await sign_in(tenant, "operator")
    created = await operator.post(
        f"/console/w/{tenant.slug}/consent/purposes", {"name": "marketing.push", "description": "App pushes"}
    )
    assert created.status_code == 303
    assert created.headers["location"] == f"/console/w/{tenant.slug}/consent"
    page = await operator.get(f"/console/w/{tenant.slug}/consent")
    assert row(page, "marketing.push") == "marketing.push App pushes 0 / 0 0.0%"
    assert "marketing.push" in await kernel.consents.purposes.names(await kernel.workspaces.ref(tenant.slug))


async def test_add_a_purpose_with_htmx(sign_in: SignIn, tenant: Any) -> None:
    owner = await sign_in(tenant, "owner")
    created = await owner.post(f"/console/w/{tenant.slug}/consent/purposes", {"name": "survey"}, htmx=True)
    assert created.status_code == 200
    assert created.text.lstrip().startswith('<section id="purposes"')
    assert "<html" not in created.text
    assert "Purpose survey added." in text_of(created)
    assert row(created, "survey") == "survey 0 / 0 0.0%"


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"name": "marketing.email", "description": "again"}, "name", "already exists"),
        ({"name": "Bad Name", "description": "typed"}, "name", "Expected `str` matching regex"),
        ({"name": "x" * 65}, "name", "Expected `str` of length &lt;= 64"),
        ({"description": "no name"}, "name", "required"),
        ({"name": "ok.name", "description": "d" * 2001}, "description", "Expected `str` of length &lt;= 2000"),
    ],
)
async def test_bad_input_comes_back_with_the_error_next_to_the_field(
    sign_in: SignIn, tenant: Any, kernel: Kernel, form: dict[str, str], field: str, message: str
) -> None:
    owner = await sign_in(tenant, "owner")
    before = await kernel.consents.purposes.names(await kernel.workspaces.ref(tenant.slug))
    for htmx in (False, True):
        response = await owner.post(f"/console/w/{tenant.slug}/consent/purposes", form, htmx=htmx)
        assert response.status_code == 422
        assert f'<small class="error" id="{field}-error">{message}' in response.text
        for value in form.values():
            assert f'value="{value}"' in response.text  # what was typed is kept
        assert '<details class="card" open>' in response.text
        assert ("<html" in response.text) is not htmx
        assert "Traceback" not in response.text
    assert await kernel.consents.purposes.names(await kernel.workspaces.ref(tenant.slug)) == before


async def test_verify_the_chain_then_find_it_broken(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    ann = await tenant.member()
    await grant(tenant, ann["id"])
    await grant(tenant, ann["id"], "marketing.sms")
    analyst = await sign_in(tenant, "analyst")
    fragment = await analyst.get(f"/console/w/{tenant.slug}/consent/verify", htmx=True)
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section id="chain"')
    assert "<html" not in fragment.text
    assert "Intact 2 records checked; the chain holds." in text_of(fragment)
    page = await analyst.get(f"/console/w/{tenant.slug}/consent/verify")  # without JavaScript: the whole page
    assert page.status_code == 200
    assert "Intact" in text_of(page)
    assert row(page, "marketing.sms") == "marketing.sms Marketing messages by SMS 1 / 1 100.0%"

    await kernel.db.fetch("UPDATE scrm_consent SET source = 'forged' WHERE workspace = {} AND seq = 2", tenant.id)
    broken = await analyst.get(f"/console/w/{tenant.slug}/consent/verify", htmx=True)
    assert broken.status_code == 200
    text = text_of(broken)
    assert "Broken The chain breaks at record 2: hash does not match its content." in text
    assert "Intact" not in text
    await kernel.workspaces.delete(tenant.slug)  # `scrm consent verify` of every workspace must stay green


@pytest.mark.parametrize(
    ("role", "writes"), [("owner", True), ("operator", True), ("analyst", False), ("viewer", False)]
)
async def test_who_may_do_what(sign_in: SignIn, tenant: Any, kernel: Kernel, role: str, writes: bool) -> None:
    me = await sign_in(tenant, role)
    page = await me.get(f"/console/w/{tenant.slug}/consent")
    assert page.status_code == 200
    assert ("New purpose" in text_of(page)) is writes
    assert (await me.get(f"/console/w/{tenant.slug}/consent/verify", htmx=True)).status_code == 200
    created = await me.post(f"/console/w/{tenant.slug}/consent/purposes", {"name": f"by.{role}"})
    assert created.status_code == (303 if writes else 403)
    names = await kernel.consents.purposes.names(await kernel.workspaces.ref(tenant.slug))
    assert (f"by.{role}" in names) is writes


async def test_the_form_needs_the_csrf_token(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    owner = await sign_in(tenant, "owner")
    for htmx in (False, True):
        response = await owner.post(
            f"/console/w/{tenant.slug}/consent/purposes", {"name": "forged"}, htmx=htmx, csrf=False
        )
        assert response.status_code == 403
    assert "forged" not in await kernel.consents.purposes.names(await kernel.workspaces.ref(tenant.slug))


async def test_nothing_of_another_workspace(sign_in: SignIn, tenant: Any, other: Any, kernel: Kernel) -> None:
    operator = await sign_in(tenant, "operator")
    assert (await operator.get(f"/console/w/{other.slug}/consent")).status_code == 404
    assert (await operator.get(f"/console/w/{other.slug}/consent/verify", htmx=True)).status_code == 404
    planted = await operator.post(f"/console/w/{other.slug}/consent/purposes", {"name": "planted"})
    assert planted.status_code == 404
    assert "planted" not in await kernel.consents.purposes.names(await kernel.workspaces.ref(other.slug))
    stranger = await other.member()
    await grant(other, stranger["id"])
    await kernel.db.fetch("UPDATE scrm_consent SET source = 'forged' WHERE workspace = {}", other.id)
    ours = await operator.get(f"/console/w/{tenant.slug}/consent/verify", htmx=True)
    assert "Intact 0 records checked" in text_of(ours)  # another workspace's broken chain is not ours
    await kernel.workspaces.delete(other.slug)  # `scrm consent verify` of every workspace must stay green
