"""The event stream: newest first, the filters (dates in the workspace's time zone), cursor pages,
the properties column, the auto-refresh, bad filters, who may read it, and no other workspace's
events."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from console_client import SignIn, text_of
from scrm import WorkspaceUpdate
from scrm.kernel import Kernel
from scrm_web.pages.events import PAGE_SIZE

T = datetime(2026, 6, 1, 17, 0, tzinfo=UTC)


async def record(tenant: Any, *events: dict[str, Any]) -> None:
    response = await tenant.post("/api/v1/events", list(events))
    assert response.status_code == 200, response.text


def event_ids(response: Any) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-event="(\d+)">', response.text)]


async def test_the_stream_newest_first_with_its_columns(sign_in: SignIn, tenant: Any, other: Any) -> None:
    ann = await tenant.member(display_name="Ann")
    stranger = await other.member()
    long_text = "长" * 100
    await record(
        tenant,
        {"member_id": ann["id"], "type": "checkin", "occurred_at": T.isoformat(), "source": "miniapp"},
        {"member_id": ann["id"], "type": "comment.created", "occurred_at": (T + timedelta(hours=1)).isoformat(),
         "properties": {"text": long_text}},
    )  # fmt: skip
    await record(other, {"member_id": stranger["id"], "type": "secret.thing", "occurred_at": T.isoformat()})
    viewer = await sign_in(tenant, "viewer")
    page = await viewer.get(f"/console/w/{tenant.slug}/events")
    assert page.status_code == 200
    assert 'aria-current="page">Events<' in page.text
    text = text_of(page)
    assert text.index("member.created") < text.index("comment.created") < text.index("checkin")  # by occurred_at
    assert "2026-06-01 18:00" in text  # in the workspace's time zone (UTC here)
    assert f'href="/console/w/{tenant.slug}/members/{ann["id"]}">#{ann["id"]}<' in page.text
    assert "miniapp" in text
    assert "<details><summary><code>{&#34;text&#34;:&#34;" + "长" * 70 in page.text  # compact, cut short…
    assert '"text": "' + long_text + '"' in page.text.replace("&#34;", '"')  # …and whole when opened
    assert "secret.thing" not in text


async def test_filters(sign_in: SignIn, tenant: Any, kernel: Kernel) -> None:
    await kernel.workspaces.update(tenant.slug, WorkspaceUpdate(time_zone="Asia/Shanghai"))
    kernel.forget_cached()
    ann, bob = await tenant.member(), await tenant.member()
    await record(
        tenant,
        {"member_id": ann["id"], "type": "checkin", "occurred_at": T.isoformat()},  # 2 June, 01:00 in Shanghai
        {"member_id": bob["id"], "type": "checkin", "occurred_at": (T - timedelta(hours=2)).isoformat()},
        {"member_id": ann["id"], "type": "order.paid", "occurred_at": (T - timedelta(days=3)).isoformat()},
    )
    owner = await sign_in(tenant, "owner")
    url = f"/console/w/{tenant.slug}/events"

    async def shown(**params: str) -> str:
        response = await owner.get(url, params=params)
        assert response.status_code == 200, response.text
        for value in params.values():
            assert f'value="{value}"' in response.text  # the form shows the filters
        return text_of(response)

    checkins = await shown(type="checkin")
    assert checkins.count("checkin") == 2  # the rows; the filter's value is an attribute
    assert "order.paid" not in checkins
    assert "2026-06-02 01:00" in checkins
    assert "order.paid" in await shown(member_id=str(ann["id"]), type="order.paid")
    assert "checkin" not in await shown(member_id=str(bob["id"]), type="order.paid")
    june_2 = await shown(after="2026-06-02", before="2026-06-03", type="checkin")
    assert "2026-06-02 01:00" in june_2
    assert "2026-06-01 23:00" not in june_2
    june_1 = await shown(after="2026-06-01", before="2026-06-02")
    assert "2026-06-01 23:00" in june_1
    assert "2026-06-02 01:00" not in june_1
    assert "No events match these filters." in await shown(type="nothing.here")


async def test_cursor_pages_with_htmx(sign_in: SignIn, tenant: Any) -> None:
    ann = await tenant.member()
    await record(
        tenant,
        *[
            {"member_id": ann["id"], "type": "checkin", "occurred_at": (T - timedelta(minutes=i)).isoformat()}
            for i in range(PAGE_SIZE + 5)
        ],
    )
    analyst = await sign_in(tenant, "analyst")
    first = await analyst.get(f"/console/w/{tenant.slug}/events?type=checkin")
    assert len(event_ids(first)) == PAGE_SIZE
    older = re.search(r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#events" hx-swap="outerHTML" hx-push-url="true" '
                      r'data-testid="older">', first.text)  # fmt: skip
    assert older
    next_url = older.group(1).replace("&amp;", "&")
    assert "type=checkin" in next_url
    assert "cursor=" in next_url
    second = await analyst.get(next_url, htmx=True)
    assert second.status_code == 200
    assert second.text.lstrip().startswith('<section id="events">')
    assert "<html" not in second.text
    assert len(event_ids(second)) == 5
    assert not set(event_ids(first)) & set(event_ids(second))
    assert 'data-testid="older"' not in second.text
    assert ">Newest</a>" in second.text
    assert 'value="checkin"' in second.text  # the filters stay in the form
    bad = await analyst.get(f"/console/w/{tenant.slug}/events?cursor=forged")
    assert bad.status_code == 400
    assert "Traceback" not in bad.text


async def test_auto_refresh_on_the_first_page_only(sign_in: SignIn, tenant: Any) -> None:
    ann = await tenant.member()
    await record(
        tenant, *[{"member_id": ann["id"], "type": "checkin", "occurred_at": T.isoformat()} for _ in range(PAGE_SIZE)]
    )
    owner = await sign_in(tenant, "owner")
    plain = await owner.get(f"/console/w/{tenant.slug}/events")
    assert 'hx-trigger="every 10s"' not in plain.text
    live = await owner.get(f"/console/w/{tenant.slug}/events?live=1")
    assert 'hx-trigger="every 10s"' in live.text
    assert 'name="live" value="1" checked' in live.text
    assert f'hx-get="/console/w/{tenant.slug}/events?live=1" hx-trigger' in live.text
    older = re.search(r'href="([^"]+)"[^>]*data-testid="older"', live.text)
    assert older
    assert "live=1" in older.group(1)
    later = await owner.get(older.group(1).replace("&amp;", "&"))
    assert later.status_code == 200
    assert 'hx-trigger="every 10s"' not in later.text


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"member_id": "abc"}, "member_id", "Expected `int | null`, got `str`"),
        ({"member_id": "0"}, "member_id", "Expected `int` &gt;= 1"),
        ({"after": "2026-13-01"}, "after", "Invalid RFC3339 encoded date"),
        ({"type": "x" * 101}, "type", "Expected `str` of length &lt;= 100"),
        ({"after": "2026-06-02", "before": "2026-06-02"}, "before", "must be a later day than the first one"),
    ],
)
async def test_a_bad_filter_comes_back_with_its_error(
    sign_in: SignIn, tenant: Any, params: dict[str, str], field: str, message: str
) -> None:
    owner = await sign_in(tenant, "owner")
    for htmx in (False, True):
        response = await owner.get(f"/console/w/{tenant.slug}/events", params=params, htmx=htmx)
        assert response.status_code == 422
        assert f'<small class="error" id="{field}-error">{message}' in response.text
        for value in params.values():
            assert f'value="{value}"' in response.text  # what was typed is kept
        assert ("<html" in response.text) is not htmx
        assert 'data-event="' not in response.text
        assert "Traceback" not in response.text


@pytest.mark.parametrize("role", ["owner", "operator", "analyst", "viewer"])
async def test_every_role_reads_the_stream(sign_in: SignIn, tenant: Any, role: str) -> None:
    await tenant.member()
    me = await sign_in(tenant, role)
    page = await me.get(f"/console/w/{tenant.slug}/events")
    assert page.status_code == 200
    assert "member.created" in text_of(page)


async def test_no_events_of_another_workspace(sign_in: SignIn, tenant: Any, other: Any) -> None:
    stranger = await other.member()
    operator = await sign_in(tenant, "operator")
    assert (await operator.get(f"/console/w/{other.slug}/events")).status_code == 404
    assert (await operator.get(f"/console/w/{other.slug}/events", htmx=True)).status_code == 404
    theirs = await operator.get(f"/console/w/{tenant.slug}/events?member_id={stranger['id']}")
    assert theirs.status_code == 200
    assert event_ids(theirs) == []  # another workspace's member has no events here
