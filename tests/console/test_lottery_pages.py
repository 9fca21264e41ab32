"""The lottery plugin's console pages (campaign list, form, campaign page with its live count, the
draw and its results) and member panel: what each role sees and may do, errors next to their field,
CSRF, the draw's winners matching the API's, and no crossing workspaces."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from console_client import SignIn, text_of

API = "/api/v1/lottery/campaigns"


def base(tenant: Any) -> str:
    return f"/console/w/{tenant.slug}/lottery"


def field_error(response: httpx.Response, name: str) -> str:
    found = re.search(rf'<small class="error" id="{name}-error">([^<]*)</small>', response.text)
    assert found, f"no error next to {name}: {text_of(response)}"
    return found.group(1)


def local(delta: timedelta, zone: str = "UTC") -> str:
    """A ``datetime-local`` field's value, ``delta`` from now in ``zone``."""
    return (datetime.now(UTC) + delta).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def draw_form(**overrides: str) -> dict[str, str]:
    form = {
        "name": "Spring draw",
        "description": "Live stream",
        "mode": "draw",
        "entry_mode": "single",
        "opens_at": local(timedelta(minutes=-5)),
        "closes_at": local(timedelta(days=1)),
        "prizes": "Phone | 1 | 399900\r\nMug | 2 | 2900",
        "notify_purpose": "marketing.wecom",
    }
    return form | overrides


def body(**overrides: Any) -> dict[str, Any]:
    """A campaign through the API."""
    at = datetime.now(UTC)
    return {
        "name": "API draw",
        "opens_at": (at - timedelta(minutes=1)).isoformat(),
        "closes_at": (at + timedelta(hours=1)).isoformat(),
        "prizes": [{"name": "Phone", "quantity": 1, "value": 100}, {"name": "Mug", "quantity": 2}],
    } | overrides


@pytest.fixture
async def lottery(tenant: Any) -> Any:
    await tenant.enable("lottery")
    return tenant


async def created(tenant: Any, **overrides: Any) -> dict[str, Any]:
    response = await tenant.post(API, body(**overrides))
    assert response.status_code == 201, response.text
    campaign: dict[str, Any] = response.json()
    return campaign


async def opened(tenant: Any, entrants: int = 0, **overrides: Any) -> dict[str, Any]:
    campaign = await created(tenant, **overrides)
    assert (await tenant.post(f"{API}/{campaign['id']}/open")).status_code == 200
    for i in range(entrants):
        member = await tenant.member(display_name=f"Fan {i}")
        entered = await tenant.post(f"{API}/{campaign['id']}/entries", {"member_id": member["id"]})
        assert entered.status_code == 201, entered.text
    return campaign


def main_part(response: httpx.Response) -> str:
    """The page's own content (without the header's language and sign-out forms)."""
    return response.text.split('<main id="main">', 1)[1]


async def test_pages_answer_only_where_the_lottery_is_enabled(tenant: Any, sign_in: SignIn) -> None:
    viewer = await sign_in(tenant, "viewer")
    assert (await viewer.get(f"{base(tenant)}/campaigns")).status_code == 404
    await tenant.enable("lottery")
    page = await viewer.get(f"{base(tenant)}/campaigns")
    assert page.status_code == 200, page.text
    assert ">Lotteries</a>" in page.text  # the navigation entry


