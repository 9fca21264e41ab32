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
from scrm.services.events import NewEvent
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
    assert f'href="/console/w/{tenant.slug}/members/{ann["id"]}" data-testid="event-member">Ann<' in page.text
    assert "miniapp" in text
    assert "<dt>text</dt><dd><details><summary>" + "长" * 60 + "…</summary>" in page.text  # cut short…
    assert '<span class="long">' + long_text + "</span>" in page.text  # …and whole when opened
    assert "secret.thing" not in text


async def test_a_workspace_event_shows_the_workspace_in_both_languages(
    sign_in: SignIn, tenant: Any, kernel: Kernel
) -> None:
    """An event about the workspace itself (the audit plugin's alert) names no member: its row says
    so, links to no member page, and shows the alert's properties."""
    ann = await tenant.member(display_name="Ann")
    await record(tenant, {"member_id": ann["id"], "type": "checkin", "occurred_at": T.isoformat()})
    ws = await kernel.workspaces.ref(tenant.slug)
    alert = NewEvent(None, "audit.chain_broken", {"chain": "trail", "seq": 41}, source="audit")
    [recorded] = await kernel.events.record(ws, [alert])
    viewer = await sign_in(tenant, "viewer")
    page = await viewer.get(f"/console/w/{tenant.slug}/events")
    assert page.status_code == 200
    row = page.text[page.text.index(f'<tr data-event="{recorded.id}">') :]
    row = row[: row.index("</tr>")]
    assert 'data-testid="event-workspace"' in row
    assert "/members/" not in row
    assert ">Workspace</em>" in row
    assert "<dt>chain</dt><dd>trail</dd>" in row
    assert 'data-testid="event-member">Ann<' in page.text  # the member's event as ever
    await kernel.operators.set_locale(viewer.operator_id, "zh_CN")
    zh = await viewer.get(f"/console/w/{tenant.slug}/events")
    assert ">工作区</em>" in zh.text
    assert 'title="关于工作区本身、而非某位会员的事件"' in zh.text


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
    assert checkins.count("checkin") == 3  # the rows, and the type chosen in the filter
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
        tenant,
        *[
            {"member_id": ann["id"], "type": "checkin" if i % 2 else "order.paid", "occurred_at": T.isoformat()}
            for i in range(PAGE_SIZE)
        ],  # types taking turns: nothing folds, so the page is full and has an older one
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


async def test_readable_members_properties_and_runs(sign_in: SignIn, tenant: Any) -> None:
    """Members by name, properties as key/value pairs, the types offered with their counts, a member
    found by name, and a run of one event folded so that it does not drown the rest."""
    ann, bob = await tenant.member(display_name="Annabel"), await tenant.member(external_id="crm-bob")
    now = datetime.now(UTC).replace(microsecond=0)
    await record(
        tenant,
        *[
            {"member_id": bob["id"], "type": "points.tier", "occurred_at": (now - timedelta(minutes=1, seconds=i)).isoformat(),
             "properties": {"tier": "gold", "points": 1200}}
            for i in range(6)
        ],
        {"member_id": ann["id"], "type": "order.paid", "occurred_at": (now - timedelta(minutes=5)).isoformat(),
         "properties": {"amount": 42.5, "items": ["espresso", "croissant"]}},
    )  # fmt: skip
    owner = await sign_in(tenant, "owner")
    url = f"/console/w/{tenant.slug}/events"
    page = await owner.get(url)
    assert page.status_code == 200
    text = text_of(page)
    assert "Annabel" in text
    assert "crm-bob" in text  # no display name: the external id
    assert '<option value="points.tier" >points.tier (6)</option>' in page.text.replace("  ", " ")
    assert "<dt>amount</dt><dd>42.5</dd>" in page.text
    assert '<dt>items</dt><dd>["espresso","croissant"]</dd>' in page.text.replace("&#34;", '"')
    runs = re.findall(r'data-testid="event-run".*?<summary>([^<]*)</summary>', page.text, re.S)
    assert runs == ["5 more points.tier events in a row"]
    rows = text.split("Properties", 1)[1]
    assert rows.index("points.tier") < rows.index("5 more") < rows.index("order.paid")  # the rest stays in view

    # a burst of one event newer than everything else folds away, the rest still shows on the page
    await record(
        tenant,
        *[
            {
                "member_id": bob["id"],
                "type": "points.tier",
                "occurred_at": (now + timedelta(minutes=1, seconds=i)).isoformat(),
            }
            for i in range(120)
        ],
    )
    burst = await owner.get(url)
    assert re.findall(r'data-testid="event-run".*?<summary>([^<]*)</summary>', burst.text, re.S) == [
        "119 more points.tier events in a row",
        "5 more points.tier events in a row",  # the member.created events stand between
    ]
    assert "order.paid" in text_of(burst).split("Properties", 1)[1]
    assert "99 more: show only points.tier events" in text_of(burst)
    first_run = burst.text.split('data-testid="event-run"', 1)[1].split("</details>", 1)[0]
    assert first_run.count("<tr data-event=") == 20  # shown when opened; the rest by filtering
    only = await owner.get(url, params={"type": "points.tier"})
    assert 'data-testid="event-run"' not in only.text  # filtered by type: nothing folds
    assert len(re.findall(r"<tr data-event=", only.text)) == PAGE_SIZE

    by_name = await owner.get(url, params={"member": "annab"})
    assert by_name.status_code == 200
    assert "order.paid" in text_of(by_name).split("Properties", 1)[1]
    assert "points.tier (" not in text_of(by_name).split("Properties", 1)[1]
    for query, error in (("nobody-here", "no member matches"), ("", None)):
        response = await owner.get(url, params={"member": query})
        if error:
            assert response.status_code == 422
            assert error in response.text
    await tenant.member(display_name="Annette")
    several = await owner.get(url, params={"member": "ann"})
    assert several.status_code == 422
    assert "several members match" in several.text
    by_id = await owner.get(url, params={"member_id": str(ann["id"])})
    assert '<strong data-testid="member-filter">Annabel</strong>' in by_id.text
