"""The dashboard: the headline figures, the three charts over a chosen period, the welcome a role
without reports gets instead, and no figure from another workspace."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from console_client import SignIn, text_of


async def test_figures_and_charts(sign_in: SignIn, tenant: Any, other: Any) -> None:
    ann, bob = await tenant.member(display_name="Ann"), await tenant.member(display_name="Bob")
    for _ in range(3):
        await other.member()  # never counted here
    now = datetime.now(UTC)
    events = [
        {"member_id": ann["id"], "type": "checkin", "occurred_at": (now - timedelta(days=1)).isoformat()},
        {"member_id": bob["id"], "type": "checkin", "occurred_at": (now - timedelta(days=20)).isoformat()},
    ]
    assert (await tenant.post("/api/v1/events", events)).status_code == 200
    consent = {"member_id": ann["id"], "purpose": "marketing.email", "status": "granted"}
    assert (await tenant.post("/api/v1/consents", consent)).status_code == 201

    owner = await sign_in(tenant, "owner")
    page = await owner.get(f"/console/w/{tenant.slug}/")
    assert page.status_code == 200
    assert 'aria-current="page">Dashboard<' in page.text
    text = text_of(page)
    assert "Members 2 " in text
    assert "Active in the last 30 days 2 Active ratio: 100%" in text
    # today's two member.created and consent.granted, and yesterday's check-in; not the one of 20 days ago
    assert "Events in the last 7 days 4 " in text
    assert "Last 30 days" in text
    assert "2 joined in the last 30 days" in text
    assert "5 in the last 30 days" in text  # the events per day of the period
    assert 'data-chart="line"' in page.text
    assert 'data-chart="bar"' in page.text
    assert 'data-chart="hbar"' in page.text
    assert "marketing.email: 50%" in page.text  # the coverage bar's tooltip: one of two active members
    assert page.text.count('class="chart-bar"') == 30 + 5  # a bar per day, and one per purpose
    assert "Traceback" not in page.text


@pytest.mark.parametrize("days", [7, 90])
async def test_the_period_selector(sign_in: SignIn, tenant: Any, days: int) -> None:
    analyst = await sign_in(tenant, "analyst")
    fragment = await analyst.get(f"/console/w/{tenant.slug}/?days={days}", htmx=True)
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith(f'<section id="dashboard-charts" data-days="{days}">')
    assert "<html" not in fragment.text
    assert re.search(rf'hx-get="/console/w/{tenant.slug}/\?days=30"[^>]*hx-push-url="true"', fragment.text)
    assert f'class="badge ok" aria-current="true">Last {days} days' in fragment.text
    bars = re.search(r'<svg[^>]*data-chart="bar".*?</svg>', fragment.text, re.S)
    assert bars
    assert bars.group(0).count('class="chart-bar"') == days
    page = await analyst.get(f"/console/w/{tenant.slug}/?days={days}")  # the pushed URL loads the whole page
    assert page.status_code == 200
    assert "<html" in page.text
    assert f'data-days="{days}"' in page.text


@pytest.mark.parametrize("days", ["8", "abc", "-7"])
async def test_a_period_not_offered_is_refused(sign_in: SignIn, tenant: Any, days: str) -> None:
    owner = await sign_in(tenant, "owner")
    response = await owner.get(f"/console/w/{tenant.slug}/", params={"days": days})
    assert response.status_code == 422
    assert "days" in text_of(response)
    assert "Traceback" not in response.text


@pytest.mark.parametrize("role", ["owner", "operator", "analyst"])
async def test_roles_with_reports_see_the_figures(sign_in: SignIn, tenant: Any, role: str) -> None:
    me = await sign_in(tenant, role)
    page = await me.get(f"/console/w/{tenant.slug}/")
    assert page.status_code == 200
    assert 'data-testid="headline"' in page.text
    assert 'data-testid="welcome"' not in page.text


async def test_a_viewer_is_welcomed_with_links_instead(sign_in: SignIn, tenant: Any) -> None:
    await tenant.member()
    viewer = await sign_in(tenant, "viewer")
    page = await viewer.get(f"/console/w/{tenant.slug}/")
    assert page.status_code == 200
    assert 'data-testid="welcome"' in page.text
    assert "<svg" not in page.text
    assert 'data-testid="headline"' not in page.text
    assert f'<a href="/console/w/{tenant.slug}/members">Members</a>' in page.text
    assert f'<a href="/console/w/{tenant.slug}/events">Events</a>' in page.text
    assert f'/console/w/{tenant.slug}/keys"' not in page.text  # nothing the role cannot read
    charts = await viewer.get(f"/console/w/{tenant.slug}/?days=7", htmx=True)
    assert charts.status_code == 403  # the figures alone are a report


async def test_no_dashboard_of_another_workspace(sign_in: SignIn, tenant: Any, other: Any) -> None:
    operator = await sign_in(tenant, "operator")
    assert (await operator.get(f"/console/w/{other.slug}/")).status_code == 404
    assert (await operator.get(f"/console/w/{other.slug}/?days=7", htmx=True)).status_code == 404
    nobody = await sign_in(None)
    assert (await nobody.get(f"/console/w/{tenant.slug}/")).status_code == 404
