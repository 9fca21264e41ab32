"""Entering a draw: one entry per member (by the database, under concurrent posts), the entry
window, eligibility, bad input, listings, and tickets earned by delivered events."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from lottery_helpers import BASE, create, draw_body, iso, members, opened, wheel_body
from scrm import EventFilter, Kernel
from scrm.testing import mixed_crowd, problem
from scrm_lottery import entries as entries_module
from scrm_lottery.entries import earn_tickets


async def test_a_member_enters_once(tenant: Any) -> None:
    campaign = await opened(tenant)
    member = await tenant.member(display_name="Ann", external_id="ann-1")
    url = f"{BASE}/{campaign['id']}/entries"
    entered = await tenant.post(url, {"external_id": "ann-1"})
    assert entered.status_code == 201, entered.text
    assert entered.json()["member_id"] == member["id"]
    assert entered.json()["tickets"] == 1
    again = problem(await tenant.post(url, {"member_id": member["id"]}), 409, "lottery-already-entered")
    assert again["entry_id"] == entered.json()["id"]
    assert (await tenant.get(f"{url}/count")).json() == {"campaign_id": campaign["id"], "entries": 1, "tickets": 1}


async def test_concurrent_entries_of_one_member_store_one(tenant: Any) -> None:
    campaign = await opened(tenant)
    member = await tenant.member(display_name="Quick")
    url = f"{BASE}/{campaign['id']}/entries"
    answers = await asyncio.gather(*(tenant.post(url, {"member_id": member["id"]}) for _ in range(30)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 29
    assert all(a.json()["type"].endswith("lottery-already-entered") for a in answers if a.status_code == 409)
    assert (await tenant.get(f"{url}/count")).json()["entries"] == 1


async def test_many_members_enter_at_once(tenant: Any, kernel: Kernel, monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries arriving at once share statements on PostgreSQL (group commit); each still gets its
    own entry, and a member's second entry its own 409."""
    sizes: list[int] = []
    write = entries_module.ENTRIES.write_batch

    async def watched(kernel: Kernel, batch: Any) -> Any:
        sizes.append(len(batch))
        return await write(kernel, batch)

    monkeypatch.setattr(entries_module.ENTRIES, "write_batch", watched)
    campaign = await opened(tenant)
    ids = await members(tenant, 40)
    url = f"{BASE}/{campaign['id']}/entries"
    answers = await asyncio.gather(*(tenant.post(url, {"member_id": m}) for m in [*ids, ids[7]]))
    assert sorted([answers[7].status_code, answers[40].status_code]) == [201, 409]
    assert [a.status_code for i, a in enumerate(answers[:40]) if i != 7] == [201] * 39
    made = [a.json() for a in answers if a.status_code == 201]
    assert sorted(e["member_id"] for e in made) == sorted(ids)
    assert len({e["id"] for e in made}) == 40
    if kernel.sql.postgres:
        assert max(sizes) > 1, sizes
    page = (await tenant.get(url, params={"limit": 25})).json()
    rest = (await tenant.get(url, params={"limit": 25, "cursor": page["next_cursor"]})).json()
    assert sorted(e["member_id"] for e in page["items"] + rest["items"]) == sorted(ids)
    assert rest["next_cursor"] is None
    mine = (await tenant.get(url, params={"member_id": ids[3]})).json()["items"]
    assert [e["member_id"] for e in mine] == [ids[3]]