async def test_every_page_renders_for_a_viewer_without_forms_or_buttons(lottery: Any, sign_in: SignIn) -> None:
    draft = await created(lottery, name="Draft one")
    drawn = await opened(lottery, entrants=3, name="Drawn one")
    assert (await lottery.post(f"{API}/{drawn['id']}/close")).status_code == 200
    assert (await lottery.post(f"{API}/{drawn['id']}/draw")).status_code == 200
    wheel = await opened(lottery, name="Wheel", mode="instant", prizes=[{"name": "Coupon", "quantity": 5, "odds": 0.5}])
    member = await lottery.member(display_name="Ann")
    viewer = await sign_in(lottery, "viewer")
    owner = await sign_in(lottery, "owner")
    pages = [
        "/campaigns",
        f"/campaigns/{draft['id']}",
        f"/campaigns/{drawn['id']}",
        f"/campaigns/{drawn['id']}/results",
        f"/campaigns/{wheel['id']}",
    ]
    for path in pages:
        seen = await viewer.get(base(lottery) + path)
        assert seen.status_code == 200, (path, seen.text)
        assert "<form" not in main_part(seen), path
        assert "hx-post" not in main_part(seen), path
        assert (await owner.get(base(lottery) + path)).status_code == 200, path
    listed = text_of(await viewer.get(f"{base(lottery)}/campaigns"))
    for name in ("Draft one", "Drawn one", "Wheel"):
        assert name in listed
    assert "New lottery" not in listed
    panel = await viewer.get(f"/console/w/{lottery.slug}/members/{member['id']}")
    assert 'data-testid="lottery-entries"' in panel.text
    for path in ("/campaigns/new", f"/campaigns/{draft['id']}/edit", f"/campaigns/{drawn['id']}/draw"):
        assert (await viewer.get(base(lottery) + path)).status_code == 403, path
        assert (await owner.get(base(lottery) + path)).status_code in (200, 409), path

    owned = main_part(await owner.get(f"{base(lottery)}/campaigns/{draft['id']}"))
    for action in ("/open", "/cancel", "/delete", "/edit"):
        assert f"/campaigns/{draft['id']}{action}" in owned, action


async def test_a_campaign_is_created_through_the_form(lottery: Any, sign_in: SignIn) -> None:
    op = await sign_in(lottery, "operator")
    form = await op.get(f"{base(lottery)}/campaigns/new")
    assert form.status_code == 200
    assert 'name="prizes"' in form.text
    response = await op.post(
        f"{base(lottery)}/campaigns",
        draw_form(tags_required="vip, fan", tags_excluded="staff", points_cost="", ticket_rules="", max_tickets=""),
    )
    assert response.status_code == 303, response.text
    campaign = (await lottery.get(API)).json()["items"][0]
    assert response.headers["location"] == f"{base(lottery)}/campaigns/{campaign['id']}"
    assert (campaign["name"], campaign["mode"], campaign["state"]) == ("Spring draw", "draw", "draft")
    assert [(p["name"], p["quantity"], p["value"]) for p in campaign["prizes"]] == [
        ("Phone", 1, 399900),
        ("Mug", 2, 2900),
    ]
    assert campaign["tags_required"] == ["fan", "vip"]
    assert campaign["tags_excluded"] == ["staff"]
    page = await op.get(response.headers["location"])
    assert "Spring draw" in text_of(page)

    wheel = await op.post(
        f"{base(lottery)}/campaigns",
        draw_form(name="Wheel", mode="instant", prizes="Coupon | 10 | 5% | 500\nCap | 2 | 0.01", spin_limit="3"),
        htmx=True,
    )
    assert wheel.status_code == 200, wheel.text
    assert wheel.headers["HX-Redirect"].startswith(f"{base(lottery)}/campaigns/")
    made = (await lottery.get(API)).json()["items"][0]
    assert [(p["name"], p["quantity"], p["odds"], p["value"]) for p in made["prizes"]] == [
        ("Coupon", 10, 0.05, 500),
        ("Cap", 2, 0.01, 0),
    ]
    assert made["spin_limit"] == 3


