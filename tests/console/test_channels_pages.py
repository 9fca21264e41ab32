"""The channels plugin's console pages: sends and refusals, providers (the secret never shown),
templates with moderation, and the preview against a real member; what each role may do, and no
crossing workspaces."""

from __future__ import annotations

from typing import Any

from console_client import SignIn, text_of

API = "/api/v1/channels"


def base(tenant: Any) -> str:
    return f"/console/w/{tenant.slug}/channels"


async def test_an_owner_adds_a_provider_and_a_template_and_previews_it(tenant: Any, sign_in: SignIn) -> None:
    await tenant.enable("channels")
    owner = await sign_in(tenant, "owner")
    page = await owner.get(f"{base(tenant)}/")
    assert page.status_code == 200, page.text
    assert "No provider yet" in text_of(page)
    bad = await owner.post(f"{base(tenant)}/providers", {"name": "mail", "kind": "smtp", "secret": "s3cret-pw"})
    assert bad.status_code == 422
    assert "s3cret-pw" not in bad.text
    assert "required" in text_of(bad)
    added = await owner.post(
        f"{base(tenant)}/providers",
        {
            "name": "mail",
            "kind": "smtp",
            "host": "127.0.0.1",
            "port": "2525",
            "sender": "a@b.test",
            "security": "none",
            "secret": "s3cret-pw",
        },
    )
    assert added.status_code == 303, added.text
    listed = await owner.get(f"{base(tenant)}/")
    assert "stored, encrypted" in text_of(listed)
    assert "s3cret-pw" not in listed.text
    made = await owner.post(
        f"{base(tenant)}/templates",
        {
            "name": "welcome",
            "language": "en",
            "channel": "email",
            "subject": "Hi {{ member.display_name }}",
            "body": "Hello {{ member.display_name }}",
        },
    )
    assert made.status_code == 303, made.text
    template_url = made.headers["location"]
    member = await tenant.member(display_name="Preview Person", identities={"email": "p@example.test"})
    shown = await owner.post(f"{template_url}/preview", {"member_id": str(member["id"])}, htmx=True)
    assert shown.status_code == 200
    assert "Hi Preview Person" in text_of(shown)
    assert "p@example.test" in shown.text
    missing = await owner.post(f"{template_url}/preview", {"member_id": "123456789"}, htmx=True)
    assert "No member" in text_of(missing)
    broken = await owner.post(template_url, {"subject": "x", "body": "{% if %}"})
    assert broken.status_code == 422
    assert "not a valid template" in text_of(broken)


async def test_a_viewer_reads_but_cannot_change(tenant: Any, other: Any, sign_in: SignIn) -> None:
    await tenant.enable("channels")
    made = await tenant.post(f"{API}/templates", {"name": "t", "body": "b"})
    viewer = await sign_in(tenant, "viewer")
    assert (await viewer.get(f"{base(tenant)}/")).status_code == 200
    assert (await viewer.get(f"{base(tenant)}/templates/{made.json()['id']}")).status_code == 200
    assert (await viewer.post(f"{base(tenant)}/templates", {"name": "x", "body": "y"})).status_code == 403
    assert (
        await viewer.post(f"{base(tenant)}/providers", {"name": "x", "kind": "webhook", "url": "http://x"})
    ).status_code == 403
    await other.enable("channels")
    stranger = await sign_in(other, "owner")
    assert (await stranger.get(f"{base(other)}/templates/{made.json()['id']}")).status_code == 404


async def test_an_owner_sets_quiet_hours_and_a_cap(tenant: Any, sign_in: SignIn) -> None:
    await tenant.enable("channels")
    owner = await sign_in(tenant, "owner")
    form = {
        "purpose": "marketing.sms",
        "quiet_from": "21:30",
        "quiet_until": "09:00",
        "cap": "2",
        "cap_days": "7",
        "delay": "on",
    }
    saved = await owner.post(f"{base(tenant)}/rules", form)
    assert saved.status_code == 303, saved.text
    assert (await tenant.get(f"{API}/rules")).json() == [
        {
            "purpose": "marketing.sms",
            "quiet_from": "21:30",
            "quiet_until": "09:00",
            "cap": 2,
            "cap_days": 7,
            "delay": True,
        }
    ]
    assert "21:30–09:00" in text_of(await owner.get(f"{base(tenant)}/"))
    bad = await owner.post(f"{base(tenant)}/rules", {**form, "quiet_until": ""})
    assert bad.status_code == 422
    assert "quiet hours need both ends" in text_of(bad)
    viewer = await sign_in(tenant, "viewer")
    assert (await viewer.post(f"{base(tenant)}/rules", form)).status_code == 403