async def test_entries_at_once_get_their_own_member_problems(tenant: Any, other: Any) -> None:
    """An entry's member is read by its batch (on PostgreSQL) or on its own; either way a member
    unknown or of another workspace is the entry's own 422 naming the field, one not active or
    without a required tag its own 403, and a member named by id and by external id at once enters once."""
    campaign = await opened(tenant, draw_body(tags_excluded=["staff"]))
    url = f"{BASE}/{campaign['id']}/entries"
    fit, bodies = await mixed_crowd(tenant, other)
    staff = await tenant.member(display_name="Staff", tags=["staff"])
    bodies.append({"member_id": staff["id"]})
    answers = await asyncio.gather(*(tenant.post(url, body) for body in bodies))
    codes = [a.status_code for a in answers]
    assert codes[1:10] + codes[11:] == [201] * 9 + [422] * 2 + [403] * 2, {a.text for a in answers}
    assert sorted([codes[0], codes[10]]) == [201, 409], codes
    problem(answers[10] if codes[10] == 409 else answers[0], 409, "lottery-already-entered")
    assert [a.json()["errors"][0]["field"] for a in answers[11:13]] == ["external_id", "member_id"]
    assert [problem(a, 403, "lottery-not-eligible")["reason"] for a in answers[13:]] == [
        "member-not-active",
        "tag-excluded",
    ]
    assert {a.json()["member_id"] for a in answers[:11] if a.status_code == 201} == {m["id"] for m in fit}
    assert (await tenant.get(f"{url}/count")).json()["entries"] == 10


async def test_the_member_is_refused_before_the_campaign(tenant: Any) -> None:
    """An unknown member is a 422 whatever the campaign's state or mode (as before the batch read
    members); a known member then gets the campaign's 409."""
    await tenant.enable("lottery")
    member = await tenant.member(display_name="Known")
    closed = await opened(tenant)
    await tenant.post(f"{BASE}/{closed['id']}/close")
    wheel = await opened(tenant, wheel_body())
    for campaign, kind in ((closed, "lottery-closed"), (wheel, "lottery-wrong-mode")):
        url = f"{BASE}/{campaign['id']}/entries"
        unknown = problem(await tenant.post(url, {"external_id": "nobody"}), 422, "validation-error")
        assert unknown["errors"][0]["field"] == "external_id"
        problem(await tenant.post(url, {"member_id": member["id"]}), 409, kind)


async def test_entries_only_inside_the_window(tenant: Any) -> None:
    await tenant.enable("lottery")
    member = await tenant.member(display_name="Early")
    draft = await create(tenant)
    problem(await tenant.post(f"{BASE}/{draft['id']}/entries", {"member_id": member["id"]}), 409, "lottery-closed")
    later = await opened(tenant, draw_body(opens_at=iso(timedelta(hours=1)), closes_at=iso(timedelta(hours=2))))
    problem(await tenant.post(f"{BASE}/{later['id']}/entries", {"member_id": member["id"]}), 409, "lottery-closed")
    now_open = await opened(tenant)
    await tenant.post(f"{BASE}/{now_open['id']}/close")
    problem(await tenant.post(f"{BASE}/{now_open['id']}/entries", {"member_id": member["id"]}), 409, "lottery-closed")
    wheel = await opened(tenant, wheel_body())
    problem(await tenant.post(f"{BASE}/{wheel['id']}/entries", {"member_id": member["id"]}), 409, "lottery-wrong-mode")
    assert (await tenant.get(f"{BASE}/{now_open['id']}/entries/count")).json()["entries"] == 0


async def test_eligibility_by_tags(tenant: Any) -> None:
    campaign = await opened(tenant, draw_body(tags_required=["vip"], tags_excluded=["staff"]))
    url = f"{BASE}/{campaign['id']}/entries"
    plain = await tenant.member(display_name="Plain")
    staff = await tenant.member(display_name="Staff", tags=["vip", "staff"])
    vip = await tenant.member(display_name="Vip", tags=["vip"])
    body = problem(await tenant.post(url, {"member_id": plain["id"]}), 403, "lottery-not-eligible")
    assert body["reason"] == "tag-required"
    assert body["tags"] == ["vip"]
    body = problem(await tenant.post(url, {"member_id": staff["id"]}), 403, "lottery-not-eligible")
    assert body["reason"] == "tag-excluded"
    assert (await tenant.post(url, {"member_id": vip["id"]})).status_code == 201
    assert (await tenant.get(f"{url}/count")).json()["entries"] == 1