async def test_the_window_is_read_in_the_workspaces_time_zone(lottery: Any, sign_in: SignIn, kernel: Any) -> None:
    ws = await kernel.workspaces.ref(lottery.slug)
    op = await sign_in(lottery, "owner")
    form = draw_form(opens_at="2030-05-01T20:00", closes_at="2030-05-02T20:00")
    assert (await op.post(f"{base(lottery)}/campaigns", form)).status_code == 303
    campaign = (await lottery.get(API)).json()["items"][0]
    opens = datetime.fromisoformat(campaign["opens_at"])
    assert opens == datetime(2030, 5, 1, 20, 0, tzinfo=ZoneInfo(ws.time_zone))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"prizes": ""}, "prizes"),
        ({"prizes": "Phone"}, "prizes"),
        ({"prizes": "Phone | lots"}, "prizes"),
        ({"prizes": "Phone | 0"}, "prizes"),
        ({"mode": "instant", "prizes": "Coupon | 5 | often"}, "prizes"),
        ({"mode": "instant", "prizes": "Coupon | 5"}, "prizes"),
        ({"closes_at": local(timedelta(days=-1))}, "closes_at"),
        ({"opens_at": "soon"}, "opens_at"),
        ({"points_cost": "-5"}, "points_cost"),
        ({"consent_purpose": "no.such.purpose"}, "consent_purpose"),
        ({"ticket_rules": "live.comment"}, "ticket_rules"),
        ({"tags_required": "vip", "tags_excluded": "vip"}, "tags_excluded"),
        ({"mode": "sideways"}, "mode"),
    ],
)
async def test_bad_input_comes_back_with_the_error_by_its_field(
    lottery: Any, sign_in: SignIn, overrides: dict[str, str], field: str
) -> None:
    op = await sign_in(lottery, "owner")
    form = draw_form(**{"name": "Kept name", **overrides})
    for htmx in (False, True):
        response = await op.post(f"{base(lottery)}/campaigns", form, htmx=htmx)
        assert response.status_code == 422, (overrides, response.text)
        assert field_error(response, field)
        if form["name"]:
            assert 'value="Kept name"' in response.text  # what was typed is kept
        assert ("<html" in response.text) is not htmx  # htmx gets the form alone
    assert (await lottery.get(API)).json()["items"] == []


async def test_editing_sends_only_what_changed_and_shows_what_the_api_refuses(lottery: Any, sign_in: SignIn) -> None:
    op = await sign_in(lottery, "owner")
    draft = await created(lottery)
    page = await op.get(f"{base(lottery)}/campaigns/{draft['id']}/edit")
    assert page.status_code == 200
    values = dict(re.findall(r'<input name="(\w+)" type="[\w-]+" value="([^"]*)"', page.text))
    values["prizes"] = re.search(r'<textarea name="prizes"[^>]*>([^<]*)</textarea>', page.text).group(1)  # type: ignore[union-attr]
    values |= {"mode": "draw", "entry_mode": "single"}
    assert values["prizes"] == "Phone | 1 | 100\nMug | 2 | 0"
    saved = await op.post(f"{base(lottery)}/campaigns/{draft['id']}", values | {"prizes": "Phone | 3 | 100"})
    assert saved.status_code == 303, saved.text
    assert [p["quantity"] for p in (await lottery.get(f"{API}/{draft['id']}")).json()["prizes"]] == [3]

    assert (await lottery.post(f"{API}/{draft['id']}/open")).status_code == 200
    before = (await lottery.get(f"{API}/{draft['id']}")).json()
    renamed = await op.post(
        f"{base(lottery)}/campaigns/{draft['id']}", values | {"prizes": "Phone | 3 | 100", "name": "Renamed"}
    )
    assert renamed.status_code == 303, renamed.text  # the locked fields came back unchanged
    assert (await lottery.get(f"{API}/{draft['id']}")).json()["name"] == "Renamed"
    refused = await op.post(
        f"{base(lottery)}/campaigns/{draft['id']}", values | {"prizes": "Phone | 9 | 100", "name": "Again"}, htmx=True
    )
    assert refused.status_code == 422, refused.text
    assert "cannot change once the campaign is open" in field_error(refused, "prizes")
    after = (await lottery.get(f"{API}/{draft['id']}")).json()
    assert (after["name"], after["prizes"]) == ("Renamed", before["prizes"])


def readonly_fields(page: httpx.Response) -> dict[str, str]:
    """Each read-only (or disabled) field of the form with the reason shown next to it."""
    form = page.text
    names = re.findall(r'<(?:input|textarea|select) name="(\w+)"[^>]*?\b(?:readonly|disabled)\b', form, re.S)
    return {
        name: re.search(rf'<small class="locked" id="{name}-locked">([^<]*)</small>', form).group(1)  # type: ignore[union-attr]
        for name in names
    }


