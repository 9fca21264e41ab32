"""The audit plugin in the console: the dashboard's banner while the latest verification found a broken
chain (for every role, translated, gone once a check finds the chains sound, absent where the plugin
is off), and who may open the compliance pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from console_client import SignIn, text_of
from scrm.kernel import Kernel

ALERT = "A hash chain of this workspace is broken"


async def record_check(kernel: Kernel, workspace_id: int, ok: bool) -> None:
    await kernel.db.fetch(
        "INSERT INTO audit_check (workspace, checked_at, consent_ok, trail_ok, detail) VALUES ({}, {}, {}, {}, {})",
        workspace_id,
        datetime.now(UTC),
        ok,
        True,
        "" if ok else "consent ledger: seq 1 (record 1): hash does not match its content",
    )


async def test_the_dashboard_shows_a_broken_chain_to_every_role(
    sign_in: SignIn, kernel: Kernel, tenant: Any, other: Any
) -> None:
    await tenant.enable("audit")
    owner = await sign_in(tenant, "owner")
    viewer = await sign_in(tenant, "viewer")
    dashboard = f"/console/w/{tenant.slug}/"
    assert ALERT not in text_of(await owner.get(dashboard))
    await record_check(kernel, tenant.id, ok=False)
    for client in (owner, viewer):
        page = await client.get(dashboard)
        assert page.status_code == 200
        assert 'data-testid="dashboard-alert"' in page.text
        assert ALERT in text_of(page)
    # another workspace, where the plugin is off, shows nothing
    await record_check(kernel, other.id, ok=False)
    elsewhere = await sign_in(other, "owner")
    assert ALERT not in text_of(await elsewhere.get(f"/console/w/{other.slug}/"))
    # a sound check takes the banner down
    await record_check(kernel, tenant.id, ok=True)
    assert ALERT not in text_of(await owner.get(dashboard))


async def test_who_opens_the_compliance_pages(sign_in: SignIn, tenant: Any) -> None:
    await tenant.enable("audit")
    base = f"/console/w/{tenant.slug}/audit"
    analyst = await sign_in(tenant, "analyst")
    for path in ("/", "/trail", "/requests", "/retention", "/copy", "/reports"):
        page = await analyst.get(base + path)
        assert page.status_code == 200, (path, page.text[:300])
        assert "Traceback" not in page.text
    assert "Record a request" not in (await analyst.get(f"{base}/requests")).text  # reading only
    viewer = await sign_in(tenant, "viewer")
    assert (await viewer.get(f"{base}/")).status_code == 403


async def test_the_report_shows_refusals_and_contacts_without_consent(
    sign_in: SignIn, kernel: Kernel, tenant: Any
) -> None:
    await tenant.enable("audit")
    ref = await kernel.workspaces.ref(tenant.id)
    member = (await tenant.member(external_id="refused"))["id"]
    assert await kernel.consents.can_contact(ref, member, "marketing.email", channel="email") is False
    base = f"/console/w/{tenant.slug}/audit"
    owner = await sign_in(tenant, "owner")
    for path in ("/reports", "/reports/html"):
        page = await owner.get(base + path)
        assert page.status_code == 200
        assert 'data-testid="refusals"' in page.text
        assert "no consent recorded" in page.text
        assert "No plugin that sends messages is enabled here" in text_of(page)
    await tenant.enable("channels")
    page = await owner.get(f"{base}/reports")
    assert 'data-testid="contacts"' in page.text
    assert "No plugin that sends messages" not in text_of(page)
