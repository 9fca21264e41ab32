"""The members pages: search and filters with shareable paging, the member page (profile, consent,
timeline, plugin panels), tags edited inline, roles, CSRF and workspace isolation."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import scrm
from console_client import ConsoleClient, SignIn, text_of
from scrm.kernel import Kernel

API = "/api/v1"


def base(tenant: Any) -> str:
    return f"/console/w/{tenant.slug}/members"


def listed(response: httpx.Response) -> list[int]:
    """The member ids of the results table, in order."""
    assert response.status_code == 200, response.text
    table = response.text.split('data-testid="member-results"', 1)
    return [int(i) for i in re.findall(r'href="/console/w/[^/"]+/members/(\d+)"', table[1])] if len(table) > 1 else []


async def ids(op: ConsoleClient, tenant: Any, **params: Any) -> list[int]:
    return listed(await op.get(base(tenant), params=params))


def field_error(response: httpx.Response, name: str) -> str:
    """The error shown next to field ``name``."""
    found = re.search(rf'<small class="error" id="{name}-error">([^<]*)</small>', response.text)
    assert found, f"no error next to {name}: {text_of(response)}"
    return found.group(1)


def today() -> str:
    return datetime.now(UTC).date().isoformat()


# --- the list ---------------------------------------------------------------------------------


async def test_search_by_name_prefix_external_id_and_identity(tenant: Any, sign_in: SignIn) -> None:
    ann = await tenant.member(
        display_name="Annabel",
        external_id="crm-17",
        identities={"email": "ann@example.com", "phone": "+8613800000001"},
    )
    bob = await tenant.member(display_name="Bob", external_id="crm-18", identities={"wecom": "bob-wx"})
    op = await sign_in(tenant, "viewer")

    page = await op.get(base(tenant))
    assert page.status_code == 200
    assert 'name="q"' in page.text
    assert 'hx-trigger="input changed delay:300ms, search"' in page.text
    assert 'hx-push-url="true"' in page.text
    assert listed(page) == [ann["id"], bob["id"]]
    assert f'href="/console/w/{tenant.slug}/members" aria-current="page"' in page.text  # the navigation entry

    assert await ids(op, tenant, q="anna") == [ann["id"]]  # a name prefix, any case
    assert await ids(op, tenant, q="crm-18") == [bob["id"]]  # an external id, exactly
    assert await ids(op, tenant, q="crm-1") == []
    assert await ids(op, tenant, q="ann@example.com") == [ann["id"]]  # a channel identity, exactly
    assert await ids(op, tenant, q="+8613800000001") == [ann["id"]]
    assert await ids(op, tenant, q="bob-wx") == [bob["id"]]

    typed = await op.get(base(tenant), params={"q": "bob-wx"}, htmx=True)  # what the search box asks
    assert typed.status_code == 200
    assert "<html" not in typed.text
    assert 'id="member-filters"' not in typed.text
    assert listed(typed) == [bob["id"]]
    assert "HX-Request" in typed.headers["vary"]
    full = await op.get(base(tenant), params={"q": "bob-wx"})  # the pushed URL, loaded afresh
    assert "<html" in full.text
    assert 'value="bob-wx"' in full.text
    assert listed(full) == [bob["id"]]
    restored = await op.http.get(
        base(tenant), params={"q": "bob-wx"}, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restored.text  # the back button restores a whole page


async def test_filters_tags_attribute_status_and_dates(tenant: Any, sign_in: SignIn) -> None:
    a = await tenant.member(display_name="A", attributes={"city": "Paris"}, tags=["vip"])
    b = await tenant.member(display_name="B", attributes={"city": "Berlin", "visits": 3}, tags=["vip", "tea"])
    c = await tenant.member(display_name="C", status="blocked")
    op = await sign_in(tenant, "analyst")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()

    assert await ids(op, tenant, tag="vip") == [a["id"], b["id"]]
    assert await ids(op, tenant, tag=["vip", "tea"]) == [b["id"]]
    assert await ids(op, tenant, attribute="city=Paris") == [a["id"]]
    assert await ids(op, tenant, attribute="visits=3", tag="vip") == [b["id"]]
    assert await ids(op, tenant, status="blocked") == [c["id"]]
    assert await ids(op, tenant, created_after=today()) == [a["id"], b["id"], c["id"]]
    assert await ids(op, tenant, created_before=today()) == []
    assert await ids(op, tenant, created_after=tomorrow) == []
    assert await ids(op, tenant, created_before=tomorrow, inactive_since=today()) == [a["id"], b["id"], c["id"]]
    assert await ids(op, tenant, active_after=today()) == []

    kept = await op.get(base(tenant), params={"tag": ["vip", "tea"], "attribute": "visits=3", "status": "active"})
    assert '<option value="tea" selected>' in kept.text
    assert '<option value="vip" selected>' in kept.text
    assert 'value="visits=3"' in kept.text
    assert '<option value="active" selected>' in kept.text


async def test_paging_follows_next_links_with_the_filters(tenant: Any, sign_in: SignIn) -> None:
    made = [(await tenant.member(display_name=f"P{i}", tags=["page"]))["id"] for i in range(5)]
    await tenant.member(display_name="not tagged")
    op = await sign_in(tenant, "viewer")

    seen: list[int] = []
    url: str | None = f"{base(tenant)}?tag=page&limit=2"
    pages = 0
    while url:
        response = await op.get(url, htmx=pages > 0)  # the first page loaded, the next ones by htmx
        seen += listed(response)
        pages += 1
        following = re.search(r'<a href="([^"]+)" rel="next" hx-get="([^"]+)"', response.text)
        if following:
            assert following.group(1) == following.group(2)  # the link htmx follows is the one it pushes
            assert "tag=page" in following.group(1)
            assert "limit=2" in following.group(1)
            assert "cursor=" in following.group(1)
        url = following.group(1).replace("&amp;", "&") if following else None
        if pages > 1:
            assert "First page" in response.text
    assert pages == 3
    assert seen == made


async def test_bad_filters_are_422_with_the_error_by_the_field(tenant: Any, sign_in: SignIn) -> None:
    op = await sign_in(tenant, "viewer")

    bad_date = await op.get(base(tenant), params={"created_after": "2026-13-45", "q": "kept"})
    assert bad_date.status_code == 422
    assert field_error(bad_date, "created_after") == "a date such as 2026-01-31"
    assert 'value="2026-13-45"' in bad_date.text
    assert 'value="kept"' in bad_date.text
    assert 'data-testid="member-results"' not in bad_date.text

    bad_status = await op.get(base(tenant), params={"status": "gone"})
    assert bad_status.status_code == 422
    assert field_error(bad_status, "status") == "active, blocked or erased"

    bad_attribute = await op.get(base(tenant), params={"attribute": "no separator"})
    assert bad_attribute.status_code == 422
    assert "KEY=VALUE" in field_error(bad_attribute, "attribute")
    bad_key = await op.get(base(tenant), params={"attribute": "a b=c"})
    assert bad_key.status_code == 422
    assert "letters, digits" in field_error(bad_key, "attribute")

    by_htmx = await op.get(base(tenant), params={"created_before": "yesterday"}, htmx=True)
    assert by_htmx.status_code == 422
    assert by_htmx.headers["hx-retarget"] == "#members"  # the form comes back, not only the results
    assert by_htmx.headers["hx-reswap"] == "outerHTML"
    assert 'id="member-filters"' in by_htmx.text
    assert "<html" not in by_htmx.text
    assert field_error(by_htmx, "created_before")


# --- one member -------------------------------------------------------------------------------


async def test_member_page_shows_profile_consent_and_timeline(tenant: Any, sign_in: SignIn) -> None:
    member = await tenant.member(
        display_name="Mei Lin",
        external_id="crm-1",
        identities={"email": "mei@example.com"},
        attributes={"city": "Shanghai", "visits": 4},
        tags=["vip"],
    )
    mid = member["id"]
    for status in ("granted", "withdrawn"):
        response = await tenant.post(
            f"{API}/consents", [{"member_id": mid, "purpose": "marketing.email", "status": status}]
        )
        assert response.status_code in (200, 201), response.text
    events = [{"member_id": mid, "type": "order.paid", "properties": {"n": i}} for i in range(30)]
    assert (await tenant.post(f"{API}/events", events)).status_code in (200, 201)
    op = await sign_in(tenant, "viewer")

    page = await op.get(f"{base(tenant)}/{mid}")
    assert page.status_code == 200
    text = text_of(page)
    for shown in ("Mei Lin", "crm-1", "mei@example.com", "Shanghai", "vip", "Consent", "Timeline"):
        assert shown in text
    consent = page.text.split('id="member-consent"', 1)[1].split("</section>", 1)[0]
    assert re.search(r'data-purpose="marketing.email">.*?withdrawn', consent, re.S)
    assert re.search(r'data-purpose="marketing.sms">.*?never', consent, re.S)
    assert "History (2)" in text_of(httpx.Response(200, text=consent))

    timeline = page.text.split('id="member-timeline"', 1)[1]
    assert timeline.count('data-event-type="order.paid"') == 25  # one page, newest first
    assert 'hx-trigger="tags-changed from:body"' in page.text
    older = re.search(r'<a href="([^"]+)" hx-get="([^"]+)">Older events', timeline)
    assert older
    rest = await op.get(older.group(2).replace("&amp;", "&"), htmx=True)
    assert rest.status_code == 200
    assert "<html" not in rest.text
    assert rest.text.count('data-event-type="order.paid"') == 5
    assert 'data-event-type="member.created"' in rest.text
    assert (await op.get(older.group(1).replace("&amp;", "&"))).status_code == 200  # the same without JS

    only = await op.get(f"{base(tenant)}/{mid}/timeline", params={"type": "member.created"}, htmx=True)
    assert only.text.count("data-event-type=") == 1
    assert 'data-event-type="member.created"' in only.text
    bad = await op.get(f"{base(tenant)}/{mid}", params={"type": "Not A Type"})
    assert bad.status_code == 422
    assert field_error(bad, "type") == "an event type such as order.paid"
    assert 'value="Not A Type"' in bad.text


async def test_tags_are_added_and_removed_inline(tenant: Any, sign_in: SignIn, kernel: Kernel) -> None:
    member = await tenant.member(display_name="Tao", tags=["vip"])
    url = f"{base(tenant)}/{member['id']}"
    op = await sign_in(tenant, "operator")
    page = await op.get(url)
    assert 'data-testid="add-tag"' in page.text
    assert '<datalist id="member-tag-names"><option value="vip"></datalist>' in page.text

    added = await op.post(f"{url}/tags", {"tag": "brand-new"}, htmx=True)
    assert added.status_code == 200
    assert added.headers["hx-trigger"] == "tags-changed"
    assert added.text.lstrip().startswith('<section class="card" id="member-tags">')  # the fragment alone
    assert "brand-new" in added.text
    assert 'value="brand-new"' in added.text
    assert sorted((await tenant.get(f"{API}/members/{member['id']}")).json()["tags"]) == ["brand-new", "vip"]
    assert "brand-new" in [t.name for t in await kernel.tags.list(await kernel.workspaces.ref(tenant.slug))]

    timeline = await op.get(f"{url}/timeline", htmx=True)  # what the page reloads on tags-changed
    latest = timeline.text.split('data-event-type="', 2)[1]
    assert latest.startswith("tags.changed")
    assert "brand-new" in latest

    removed = await op.post(f"{url}/tags/remove", {"tag": "vip"}, htmx=True)
    assert removed.status_code == 200
    assert removed.headers["hx-trigger"] == "tags-changed"
    assert (await tenant.get(f"{API}/members/{member['id']}")).json()["tags"] == ["brand-new"]

    plain = await op.post(f"{url}/tags", {"tag": "no-js"})  # a form post without htmx
    assert plain.status_code == 303
    assert plain.headers["location"] == url
    assert "no-js" in (await tenant.get(f"{API}/members/{member['id']}")).json()["tags"]

    bad = await op.post(f"{url}/tags", {"tag": "a,b"}, htmx=True)
    assert bad.status_code == 422
    assert "without a comma" in field_error(bad, "tag")
    assert 'value="a,b"' in bad.text
    assert "hx-trigger" not in bad.headers
    bad_page = await op.post(f"{url}/tags", {"tag": " "})
    assert bad_page.status_code == 422
    assert "<html" in bad_page.text
    assert field_error(bad_page, "tag")


@pytest.mark.parametrize("role", ["viewer", "analyst"])
async def test_readers_see_tags_but_cannot_change_them(tenant: Any, sign_in: SignIn, role: str) -> None:
    member = await tenant.member(display_name="Read Only", tags=["vip"])
    url = f"{base(tenant)}/{member['id']}"
    op = await sign_in(tenant, role)
    page = await op.get(url)
    assert page.status_code == 200
    assert "vip" in text_of(page)
    assert 'data-testid="add-tag"' not in page.text
    assert "/tags/remove" not in page.text
    assert (await op.post(f"{url}/tags", {"tag": "x"})).status_code == 403
    assert (await op.post(f"{url}/tags/remove", {"tag": "vip"}, htmx=True)).status_code == 403
    assert (await tenant.get(f"{API}/members/{member['id']}")).json()["tags"] == ["vip"]


async def test_owner_can_tag_and_forms_need_the_csrf_token(tenant: Any, sign_in: SignIn) -> None:
    member = await tenant.member(display_name="Csrf", tags=["vip"])
    url = f"{base(tenant)}/{member['id']}"
    op = await sign_in(tenant, "owner")
    assert (await op.post(f"{url}/tags", {"tag": "x"}, csrf=False)).status_code == 403
    assert (await op.post(f"{url}/tags/remove", {"tag": "vip"}, csrf=False, htmx=True)).status_code == 403
    assert (await tenant.get(f"{API}/members/{member['id']}")).json()["tags"] == ["vip"]
    assert (await op.post(f"{url}/tags", {"tag": "x"}, htmx=True)).status_code == 200


async def test_no_crossing_into_another_workspace(tenant: Any, other: Any, sign_in: SignIn) -> None:
    theirs = await other.member(display_name="Theirs", external_id="t-1", identities={"email": "t@example.com"})
    await tenant.member(display_name="Ours")
    op = await sign_in(tenant, "owner")
    for path in (f"{base(tenant)}/{theirs['id']}", f"{base(tenant)}/{theirs['id']}/timeline"):
        response = await op.get(path)
        assert response.status_code == 404, path
        assert "Theirs" not in response.text
    for path in (f"{base(tenant)}/{theirs['id']}/tags", f"{base(tenant)}/{theirs['id']}/tags/remove"):
        assert (await op.post(path, {"tag": "x"}, htmx=True)).status_code == 404
    assert (await other.get(f"{API}/members/{theirs['id']}")).json()["tags"] == []
    assert await ids(op, tenant, q="t@example.com") == []
    assert await ids(op, tenant, q="t-1") == []
    assert (await op.get(base(other))).status_code == 404  # their slug
    assert (await op.get(f"{base(other)}/{theirs['id']}")).status_code == 404
    assert (await op.post(f"{base(other)}/{theirs['id']}/tags", {"tag": "x"})).status_code == 404


async def test_an_erased_member_shows_no_personal_data(tenant: Any, sign_in: SignIn) -> None:
    member = await tenant.member(
        display_name="Gone Person", external_id="gone-1", identities={"email": "gone@example.com"}, tags=["vip"]
    )
    assert (await tenant.delete(f"{API}/members/{member['id']}")).status_code == 204
    op = await sign_in(tenant, "owner")
    page = await op.get(f"{base(tenant)}/{member['id']}")
    assert page.status_code == 200
    text = text_of(page)
    assert "erased" in text
    for personal in ("Gone Person", "gone-1", "gone@example.com", "vip"):
        assert personal not in text
    assert 'data-testid="add-tag"' not in page.text
    assert 'id="member-timeline"' not in page.text
    assert (await op.get(f"{base(tenant)}/{member['id']}/timeline", htmx=True)).status_code == 404
    assert (await op.post(f"{base(tenant)}/{member['id']}/tags", {"tag": "x"})).status_code == 404
    listing = await op.get(base(tenant), params={"status": "erased"})
    assert listed(listing) == [member["id"]]
    assert "Gone Person" not in listing.text


# --- plugin panels ----------------------------------------------------------------------------


def loyalty(workspace: scrm.WorkspaceRef, member: dict[str, Any], access: scrm.Access) -> list[scrm.MemberPanel]:
    rows = [("Points", member["attributes"].get("points", 0)), ("Seen by", access.role), ("Markup", "<b>x</b>")]
    return [scrm.MemberPanel(title="Loyalty", template="console/panel_table.html", context={"rows": rows})]


async def test_plugin_panels_show_only_where_the_plugin_is_enabled(
    tenant: Any, sign_in: SignIn, plugin: Callable[..., str]
) -> None:
    name = plugin(scrm_member_panels=loyalty)
    member = await tenant.member(display_name="Panel", attributes={"points": 1200})
    url = f"{base(tenant)}/{member['id']}"
    op = await sign_in(tenant, "analyst")

    assert "Loyalty" not in text_of(await op.get(url))
    assert (await tenant.post(f"{API}/plugins", {"name": name, "enabled": True})).status_code in (200, 201)
    page = await op.get(url)
    assert page.status_code == 200
    panel = page.text.split('class="card member-panel"', 1)[1].split("</section>", 1)[0]
    assert "Loyalty" in panel
    assert "<th>Points</th><td>1200</td>" in panel
    assert "<th>Seen by</th><td>analyst</td>" in panel
    assert "&lt;b&gt;x&lt;/b&gt;" in panel  # values are escaped

    assert (await tenant.post(f"{API}/plugins", {"name": name, "enabled": False})).status_code in (200, 201)
    assert "Loyalty" not in text_of(await op.get(url))


async def test_a_failing_plugin_costs_its_panels_not_the_page(
    tenant: Any, sign_in: SignIn, plugin: Callable[..., str]
) -> None:
    def broken(workspace: scrm.WorkspaceRef, member: dict[str, Any], access: scrm.Access) -> list[scrm.MemberPanel]:
        raise RuntimeError("panel bug")

    bad, good = plugin(scrm_member_panels=broken), plugin(scrm_member_panels=loyalty)
    for name in (bad, good):
        await tenant.post(f"{API}/plugins", {"name": name, "enabled": True})
    member = await tenant.member(display_name="Still Here")
    op = await sign_in(tenant, "owner")
    page = await op.get(f"{base(tenant)}/{member['id']}")
    assert page.status_code == 200
    assert "Still Here" in text_of(page)
    assert f"The panels of plugin {bad} could not be shown" in text_of(page)
    assert "Loyalty" in text_of(page)  # the other plugin's panel still shows
    assert "panel bug" not in page.text


@pytest.mark.parametrize(("role", "allowed"), [("owner", True), ("operator", True), ("analyst", False)])
async def test_member_data_downloads_as_json_for_those_who_may_export(
    tenant: Any, other: Any, sign_in: SignIn, role: str, allowed: bool
) -> None:
    member = await tenant.member(display_name="Dora", external_id="dsar-1", identities={"email": "dora@example.com"})
    await tenant.post(f"{API}/events", {"member_id": member["id"], "type": "order.paid"})
    op = await sign_in(tenant, role)
    page = await op.get(f"{base(tenant)}/{member['id']}")
    assert ('data-testid="member-export"' in page.text) is allowed
    download = await op.get(f"{base(tenant)}/{member['id']}/export")
    if not allowed:
        assert download.status_code == 403
        return
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("application/json")
    assert "attachment" in download.headers["content-disposition"]
    assert download.headers["cache-control"] == "no-store"
    body = download.json()
    assert body["member"]["identities"] == {"email": "dora@example.com"}
    assert [e["type"] for e in body["events"]][-1] == "order.paid"
    stranger = await other.member(external_id="dsar-2")
    assert (await op.get(f"{base(tenant)}/{stranger['id']}/export")).status_code == 404