async def test_a_drawn_lotterys_form_shows_its_locked_fields_read_only_with_the_reason(
    lottery: Any, sign_in: SignIn
) -> None:
    owner = await sign_in(lottery, "owner")
    draft = await created(lottery)
    assert readonly_fields(await owner.get(f"{base(lottery)}/campaigns/{draft['id']}/edit")) == {}

    assert (await lottery.post(f"{API}/{draft['id']}/open")).status_code == 200
    opened_form = readonly_fields(await owner.get(f"{base(lottery)}/campaigns/{draft['id']}/edit"))
    assert {"prizes", "mode", "opens_at", "tags_required"} <= set(opened_form)
    assert "name" not in opened_form
    assert set(opened_form.values()) == {"Locked while the lottery is open: it decides who wins."}

    assert (await lottery.post(f"{API}/{draft['id']}/close")).status_code == 200
    assert (await lottery.post(f"{API}/{draft['id']}/draw")).status_code == 200
    page = await owner.get(f"{base(lottery)}/campaigns/{draft['id']}/edit")
    locked = readonly_fields(page)
    assert set(locked) >= {"prizes", "mode", "entry_mode", "opens_at", "closes_at", "notify_purpose"}
    assert set(locked).isdisjoint({"name", "description"})  # what a drawn lottery may still change
    assert set(locked.values()) == {"Locked: the lottery is drawn."}
    # the form as the browser sends it (disabled selects left out) saves the fields left open
    values = dict(re.findall(r'<input name="(\w+)" type="[\w-]+" value="([^"]*)"', page.text))
    values["prizes"] = re.search(r'<textarea name="prizes"[^>]*>([^<]*)</textarea>', page.text).group(1)  # type: ignore[union-attr]
    saved = await owner.post(f"{base(lottery)}/campaigns/{draft['id']}", values | {"name": "Renamed after the draw"})
    assert saved.status_code == 303, text_of(saved)
    assert (await lottery.get(f"{API}/{draft['id']}")).json()["name"] == "Renamed after the draw"


async def test_open_close_and_draw_through_the_console_match_the_api(lottery: Any, sign_in: SignIn) -> None:
    op = await sign_in(lottery, "operator")
    draft = await created(lottery)
    here = f"{base(lottery)}/campaigns/{draft['id']}"
    assert (await op.post(f"{here}/open")).status_code == 303
    campaign = (await lottery.get(f"{API}/{draft['id']}")).json()
    assert campaign["state"] == "open"
    page = await op.get(here)
    assert campaign["commitment"] in page.text
    assert 'hx-trigger="every 5s"' in page.text
    for i in range(5):
        member = await lottery.member(display_name=f"Winner {i}")
        assert (await lottery.post(f"{API}/{draft['id']}/entries", {"member_id": member["id"]})).status_code == 201
    count = await op.get(f"{here}/count", htmx=True)
    assert count.status_code == 200
    assert 'data-testid="entry-count">5<' in count.text
    assert "<html" not in count.text

    assert (await op.post(f"{here}/close", htmx=True)).headers["HX-Redirect"] == here
    closed = await op.get(here)
    assert 'hx-trigger="every' not in closed.text  # no polling once closed
    assert f'href="{here}/draw"' in closed.text
    assert "hx-confirm" in closed.text
    confirm = await op.get(f"{here}/draw")  # the confirmation step without JavaScript
    assert confirm.status_code == 200
    assert 'data-testid="confirm-draw"' in confirm.text
    drawn = await op.post(f"{here}/draw")
    assert drawn.status_code == 303
    assert drawn.headers["location"] == f"{here}/results"
    results = await op.get(f"{here}/results")
    assert results.status_code == 200
    result = (await lottery.get(f"{API}/{draft['id']}/result")).json()
    assert hashlib.sha256(bytes.fromhex(result["seed"])).hexdigest() == result["commitment"]
    for value in (result["commitment"], result["seed"], result["entries_hash"]):
        assert value in results.text
    shown = re.findall(r'<tr data-member="(\d+)"><td>\d+</td><td><a [^>]*>([^<]*)</a>', results.text)
    winners = [str(w["member_id"]) for w in result["winners"]]
    assert [member_id for member_id, _name in shown][: len(winners)] == winners
    assert all(name.startswith("Winner ") for _id, name in shown)  # names, for those who may read members
    assert "scrm lottery verify" in text_of(results)

    export = await op.get(f"{here}/export")
    assert export.status_code == 200
    assert export.headers["content-disposition"] == f'attachment; filename="lottery-{draft["id"]}.json"'
    assert export.json() == (await lottery.get(f"{API}/{draft['id']}/entries/export")).json()

    again = await op.post(f"{here}/draw")
    assert again.status_code == 409
    assert (await lottery.get(f"{API}/{draft['id']}/result")).json() == result


