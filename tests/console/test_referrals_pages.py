"""The referrals plugin's console pages (campaigns and setup, a campaign with its K chart and
leaderboard, the review queue, the invite tree) and member panel: what each role sees and may do,
setup errors next to their fields, review decisions, and no crossing workspaces."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from console_client import SignIn, text_of
from scrm import Kernel

API = "/api/v1/referrals"


def base(tenant: Any) -> str:
    return f"/console/w/{tenant.slug}/referrals"


def main_part(response: httpx.Response) -> str:
    return response.text.split('<main id="main">', 1)[1]


async def settle(kernel: Kernel) -> None:
    for _ in range(200):
        if not await kernel.outbox.drain():
            await asyncio.sleep(0.02)
            rows = await kernel.db.fetch("SELECT COUNT(*) AS n FROM scrm_outbox WHERE last_error IS NULL")
            if rows[0]["n"] == 0:
                return


@pytest.fixture
async def referrals(tenant: Any, kernel: Kernel) -> dict[str, Any]:
    """A campaign with a small tree: Ann invited Bo and Cy (Cy from a shared address: held)."""
    await tenant.enable("referrals")
    campaign = (await tenant.post(f"{API}/campaigns", {"name": "Coffee for two", "source_limit": 1})).json()
    ann = await tenant.member(display_name="Ann", external_id="ann")
    code = (await tenant.post(f"{API}/campaigns/{campaign['id']}/codes", {"member_id": ann["id"]})).json()["code"]
    made = []
    for name in ("Bo", "Cy"):
        body = {"code": code, "member": {"display_name": name, "external_id": name}, "source": "7.7.7.7"}
        response = await tenant.post(f"{API}/joins", body)
        assert response.status_code == 201, response.text
        made.append(response.json())
    await settle(kernel)
    return {"campaign": campaign, "ann": ann, "code": code, "bo": made[0], "cy": made[1]}


async def test_pages_answer_only_where_referrals_is_enabled(tenant: Any, sign_in: SignIn) -> None:
    viewer = await sign_in(tenant, "viewer")
    assert (await viewer.get(f"{base(tenant)}/")).status_code == 404
    await tenant.enable("referrals")
    page = await viewer.get(f"{base(tenant)}/")
    assert page.status_code == 200, page.text
    assert ">Referrals</a>" in page.text


async def test_every_page_renders_for_a_viewer_without_forms(tenant: Any, referrals: Any, sign_in: SignIn) -> None:
    viewer = await sign_in(tenant, "viewer")
    c = referrals["campaign"]
    paths = ("/", f"/{c['id']}", "/queue", "/tree", f"/tree?member_id={referrals['ann']['id']}")
    for path in paths:
        seen = await viewer.get(base(tenant) + path)
        assert seen.status_code == 200, (path, seen.text)
        assert 'method="post"' not in main_part(seen), path  # the tree's member picker is a GET form
    page = await viewer.get(f"{base(tenant)}/{c['id']}")
    assert 'data-testid="k-chart"' in page.text
    assert "Ann" in text_of(page)
    tree = text_of(await viewer.get(f"{base(tenant)}/tree?member_id={referrals['ann']['id']}"))
    assert "Bo" in tree
    assert "Cy" in tree
    queue = await viewer.get(f"{base(tenant)}/queue")
    assert f'data-referral="{referrals["cy"]["id"]}"' in queue.text
    assert "Approve" not in queue.text
    assert (await viewer.post(f"{base(tenant)}/referrals/{referrals['cy']['id']}/approve")).status_code == 403
    panel = await viewer.get(f"/console/w/{tenant.slug}/members/{referrals['ann']['id']}")
    assert referrals["code"] in panel.text
    assert 'data-testid="referrals-invited"' in panel.text


async def test_set_up_a_campaign(tenant: Any, sign_in: SignIn) -> None:
    await tenant.enable("referrals")
    op = await sign_in(tenant, "operator")
    wrong = await op.post(
        f"{base(tenant)}/",
        {"name": "Spring", "levels": "1", "second_tag": "grand", "daily_cap": "9", "total_cap": "3"},
        htmx=True,
    )
    assert wrong.status_code == 422
    assert "must not exceed total_cap" in wrong.text
    assert "needs levels 2" in wrong.text
    assert 'value="Spring"' in wrong.text
    made = await op.post(
        f"{base(tenant)}/",
        {
            "name": "Spring",
            "levels": "2",
            "invitee_tag": "friend",
            "second_tag": "grand",
            "hold_suspicious": "on",
            "conversion_event": "order.paid",
            "conversion_days": "14",
            "source_limit": "3",
            "burst_limit": "20",
        },
    )
    assert made.status_code == 303, made.text
    created = (await tenant.get(f"{API}/campaigns")).json()["items"][0]
    assert made.headers["location"] == f"{base(tenant)}/{created['id']}"
    assert (created["levels"], created["second_reward"]["tag"], created["conversion_event"]) == (
        2,
        "grand",
        "order.paid",
    )
    saved = await op.post(f"{base(tenant)}/{created['id']}", {"name": "Spring", "levels": "1", "state": "ended"})
    assert saved.status_code == 303, saved.text
    got = (await tenant.get(f"{API}/campaigns/{created['id']}")).json()
    assert (got["state"], got["levels"], got["second_reward"]["tag"], got["conversion_event"]) == (
        "ended",
        1,
        None,
        None,
    )


async def test_review_from_the_queue(tenant: Any, referrals: Any, sign_in: SignIn) -> None:
    owner = await sign_in(tenant, "owner")
    cy = referrals["cy"]
    assert (await tenant.get(f"{API}/referrals/{cy['id']}")).json()["state"] == "held"
    done = await owner.post(f"{base(tenant)}/referrals/{cy['id']}/approve", {"note": "known customer"})
    assert done.status_code == 303, done.text
    assert (await tenant.get(f"{API}/referrals/{cy['id']}")).json()["state"] == "converted"
    again = await owner.post(f"{base(tenant)}/referrals/{cy['id']}/approve")
    assert again.status_code == 409
    voided = await owner.post(f"{base(tenant)}/referrals/{referrals['bo']['id']}/void")
    assert voided.status_code == 303
    assert (await tenant.get(f"{API}/referrals/{referrals['bo']['id']}")).json()["state"] == "void"


async def test_no_page_crosses_workspaces(tenant: Any, other: Any, referrals: Any, sign_in: SignIn) -> None:
    await other.enable("referrals")
    outsider = await sign_in(other, "owner")
    c = referrals["campaign"]
    assert (await outsider.get(f"{base(other)}/{c['id']}")).status_code == 404
    assert (await outsider.get(f"{base(other)}/tree?member_id={referrals['ann']['id']}")).status_code == 404
    assert (await outsider.post(f"{base(other)}/referrals/{referrals['cy']['id']}/void")).status_code == 404
    assert (await outsider.post(f"{base(other)}/{c['id']}", {"name": "Stolen"})).status_code == 404
    assert "Coffee for two" not in (await outsider.get(f"{base(other)}/")).text
    assert (await tenant.get(f"{API}/referrals/{referrals['cy']['id']}")).json()["state"] == "held"