async def test_eligibility_by_consent_and_status(tenant: Any) -> None:
    campaign = await opened(tenant, draw_body(consent_purpose="marketing.sms"))
    url = f"{BASE}/{campaign['id']}/entries"
    member = await tenant.member(display_name="Careful")
    body = problem(await tenant.post(url, {"member_id": member["id"]}), 403, "lottery-not-eligible")
    assert body["reason"] == "consent-required"
    grant = {"member_id": member["id"], "purpose": "marketing.sms", "status": "granted", "source": "form"}
    assert (await tenant.post("/api/v1/consents", grant)).status_code == 201
    assert (await tenant.post(url, {"member_id": member["id"]})).status_code == 201
    blocked = await tenant.member(display_name="Blocked", status="blocked")
    body = problem(await tenant.post(url, {"member_id": blocked["id"]}), 403, "lottery-not-eligible")
    assert body["reason"] == "member-not-active"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "member_id"),
        ({"member_id": 1, "external_id": "x"}, "member_id"),
        ({"member_id": 0}, "member_id"),
        ({"member_id": 2**63}, "member_id"),
        ({"external_id": ""}, "external_id"),
        ({"external_id": "nobody"}, "external_id"),
        ({"member_id": 1, "tickets": 5}, "tickets"),
    ],
)
async def test_bad_entries_are_refused_naming_the_field(tenant: Any, body: dict[str, Any], field: str) -> None:
    campaign = await opened(tenant)
    answer = problem(await tenant.post(f"{BASE}/{campaign['id']}/entries", body), 422, "validation-error")
    assert field in [e["field"] for e in answer["errors"]], answer


async def test_a_member_of_another_workspace_cannot_enter(tenant: Any, other: Any) -> None:
    campaign = await opened(tenant)
    stranger = await other.member(display_name="Stranger")
    answer = problem(
        await tenant.post(f"{BASE}/{campaign['id']}/entries", {"member_id": stranger["id"]}), 422, "validation-error"
    )
    assert answer["errors"][0]["field"] == "member_id"
    problem(await tenant.post(f"{BASE}/999999999/entries", {"member_id": stranger["id"]}), 404, "not-found")


async def test_events_earn_tickets_once_within_the_cap(tenant: Any, kernel: Kernel) -> None:
    rules = [{"event_type": "live.comment", "tickets": 2}, {"event_type": "order.paid", "tickets": 5}]
    campaign = await opened(tenant, draw_body(entry_mode="tickets", ticket_rules=rules, max_tickets=8))
    fan, late, lurker = await members(tenant, 3)
    url = f"{BASE}/{campaign['id']}/entries"
    assert (await tenant.post(url, {"member_id": fan})).status_code == 201
    comment = {"member_id": fan, "type": "live.comment"}
    posted = await tenant.post("/api/v1/events", [comment, comment, {"member_id": fan, "type": "page.view"}])
    assert posted.status_code == 200, posted.text
    await tenant.post("/api/v1/events", {"member_id": late, "type": "live.comment"})  # earned before entering
    await tenant.post("/api/v1/events", {"member_id": lurker, "type": "order.paid"})  # never enters
    await kernel.jobs.idle()
    assert (await tenant.post(url, {"member_id": late})).json()["tickets"] == 3
    entries = {e["member_id"]: e["tickets"] for e in (await tenant.get(url)).json()["items"]}
    assert entries == {fan: 5, late: 3}
    assert (await tenant.get(f"{url}/count")).json() == {"campaign_id": campaign["id"], "entries": 2, "tickets": 8}

    # a delivery repeated gives nothing twice; more events stop at the cap
    ws = await kernel.workspaces.ref(tenant.slug)
    page = await kernel.events.list(ws, EventFilter(member_id=fan, type="live.comment"), None, 50)
    await earn_tickets(kernel, ws, page.items)
    assert {e["member_id"]: e["tickets"] for e in (await tenant.get(url)).json()["items"]}[fan] == 5
    await tenant.post("/api/v1/events", {"member_id": fan, "type": "order.paid"})
    await kernel.jobs.idle()
    assert {e["member_id"]: e["tickets"] for e in (await tenant.get(url)).json()["items"]}[fan] == 8

    # after closing, events no longer count
    await tenant.post(f"{BASE}/{campaign['id']}/close")
    await tenant.post("/api/v1/events", {"member_id": late, "type": "order.paid"})
    await kernel.jobs.idle()
    assert {e["member_id"]: e["tickets"] for e in (await tenant.get(url)).json()["items"]}[late] == 3
