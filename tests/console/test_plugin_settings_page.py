"""The console's plugin settings page: settings as JSON, checked against the plugin's schema by the
same service as the API (the bad field named next to the form), and only for roles that may."""

from __future__ import annotations

from typing import Any

from console_client import SignIn, text_of


async def test_settings_are_checked_and_saved(sign_in: SignIn, tenant: Any) -> None:
    await tenant.enable("webhooks")
    me = await sign_in(tenant, "owner")
    url = f"/console/w/{tenant.slug}/plugins/webhooks/settings"
    page = await me.get(url)
    assert page.status_code == 200
    assert "retry_hours" in page.text  # the schema is shown
    bad = await me.post(url, {"settings": '{"retry_hours": 500}'})
    assert bad.status_code == 422
    assert "settings.retry_hours" in text_of(bad)
    broken = await me.post(url, {"settings": "{not json"})
    assert broken.status_code == 422
    assert "not JSON" in text_of(broken)
    saved = await me.post(url, {"settings": '{"retry_hours": 12}'})
    assert saved.status_code == 303
    stored = (await tenant.get("/api/v1/plugins/webhooks")).json()
    assert stored["settings"] == {"retry_hours": 12}
    assert stored["enabled"] is True


async def test_a_viewer_reads_the_settings_but_cannot_save(sign_in: SignIn, tenant: Any) -> None:
    await tenant.enable("webhooks", {"retry_hours": 3})
    me = await sign_in(tenant, "viewer")
    url = f"/console/w/{tenant.slug}/plugins/webhooks/settings"
    page = await me.get(url)
    assert page.status_code == 200
    assert "<textarea" not in page.text
    assert (await me.post(url, {"settings": "{}"})).status_code == 403