async def test_unreachable_winners_are_listed_apart(lottery: Any, sign_in: SignIn) -> None:
    campaign = await opened(lottery, entrants=2)
    assert (await lottery.post(f"{API}/{campaign['id']}/close")).status_code == 200
    assert (await lottery.post(f"{API}/{campaign['id']}/draw")).status_code == 200
    result = (await lottery.get(f"{API}/{campaign['id']}/result")).json()
    assert len(result["unreachable"]) == 2  # nobody granted marketing.wecom
    viewer = await sign_in(lottery, "viewer")
    page = await viewer.get(f"{base(lottery)}/campaigns/{campaign['id']}/results")
    unreachable = page.text.split('data-testid="unreachable"', 1)[1]
    for winner in result["unreachable"]:
        assert f'data-member="{winner["member_id"]}"' in unreachable


def contactable_now(page: httpx.Response) -> dict[int, str]:
    """Each winner's "contactable now" cell in the winners table: ``yes`` or ``no: reason``."""
    table = page.text.split('data-testid="winners"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r'<tr data-member="(\d+)">.*?data-testid="contactable-now"[^>]*>([^<]*)</td>', table, re.S)
    return {int(member): text.strip() for member, text in cells}


async def test_the_results_page_states_what_the_consent_door_answers_now(
    lottery: Any, sign_in: SignIn, kernel: Any
) -> None:
    """A compliance statement: per winner, what ``decide`` answers now — not the answer stored at the
    draw (or none at all) — and a notify button counting only the winners reachable now."""
    campaign = await opened(lottery, entrants=0, prizes=[{"name": "Mug", "quantity": 4}])
    ids = [(await lottery.member(display_name=f"Fan {i}"))["id"] for i in range(4)]

    async def consent(member_id: int, status: str) -> None:
        body = {"member_id": member_id, "purpose": "marketing.wecom", "status": status, "source": "form"}
        assert (await lottery.post("/api/v1/consents", body)).status_code == 201

    await consent(ids[0], "granted")
    await consent(ids[1], "granted")
    for member_id in ids:
        assert (await lottery.post(f"{API}/{campaign['id']}/entries", {"member_id": member_id})).status_code == 201
    assert (await lottery.post(f"{API}/{campaign['id']}/close")).status_code == 200
    assert (await lottery.post(f"{API}/{campaign['id']}/draw")).status_code == 200
    # after the draw: 1 withdraws (notified, no longer reachable), 2 grants (stored unreachable, now
    # reachable and not yet told), 3 is blocked (never reachable)
    await consent(ids[1], "withdrawn")
    await consent(ids[2], "granted")
    await consent(ids[3], "granted")
    assert (await lottery.patch(f"/api/v1/members/{ids[3]}", {"status": "blocked"})).status_code == 200
    ws = await kernel.workspaces.ref(lottery.slug)
    expected = {m: await kernel.consents.decide(ws, m, "marketing.wecom") for m in ids}
    assert [expected[m].allowed for m in ids] == [True, False, True, False]

    owner = await sign_in(lottery, "owner")
    page = await owner.get(f"{base(lottery)}/campaigns/{campaign['id']}/results")
    assert page.status_code == 200
    shown = contactable_now(page)
    for member_id, answer in expected.items():
        assert shown[member_id] == ("yes" if answer.allowed else f"no: {answer.reason}"), (member_id, shown)
    assert "2 of 4 winners can be contacted now for marketing.wecom." in text_of(page)
    assert "Every winner" not in text_of(page)
    unreachable = page.text.split('data-testid="unreachable"', 1)[1].split("</table>", 1)[0]
    assert sorted(int(m) for m in re.findall(r'data-member="(\d+)"', unreachable)) == sorted([ids[1], ids[3]])
    assert "Notify the reachable winners not yet notified (1)" in page.text  # only member 2

    told = await owner.post(f"{base(lottery)}/campaigns/{campaign['id']}/notify")
    assert told.status_code == 303
    after = await owner.get(f"{base(lottery)}/campaigns/{campaign['id']}/results")
    assert 'data-testid="notify"' not in after.text
    assert 'data-testid="nobody-to-notify"' in after.text
    listed = (await lottery.get("/api/v1/events", params={"type": "lottery.notify"})).json()["items"]
    assert {e["member_id"] for e in listed} == {ids[0], ids[1], ids[2]}  # 1 was told at the draw


async def test_nobody_reachable_means_no_claim_and_no_button(lottery: Any, sign_in: SignIn) -> None:
    """The defect: nobody had consent, the page said "Every winner can be contacted" and offered to
    notify them all."""
    campaign = await opened(lottery, entrants=3)
    assert (await lottery.post(f"{API}/{campaign['id']}/close")).status_code == 200
    assert (await lottery.post(f"{API}/{campaign['id']}/draw")).status_code == 200
    owner = await sign_in(lottery, "owner")
    page = await owner.get(f"{base(lottery)}/campaigns/{campaign['id']}/results")
    assert "can be contacted." not in text_of(page)
    assert "0 of 3 winners can be contacted now" in text_of(page)
    assert set(contactable_now(page).values()) == {"no: no consent recorded"}
    assert 'data-testid="notify"' not in page.text


async def test_a_wheel_shows_its_stock_spins_and_wins(lottery: Any, sign_in: SignIn) -> None:
    wheel = await opened(lottery, name="Wheel", mode="instant", prizes=[{"name": "Coupon", "quantity": 2, "odds": 1.0}])
    winner = await lottery.member(display_name="Lucky")
    for _ in range(3):
        await lottery.post(f"{API}/{wheel['id']}/spins", {"member_id": winner["id"]})
    op = await sign_in(lottery, "owner")
    page = await op.get(f"{base(lottery)}/campaigns/{wheel['id']}")
    assert 'data-testid="stock">0<' in page.text
    assert 'data-testid="spin-count">3<' in page.text
    assert 'data-testid="win-count">2<' in page.text
    assert "Lucky" in page.text.split('data-testid="recent-wins"', 1)[1]
    assert "/draw" not in main_part(page)
    listed = await op.get(f"{base(lottery)}/campaigns")
    assert re.search(rf'data-campaign="{wheel["id"]}">.*?<td>3</td>', listed.text, re.S)
    panel = await op.get(f"/console/w/{lottery.slug}/members/{winner['id']}")
    assert "Coupon" in panel.text.split('data-testid="lottery-wins"', 1)[1]


async def test_the_member_panel_lists_entries_and_wins(lottery: Any, sign_in: SignIn) -> None:
    campaign = await opened(lottery, name="Panel draw")
    member = await lottery.member(display_name="Bo")
    assert (await lottery.post(f"{API}/{campaign['id']}/entries", {"member_id": member["id"]})).status_code == 201
    assert (await lottery.post(f"{API}/{campaign['id']}/close")).status_code == 200
    assert (await lottery.post(f"{API}/{campaign['id']}/draw")).status_code == 200
    viewer = await sign_in(lottery, "viewer")
    page = await viewer.get(f"/console/w/{lottery.slug}/members/{member['id']}")
    entries = page.text.split('data-testid="lottery-entries"', 1)[1].split("</table>", 1)[0]
    assert "Panel draw" in entries
    wins = page.text.split('data-testid="lottery-wins"', 1)[1].split("</table>", 1)[0]
    assert "Phone" in wins


async def test_a_viewer_cannot_change_anything(lottery: Any, sign_in: SignIn) -> None:
    campaign = await opened(lottery, entrants=1)
    assert (await lottery.post(f"{API}/{campaign['id']}/close")).status_code == 200
    viewer = await sign_in(lottery, "viewer")
    here = f"{base(lottery)}/campaigns/{campaign['id']}"
    for path in ("/draw", "/cancel", "/open", "/notify", "", "/delete"):
        assert (await viewer.post(here + path, {"name": "x"})).status_code == 403, path
    assert (await viewer.post(f"{base(lottery)}/campaigns", draw_form())).status_code == 403
    after = (await lottery.get(f"{API}/{campaign['id']}")).json()
    assert (after["state"], after["name"]) == ("closed", campaign["name"])
    assert len((await lottery.get(API)).json()["items"]) == 1


async def test_forms_need_the_csrf_token(lottery: Any, sign_in: SignIn) -> None:
    op = await sign_in(lottery, "owner")
    refused = await op.post(f"{base(lottery)}/campaigns", draw_form(), csrf=False)
    assert refused.status_code == 403
    campaign = await opened(lottery, entrants=1)
    assert (await lottery.post(f"{API}/{campaign['id']}/close")).status_code == 200
    assert (await op.post(f"{base(lottery)}/campaigns/{campaign['id']}/draw", csrf=False)).status_code == 403
    assert (await lottery.get(f"{API}/{campaign['id']}")).json()["state"] == "closed"
    assert len((await lottery.get(API)).json()["items"]) == 1


async def test_what_the_api_refuses_is_refused_here(lottery: Any, sign_in: SignIn) -> None:
    op = await sign_in(lottery, "owner")
    campaign = await opened(lottery)
    here = f"{base(lottery)}/campaigns/{campaign['id']}"
    assert (await op.post(f"{here}/draw")).status_code == 409  # still open, window not over
    assert (await op.post(f"{here}/open")).status_code == 409
    assert (await op.post(f"{here}/delete")).status_code == 409
    assert (await op.get(f"{here}/results")).status_code == 409
    assert (await lottery.get(f"{API}/{campaign['id']}")).json()["state"] == "open"


async def test_no_crossing_into_another_workspace(lottery: Any, other: Any, sign_in: SignIn) -> None:
    await other.enable("lottery")
    theirs = await opened(other, entrants=1, name="Their secret")
    draft = await created(other, name="Their draft")
    op = await sign_in(lottery, "owner")
    assert (await op.get(f"/console/w/{other.slug}/lottery/campaigns")).status_code == 404
    mine = base(lottery)
    for path in ("", "/count", "/edit", "/results", "/export", "/draw"):
        assert (await op.get(f"{mine}/campaigns/{theirs['id']}{path}")).status_code == 404, path
    for campaign, path, form in (
        (theirs, "/close", {}),
        (theirs, "/cancel", {}),
        (theirs, "/draw", {}),
        (theirs, "/notify", {}),
        (theirs, "", {"name": "Mine now"}),
        (draft, "/open", {}),
        (draft, "/delete", {}),
    ):
        response = await op.post(f"{mine}/campaigns/{campaign['id']}{path}", form)
        assert response.status_code == 404, (path, response.text)
    assert (await other.get(f"{API}/{theirs['id']}")).json()["state"] == "open"
    assert (await other.get(f"{API}/{theirs['id']}")).json()["name"] == "Their secret"
    assert (await other.get(f"{API}/{draft['id']}")).json()["state"] == "draft"
    assert "Their secret" not in text_of(await op.get(f"{mine}/campaigns"))


async def test_the_pages_speak_chinese(lottery: Any, sign_in: SignIn, kernel: Any) -> None:
    campaign = await created(lottery, name="春季抽奖")
    owner = await sign_in(lottery, "owner")
    await kernel.operators.set_locale(owner.operator_id, "zh_CN")
    listed = text_of(await owner.get(f"{base(lottery)}/campaigns"))
    for words in ("抽奖", "新建抽奖", "草稿", "参与时间段"):
        assert words in listed, words
    page = text_of(await owner.get(f"{base(lottery)}/campaigns/{campaign['id']}"))
    for words in ("开始", "取消抽奖", "公平性", "奖品"):
        assert words in page, words


async def test_a_public_source_is_set_in_the_form_shown_and_its_value_asked_for_at_the_draw(
    lottery: Any, sign_in: SignIn
) -> None:
    op = await sign_in(lottery, "operator")
    form = draw_form(public_source="drand quicknet, after entries close", drand_round="13500000")
    assert (await op.post(f"{base(lottery)}/campaigns", form)).status_code == 303
    campaign = (await lottery.get(API)).json()["items"][0]
    assert campaign["public_source"] == {"description": "drand quicknet, after entries close", "drand_round": 13500000}
    here = f"{base(lottery)}/campaigns/{campaign['id']}"
    assert 'value="13500000"' in (await op.get(f"{here}/edit")).text
    assert (await op.post(f"{here}/open")).status_code == 303
    member = await lottery.member(display_name="Fan")
    assert (await lottery.post(f"{API}/{campaign['id']}/entries", {"member_id": member["id"]})).status_code == 201
    assert (await op.post(f"{here}/close")).status_code == 303

    page = await op.get(here)
    source = "drand round 13500000: drand quicknet, after entries close"
    assert source in text_of(page)
    assert f'hx-post="{here}/draw"' not in page.text  # the draw asks for the value on its own page
    confirm = await op.get(f"{here}/draw")
    assert 'name="public_value"' in confirm.text
    assert source in text_of(confirm)
    missing = await op.post(f"{here}/draw", {"public_value": ""})
    assert missing.status_code == 422
    assert field_error(missing, "public_value")
    malformed = await op.post(f"{here}/draw", {"public_value": "not the randomness"})
    assert malformed.status_code == 422
    assert "64 hexadecimal digits" in field_error(malformed, "public_value")
    assert 'value="not the randomness"' in malformed.text  # what was typed is kept
    drawn = await op.post(f"{here}/draw", {"public_value": "c3" * 32})
    assert drawn.status_code == 303
    results = await op.get(f"{here}/results")
    assert "c3" * 32 in results.text
    assert source in text_of(results)


async def test_a_campaign_page_charts_its_activity(lottery: Any, sign_in: SignIn) -> None:
    """Entries per day for a draw; spins and wins per day and the stock left for a wheel (SVG drawn on
    the server, no inline style or script)."""
    draw = await opened(lottery, entrants=3)
    wheel = await opened(lottery, name="Wheel", mode="instant", prizes=[{"name": "Coupon", "quantity": 4, "odds": 1.0}])
    member = await lottery.member(display_name="Spinner")
    assert (await lottery.post(f"{API}/{wheel['id']}/spins", {"member_id": member["id"]})).status_code in (200, 201)
    viewer = await sign_in(lottery, "viewer")
    today = datetime.now(UTC).strftime("%m-%d")
    drawn = await viewer.get(f"{base(lottery)}/campaigns/{draw['id']}")
    chart = drawn.text.split('data-testid="lottery-activity"', 1)[1].split("</section>", 1)[0]
    assert 'data-chart="bar"' in chart
    assert f"<title>{today}: 3</title>" in chart
    spun = await viewer.get(f"{base(lottery)}/campaigns/{wheel['id']}")
    charts = spun.text.split('data-testid="lottery-activity"', 1)[1].split("</section>", 1)[0]
    assert f"<title>{today} · spins: 1</title>" in charts
    assert f"<title>{today} · wins: 1</title>" in charts
    assert "<title>Coupon: 75%</title>" in charts  # 3 of 4 left
    assert "style=" not in charts
    assert "<script" not in charts
