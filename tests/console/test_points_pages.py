"""The points plugin's console pages (rules, rewards, leaderboard, settings) and member panel: what
each role sees and may change, errors next to their field, CSRF, and no crossing workspaces."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from console_client import ConsoleClient, SignIn, text_of

API = "/api/v1/points"


def base(tenant: Any) -> str:
    return f"/console/w/{tenant.slug}/points"


def field_error(response: httpx.Response, name: str) -> str:
    found = re.search(rf'<small class="error" id="{name}-error">([^<]*)</small>', response.text)
    assert found, f"no error next to {name}: {text_of(response)}"
    return found.group(1)


@pytest.fixture
async def points(tenant: Any) -> Any:
    await tenant.enable("points")
    return tenant


async def owner(tenant: Any, sign_in: SignIn) -> ConsoleClient:
    return await sign_in(tenant, "owner")


async def test_pages_answer_only_where_points_is_enabled(tenant: Any, sign_in: SignIn) -> None:
    op = await sign_in(tenant, "viewer")
    assert (await op.get(f"{base(tenant)}/rules")).status_code == 404
    await tenant.enable("points")
    page = await op.get(f"{base(tenant)}/rules")
    assert page.status_code == 200, page.text
    for title in ("Points rules", "Rewards", "Leaderboard", "Points settings"):
        assert f">{title}</a>" in page.text  # the navigation entries


@pytest.mark.parametrize("path", ["/rules", "/rewards", "/leaderboard", "/settings"])
async def test_readers_see_every_page_without_its_forms(points: Any, sign_in: SignIn, path: str) -> None:
    viewer = await sign_in(points, "viewer")
    page = await viewer.get(base(points) + path)
    assert page.status_code == 200, page.text
    assert 'method="post"' not in page.text.split("<main", 1)[-1].split('action="/console/logout"')[0]
    assert (await viewer.post(f"{base(points)}/rules", {"name": "x"})).status_code == 403


async def test_rules_are_created_with_conditions_paused_and_deleted(points: Any, sign_in: SignIn) -> None:
    op = await sign_in(points, "operator")
    form = {
        "name": "Big orders",
        "event_type": "order.paid",
        "points": "50",
        "conditions": "channel=app, amount>=100, first=true",
        "daily_cap": "100",
        "starts_at": "2026-01-01T00:00",
        "active": "on",
    }
    created = await op.post(f"{base(points)}/rules", form, htmx=True)
    assert created.status_code == 200, created.text
    assert "Rule Big orders created." in text_of(created)
    rule = (await points.get(f"{API}/rules")).json()["items"][0]
    assert rule["conditions"] == {"channel": "app", "amount": {"min": 100.0}, "first": True}
    assert rule["daily_cap"] == 100
    assert rule["starts_at"].startswith("2026-01-01T00:00:00")
    assert "channel=app, amount&gt;=100, first=true" in created.text

    paused = await op.post(f"{base(points)}/rules/{rule['id']}/active")  # without htmx: back to the page
    assert paused.status_code == 303
    assert (await points.get(f"{API}/rules/{rule['id']}")).json()["active"] is False
    deleted = await op.post(f"{base(points)}/rules/{rule['id']}/delete", htmx=True)
    assert deleted.status_code == 200
    assert (await points.get(f"{API}/rules")).json()["items"] == []


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"name": "R", "event_type": "order.paid", "points": "lots"}, "points"),
        ({"name": "R", "event_type": "order.paid", "points": "0"}, "points"),
        ({"name": "R", "event_type": "bad type!", "points": "5"}, "event_type"),
        ({"name": "R", "event_type": "order.paid", "points": "5", "conditions": "amount>=many"}, "conditions"),
        ({"name": "R", "event_type": "order.paid", "points": "5", "conditions": "channel"}, "conditions"),
        ({"name": "R", "event_type": "order.paid", "points": "5", "starts_at": "soon"}, "starts_at"),
        ({"event_type": "order.paid", "points": "5"}, "name"),
    ],
)
async def test_a_bad_rule_comes_back_with_the_error_by_its_field(
    points: Any, sign_in: SignIn, form: dict[str, str], field: str
) -> None:
    op = await owner(points, sign_in)
    response = await op.post(f"{base(points)}/rules", form, htmx=True)
    assert response.status_code == 422, response.text
    assert field_error(response, field)
    assert f'value="{form.get("name", "")}"' in response.text  # what was typed is kept
    assert (await points.get(f"{API}/rules")).json()["items"] == []


async def test_forms_need_the_csrf_token(points: Any, sign_in: SignIn) -> None:
    op = await owner(points, sign_in)
    refused = await op.post(f"{base(points)}/rewards", {"name": "Mug", "cost": "100"}, csrf=False)
    assert refused.status_code == 403
    assert (await points.get(f"{API}/rewards")).json()["items"] == []


async def test_rewards_are_created_and_restocked(points: Any, sign_in: SignIn) -> None:
    op = await owner(points, sign_in)
    created = await op.post(f"{base(points)}/rewards", {"name": "Free latte", "cost": "300", "stock": "5"}, htmx=True)
    assert created.status_code == 200, created.text
    reward = (await points.get(f"{API}/rewards")).json()["items"][0]
    assert (reward["name"], reward["cost"], reward["stock"]) == ("Free latte", 300, 5)

    bad = await op.post(f"{base(points)}/rewards/{reward['id']}", {"cost": "-1", "stock": "5"}, htmx=True)
    assert bad.status_code == 422
    assert field_error(bad, "cost")
    edited = await op.post(f"{base(points)}/rewards/{reward['id']}", {"cost": "250", "stock": "", "active": "true"})
    assert edited.status_code == 303
    again = (await points.get(f"{API}/rewards/{reward['id']}")).json()
    assert (again["cost"], again["stock"], again["active"]) == (250, None, True)
    assert "unlimited" in text_of(await op.get(f"{base(points)}/rewards"))

    missing = await op.post(f"{base(points)}/rewards", {"cost": "10"}, htmx=True)
    assert missing.status_code == 422
    assert field_error(missing, "name")


async def test_leaderboard_ranks_members_by_balance_and_lifetime(points: Any, sign_in: SignIn) -> None:
    ann = await points.member(display_name="Ann")
    bo = await points.member(display_name="Bo")
    for member, amount in ((ann, 50), (bo, 80)):
        response = await points.post(f"{API}/members/{member['id']}/adjustments", {"amount": amount, "reason": "t"})
        assert response.status_code in (200, 201), response.text
    await points.post(f"{API}/members/{bo['id']}/adjustments", {"amount": -60, "reason": "spent"})
    viewer = await sign_in(points, "viewer")
    by_balance = text_of(await viewer.get(f"{base(points)}/leaderboard"))
    assert by_balance.index("Ann") < by_balance.index("Bo")  # 50 > 20
    by_lifetime = text_of(await viewer.get(f"{base(points)}/leaderboard", params={"by": "lifetime"}))
    assert by_lifetime.index("Bo") < by_lifetime.index("Ann")  # 80 > 50
    assert (await viewer.get(f"{base(points)}/leaderboard", params={"by": "nonsense"})).status_code == 400


async def test_settings_are_saved_and_bad_ones_named(points: Any, sign_in: SignIn) -> None:
    op = await owner(points, sign_in)
    form = {
        "expiry_months": "12",
        "checkin_points": "5",
        "streak_bonuses": "7:50, 30:300",
        "tiers": "silver:100, gold:500",
    }
    saved = await op.post(f"{base(points)}/settings", form)
    assert saved.status_code == 303
    settings = (await points.get(f"{API}/settings")).json()
    assert settings["expiry_months"] == 12
    assert settings["streak_bonuses"] == {"7": 50, "30": 300}
    assert [t["name"] for t in settings["tiers"]] == ["silver", "gold"]
    page = await op.get(saved.headers["location"])
    assert "Settings saved." in text_of(page)
    assert 'value="silver:100, gold:500"' in page.text

    for bad, field in (
        ({**form, "tiers": "gold:500, silver:100"}, "tiers"),
        ({**form, "tiers": "gold"}, "tiers"),
        ({**form, "streak_bonuses": "7:many"}, "streak_bonuses"),
        ({**form, "expiry_months": "-3"}, "expiry_months"),
    ):
        response = await op.post(f"{base(points)}/settings", bad)
        assert response.status_code == 422, (bad, response.text)
        assert field_error(response, field)
    assert (await points.get(f"{API}/settings")).json() == settings


async def test_member_panel_shows_the_account_and_adjusts(points: Any, sign_in: SignIn) -> None:
    member = await points.member(display_name="Cai")
    op = await owner(points, sign_in)
    page = await op.get(f"/console/w/{points.slug}/members/{member['id']}")
    assert page.status_code == 200
    assert 'data-testid="points-balance">0<' in page.text
    added = await op.post(
        f"{base(points)}/members/{member['id']}/adjustments", {"amount": "120", "reason": "Welcome gift"}, htmx=True
    )
    assert added.status_code == 200, added.text
    assert 'data-testid="points-balance">120<' in added.text
    assert "Welcome gift" in text_of(added)
    too_much = await op.post(
        f"{base(points)}/members/{member['id']}/adjustments", {"amount": "-500", "reason": "oops"}, htmx=True
    )
    assert too_much.status_code == 422
    assert field_error(too_much, "amount")
    assert (await points.get(f"{API}/members/{member['id']}")).json()["balance"] == 120
    no_reason = await op.post(f"{base(points)}/members/{member['id']}/adjustments", {"amount": "5"}, htmx=True)
    assert no_reason.status_code == 422
    assert field_error(no_reason, "reason")

    viewer = await sign_in(points, "viewer")
    seen = await viewer.get(f"/console/w/{points.slug}/members/{member['id']}")
    assert 'data-testid="points-balance">120<' in seen.text
    assert 'data-testid="points-adjust"' not in seen.text
    refused = await viewer.post(f"{base(points)}/members/{member['id']}/adjustments", {"amount": "5", "reason": "x"})
    assert refused.status_code == 403


async def test_no_crossing_into_another_workspace(points: Any, other: Any, sign_in: SignIn) -> None:
    await other.enable("points")
    stranger = await other.member(display_name="Sam")
    reward = (await other.post(f"{API}/rewards", {"name": "Secret", "cost": 10})).json()
    rule = (await other.post(f"{API}/rules", {"name": "Theirs", "event_type": "x.y", "points": 1})).json()
    op = await owner(points, sign_in)
    assert (await op.get(f"/console/w/{other.slug}/points/rules")).status_code == 404
    for path, form in (
        (f"/members/{stranger['id']}/adjustments", {"amount": "5", "reason": "x"}),
        (f"/rewards/{reward['id']}", {"cost": "1"}),
        (f"/rules/{rule['id']}/active", {}),
        (f"/rules/{rule['id']}/delete", {}),
    ):
        response = await op.post(base(points) + path, form)
        assert response.status_code == 404, (path, response.text)
    assert (await other.get(f"{API}/members/{stranger['id']}")).json()["balance"] == 0
    assert (await other.get(f"{API}/rewards/{reward['id']}")).json()["cost"] == 10
    assert (await other.get(f"{API}/rules/{rule['id']}")).json()["active"] is True
    assert "Secret" not in text_of(await op.get(f"{base(points)}/rewards"))


async def test_redemptions_name_members_and_the_chart_shows_points_issued_and_redeemed(
    points: Any, sign_in: SignIn
) -> None:
    ann = await points.member(display_name="Ann Lee")
    assert (
        await points.post(f"{API}/members/{ann['id']}/adjustments", {"amount": 500, "reason": "t"})
    ).status_code in (200, 201)
    reward = (await points.post(f"{API}/rewards", {"name": "Mug", "cost": 120})).json()
    redeemed = await points.post(f"{API}/rewards/{reward['id']}/redemptions", {"member_id": ann["id"]})
    assert redeemed.status_code in (200, 201), redeemed.text
    viewer = await sign_in(points, "viewer")
    page = await viewer.get(f"{base(points)}/rewards")
    redemptions = page.text.split('data-testid="redemptions"', 1)[1].split("</table>", 1)[0]
    assert f'members/{ann["id"]}">Ann Lee</a>' in redemptions
    chart = page.text.split('data-testid="points-flow"', 1)[1].split("</section>", 1)[0]
    assert 'data-chart="pair"' in chart
    assert "· issued: 500</title>" in chart
    assert "· redeemed: 120</title>" in chart
    assert "style=" not in chart
    assert "<script" not in chart


async def test_the_leaderboard_says_which_view_is_shown(points: Any, sign_in: SignIn) -> None:
    viewer = await sign_in(points, "viewer")
    for by, words in (("balance", "Ranked by: Balance"), ("lifetime", "Ranked by: Lifetime points")):
        page = await viewer.get(f"{base(points)}/leaderboard", params={"by": by})
        assert words in text_of(page)
        assert re.search(rf'href="[^"]*by={by}" aria-current="page"', page.text)
