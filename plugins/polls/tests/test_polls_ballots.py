"""Casting ballots: one per member (by the database, under 100 concurrent posts), the poll's state
and window, eligibility, answers checked against the poll (422 naming the question), the
``poll.voted`` event committed with the ballot, and moderation of free text."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
import scrm
from polls_helpers import BASE, answers, create, iso, members, opened, survey, vote
from scrm import EventFilter, Kernel
from scrm.testing import problem


async def test_a_member_votes_once(tenant: Any, kernel: Kernel) -> None:
    poll = await opened(tenant)
    member = await tenant.member(display_name="Ann", external_id="ann-1")
    url = f"{BASE}/{poll['id']}/ballots"
    cast = await tenant.post(url, {"external_id": "ann-1", "answers": answers(poll, multiple=(0, 2))})
    assert cast.status_code == 201, cast.text
    ballot = cast.json()
    assert ballot["member_id"] == member["id"]
    assert [a["question_id"] for a in ballot["answers"]] == [q["id"] for q in poll["questions"][:4]]
    assert len(ballot["answers"][1]["option_ids"]) == 2
    again = problem(
        await tenant.post(url, {"member_id": member["id"], "answers": answers(poll)}), 409, "polls-already-voted"
    )
    assert again["ballot_id"] == ballot["id"]
    ws = await kernel.workspaces.ref(tenant.slug)
    events = await kernel.events.list(ws, EventFilter(member_id=member["id"], type="poll.voted"), None, 10)
    assert [(e.properties["poll_id"], e.properties["ballot_id"]) for e in events.items] == [(poll["id"], ballot["id"])]


async def test_100_concurrent_ballots_of_one_member_store_one(tenant: Any, kernel: Kernel) -> None:
    poll = await opened(tenant)
    member = await tenant.member(display_name="Quick")
    url = f"{BASE}/{poll['id']}/ballots"
    body = {"member_id": member["id"], "answers": answers(poll)}
    replies = await asyncio.gather(*(tenant.post(url, body) for _ in range(100)))
    assert sorted(r.status_code for r in replies) == [201] + [409] * 99
    assert all(r.json()["type"].endswith("polls-already-voted") for r in replies if r.status_code == 409)
    result = (await tenant.get(f"{BASE}/{poll['id']}/results")).json()
    assert result["ballots"] == 1
    assert result["questions"][0]["answered"] == 1
    stored = await kernel.sql.fetch("SELECT COUNT(*) AS n FROM polls_ballot WHERE poll = {}", poll["id"])
    assert stored[0]["n"] == 1
    ws = await kernel.workspaces.ref(tenant.slug)
    events = await kernel.events.list(ws, EventFilter(member_id=member["id"], type="poll.voted"), None, 10)
    assert len(events.items) == 1


async def test_many_members_vote_at_once_and_the_counts_add_up(tenant: Any, kernel: Kernel) -> None:
    poll = await opened(tenant)
    ids = await members(tenant, 30)
    url = f"{BASE}/{poll['id']}/ballots"
    replies = await asyncio.gather(
        *(tenant.post(url, {"member_id": m, "answers": answers(poll, single=i % 3)}) for i, m in enumerate(ids))
    )
    assert [r.status_code for r in replies] == [201] * 30
    result = (await tenant.get(f"{BASE}/{poll['id']}/results")).json()
    assert result["ballots"] == 30
    assert [o["count"] for o in result["questions"][0]["options"]] == [10, 10, 10]
    from scrm_polls import tally

    ws = await kernel.workspaces.ref(tenant.slug)
    assert await tally.read(kernel, ws, poll["id"]) == await tally.aggregate(kernel, ws, poll["id"])
    page = (await tenant.get(url, params={"limit": 20})).json()
    rest = (await tenant.get(url, params={"limit": 20, "cursor": page["next_cursor"]})).json()
    assert sorted(b["member_id"] for b in page["items"] + rest["items"]) == sorted(ids)
    mine = (await tenant.get(url, params={"member_id": ids[3]})).json()["items"]
    assert [b["member_id"] for b in mine] == [ids[3]]


async def test_ballots_only_while_open_and_inside_the_window(tenant: Any) -> None:
    await tenant.enable("polls")
    member = await tenant.member(display_name="Early")
    draft = await create(tenant)
    body = {"member_id": member["id"], "answers": answers(draft)}
    problem(await tenant.post(f"{BASE}/{draft['id']}/ballots", body), 409, "polls-closed")
    later = await opened(tenant, survey(opens_at=iso(timedelta(hours=1))))
    assert later["state"] == "scheduled"
    problem(await tenant.post(f"{BASE}/{later['id']}/ballots", body | {"answers": answers(later)}), 409, "polls-closed")
    now_open = await opened(tenant)
    await tenant.post(f"{BASE}/{now_open['id']}/close")
    problem(
        await tenant.post(f"{BASE}/{now_open['id']}/ballots", body | {"answers": answers(now_open)}),
        409,
        "polls-closed",
    )
    assert (await tenant.get(f"{BASE}/{now_open['id']}/results")).json()["ballots"] == 0


async def test_a_moved_closing_time_counts_at_once(tenant: Any) -> None:
    poll = await opened(tenant, survey(closes_at=iso(timedelta(days=1))))
    first, second = await members(tenant, 2)
    await vote(tenant, poll, first)  # the open poll is now cached by this process
    moved = await tenant.patch(f"{BASE}/{poll['id']}", {"closes_at": iso(timedelta(seconds=1))})
    assert moved.status_code == 200, moved.text
    await asyncio.sleep(1.2)
    body = {"member_id": second, "answers": answers(poll)}
    problem(await tenant.post(f"{BASE}/{poll['id']}/ballots", body), 409, "polls-closed")
    await tenant.patch(f"{BASE}/{poll['id']}", {"closes_at": iso(timedelta(days=2))})
    reopened = await tenant.post(f"{BASE}/{poll['id']}/ballots", body)  # the cached poll is read again
    assert reopened.status_code == 201, reopened.text


async def test_the_schedule_opens_and_closes_polls(tenant: Any, kernel: Kernel) -> None:
    from scrm_polls import schedule

    soon = await opened(tenant, survey(opens_at=iso(timedelta(minutes=5)), closes_at=iso(timedelta(minutes=10))))
    assert soon["state"] == "scheduled"
    from datetime import UTC, datetime

    await schedule.advance(kernel, datetime.now(UTC) + timedelta(minutes=6))
    assert (await tenant.get(f"{BASE}/{soon['id']}")).json()["state"] == "open"
    await schedule.advance(kernel, datetime.now(UTC) + timedelta(minutes=11))
    assert (await tenant.get(f"{BASE}/{soon['id']}")).json()["state"] == "closed"


async def test_eligibility_by_tags_consent_and_status(tenant: Any) -> None:
    poll = await opened(tenant, survey(tags_required=["vip"], tags_excluded=["staff"], consent_purpose="marketing.sms"))
    url = f"{BASE}/{poll['id']}/ballots"
    plain = await tenant.member(display_name="Plain")
    staff = await tenant.member(display_name="Staff", tags=["vip", "staff"])
    vip = await tenant.member(display_name="Vip", tags=["vip"])
    blocked = await tenant.member(display_name="Blocked", status="blocked", tags=["vip"])
    for who, reason in (
        (plain, "tag-required"),
        (staff, "tag-excluded"),
        (vip, "consent-required"),
        (blocked, "member-not-active"),
    ):
        body = problem(
            await tenant.post(url, {"member_id": who["id"], "answers": answers(poll)}), 403, "polls-not-eligible"
        )
        assert body["reason"] == reason
    grant = {"member_id": vip["id"], "purpose": "marketing.sms", "status": "granted", "source": "form"}
    assert (await tenant.post("/api/v1/consents", grant)).status_code == 201
    await vote(tenant, poll, vip["id"])


async def test_problems_come_in_order_whatever_the_path(tenant: Any) -> None:
    """Without a consent purpose or a text a ballot goes to its batch before its voter is read (on
    PostgreSQL); with a text it does not. Either way the member's problem comes first (422), then
    eligibility (403), then the answers (422)."""
    poll = await opened(tenant, survey(tags_required=["vip"], tags_excluded=["staff"]))
    url = f"{BASE}/{poll['id']}/ballots"
    plain = await tenant.member(display_name="Plain")
    staff = await tenant.member(display_name="Staff", tags=["vip", "staff"])
    blocked = await tenant.member(display_name="Blocked", status="blocked", tags=["vip"])
    vip = await tenant.member(display_name="Vip", external_id="vip-1", tags=["vip"])
    wrong, _, _ = _bad(poll, "unknown option")
    for given in (answers(poll), wrong, answers(poll, text="fine")):
        for who, field in (({"member_id": 2**62}, "member_id"), ({"external_id": "nobody"}, "external_id")):
            answer = problem(await tenant.post(url, {**who, "answers": given}), 422, "validation-error")
            assert [e["field"] for e in answer["errors"]] == [field]
        for member, reason in ((plain, "tag-required"), (blocked, "member-not-active"), (staff, "tag-excluded")):
            body = {"member_id": member["id"], "answers": given}
            assert problem(await tenant.post(url, body), 403, "polls-not-eligible")["reason"] == reason
    answer = problem(await tenant.post(url, {"member_id": vip["id"], "answers": wrong}), 422, "validation-error")
    assert answer["errors"][0]["field"] == "answers[0].option_ids"
    reply = await tenant.post(url, {"external_id": "vip-1", "answers": answers(poll)})
    assert reply.status_code == 201, reply.text
    assert reply.json()["member_id"] == vip["id"]
    problem(await tenant.post(url, {"member_id": vip["id"], "answers": answers(poll)}), 409, "polls-already-voted")
    assert (await tenant.get(f"{BASE}/{poll['id']}/results")).json()["ballots"] == 1


def _bad(poll: dict[str, Any], case: str) -> tuple[list[dict[str, Any]], str, str]:
    """Answers wrong in one way, the field the 422 names and the question title it mentions."""
    q = poll["questions"]
    good = answers(poll)
    if case == "unknown option":
        good[0]["option_ids"] = [q[1]["options"][0]["id"]]
        return good, "answers[0].option_ids", "Favourite drink?"
    if case == "two options of a single choice":
        good[0]["option_ids"] = [o["id"] for o in q[0]["options"][:2]]
        return good, "answers[0].option_ids", "Favourite drink?"
    if case == "too many choices":
        good[1]["option_ids"] = [o["id"] for o in q[1]["options"][:3]]
        return good, "answers[1].option_ids", "What else?"
    if case == "no choice":
        good[1]["option_ids"] = []
        return good, "answers[1].option_ids", "What else?"
    if case == "rating out of range":
        good[2]["score"] = 6
        return good, "answers[2].score", "Rate the staff"
    if case == "nps out of range":
        good[3]["score"] = -1
        return good, "answers[3].score", "Recommend us?"
    if case == "score for a choice":
        good[0] = {"question_id": q[0]["id"], "score": 3}
        return good, "answers[0].score", "Favourite drink?"
    if case == "text too long":
        good.append({"question_id": q[4]["id"], "text": "x" * 51})
        return good, "answers[4].text", "Anything else?"
    if case == "required left out":
        return good[1:], "answers", "Favourite drink?"
    if case == "answered twice":
        return [*good, good[2]], "answers[4].question_id", "Rate the staff"
    assert case == "unknown question"
    return [*good, {"question_id": 2**62, "score": 1}], "answers[4].question_id", str(2**62)


CASES = [
    "unknown option",
    "two options of a single choice",
    "too many choices",
    "no choice",
    "rating out of range",
    "nps out of range",
    "score for a choice",
    "text too long",
    "required left out",
    "answered twice",
    "unknown question",
]


@pytest.mark.parametrize("case", CASES)
async def test_wrong_answers_are_refused_naming_the_question(tenant: Any, case: str) -> None:
    poll = await opened(tenant)
    member = await tenant.member(display_name="Wrong")
    given, field, title = _bad(poll, case)
    body = problem(
        await tenant.post(f"{BASE}/{poll['id']}/ballots", {"member_id": member["id"], "answers": given}),
        422,
        "validation-error",
    )
    named = [e for e in body["errors"] if e["field"] == field]
    assert named, body
    assert title in named[0]["message"], body
    assert (await tenant.get(f"{BASE}/{poll['id']}/results")).json()["ballots"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"answers": []}, "member_id"),
        ({"member_id": 1, "external_id": "x", "answers": []}, "member_id"),
        ({"member_id": 0, "answers": []}, "member_id"),
        ({"member_id": 2**63, "answers": []}, "member_id"),
        ({"external_id": "nobody", "answers": []}, "external_id"),
        ({"member_id": 1}, "answers"),
        ({"member_id": 1, "answers": [{"question_id": 1, "colour": "red"}]}, "answers[0].colour"),
        ({"member_id": 1, "answers": [{"question_id": 1, "score": 2**40}]}, "answers[0].score"),
        ({"member_id": 1, "answers": [{"question_id": 1, "text": "x" * 2001}]}, "answers[0].text"),
        ({"member_id": 1, "answers": [{"question_id": 1}] * 51}, "answers"),
    ],
)
async def test_malformed_ballots_are_refused_naming_the_field(tenant: Any, body: dict[str, Any], field: str) -> None:
    poll = await opened(tenant)
    answer = problem(await tenant.post(f"{BASE}/{poll['id']}/ballots", body), 422, "validation-error")
    assert field in [e["field"] for e in answer["errors"]], answer


async def test_a_member_of_another_workspace_cannot_vote(tenant: Any, other: Any) -> None:
    poll = await opened(tenant)
    stranger = await other.member(display_name="Stranger")
    answer = problem(
        await tenant.post(f"{BASE}/{poll['id']}/ballots", {"member_id": stranger["id"], "answers": answers(poll)}),
        422,
        "validation-error",
    )
    assert answer["errors"][0]["field"] == "member_id"
    await other.enable("polls")
    mine = await other.member(display_name="Theirs")
    problem(
        await other.post(f"{BASE}/{poll['id']}/ballots", {"member_id": mine["id"], "answers": answers(poll)}),
        404,
        "not-found",
    )


async def test_flagged_text_is_held_and_the_ballot_counts(tenant: Any, plugin: Any) -> None:
    def scrm_moderate(text: str | None = None, media: Any = None) -> list[scrm.Finding]:
        if text and "spam" in text:
            return [scrm.Finding(category="ad", severity="high", term="spam")]
        if text and "meh" in text:
            return [scrm.Finding(category="tone", severity="low", term="meh")]
        return []

    name = plugin(scrm_moderate=scrm_moderate)
    await tenant.enable(name)
    poll = await opened(tenant)
    first, second, third = await members(tenant, 3)
    held = await vote(tenant, poll, first, text="buy spam now")
    assert held["answers"][-1]["text_status"] == "held"
    await vote(tenant, poll, second, text="meh, fine")
    await vote(tenant, poll, third, text="Lovely")
    result = (await tenant.get(f"{BASE}/{poll['id']}/results")).json()
    assert result["ballots"] == 3
    assert result["questions"][4]["answered"] == 3
    assert result["questions"][4]["texts"] == 2
    queue = (await tenant.get(f"{BASE}/{poll['id']}/texts", params={"status": "held"})).json()["items"]
    assert [t["text"] for t in queue] == ["buy spam now"]
    assert queue[0]["findings"][0]["category"] == "ad"
    csv = (await tenant.get(f"{BASE}/{poll['id']}/ballots/csv")).text
    assert "spam" not in csv
    assert "Lovely" in csv
    listed = (await tenant.get(f"{BASE}/{poll['id']}/ballots", params={"member_id": first})).json()["items"]
    assert listed[0]["answers"][-1] == {
        "question_id": poll["questions"][4]["id"],
        "option_ids": [],
        "score": None,
        "text": None,
        "text_status": "held",
    }

    review = f"{BASE}/{poll['id']}/texts/{queue[0]['answer_id']}/review"
    released = await tenant.post(review, {"decision": "release"})
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "visible"
    assert (await tenant.post(review, {"decision": "release"})).status_code == 200  # again: nothing to do
    removed = (await tenant.post(review, {"decision": "remove"})).json()
    assert (removed["status"], removed["text"]) == ("removed", None)
    assert (await tenant.get(f"{BASE}/{poll['id']}/results")).json()["questions"][4]["texts"] == 2
    problem(await tenant.post(review, {"decision": "release"}), 409, "conflict")
    problem(await tenant.post(f"{BASE}/{poll['id']}/texts/{2**40}/review", {"decision": "remove"}), 404, "not-found")
    problem(await tenant.post(review, {"decision": "delete"}), 422, "validation-error")
