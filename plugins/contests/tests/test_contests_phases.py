"""Phases: enforced by the server, moved early by an operator, moved by the dates, every change
recorded; what may change in each phase."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from contests_helpers import BASE, create, entry, image, iso, move, submitted
from scrm.testing import problem


async def test_each_action_waits_for_its_phase(tenant: Any) -> None:
    contest = await create(tenant)
    cid = contest["id"]
    assert contest["phase"] == "draft"
    member = await tenant.member(display_name="Ann")
    url = f"{BASE}/{cid}/submissions"
    problem(await tenant.post(url, entry(member["id"], "Early", ("a.png", image()))), 409, "contests-wrong-phase")
    await move(tenant, cid, "submission")
    sub = await submitted(tenant, cid, member["id"])
    vote = f"{url}/{sub['id']}/votes"
    problem(await tenant.post(vote, {"member_id": member["id"]}), 409, "contests-wrong-phase")
    score = f"{url}/{sub['id']}/score"
    problem(await tenant.post(score, {"marks": {"Creativity": 5, "Technique": 3}}), 409, "contests-wrong-phase")
    problem(await tenant.get(f"{BASE}/{cid}/results"), 409, "contests-wrong-phase")
    await move(tenant, cid, "voting")
    assert (await tenant.post(vote, {"member_id": member["id"]})).status_code == 201
    problem(await tenant.post(url, entry(member["id"], "Late", ("a.png", image()))), 409, "contests-wrong-phase")
    await move(tenant, cid, "judging")
    problem(await tenant.post(vote, {"member_id": member["id"]}), 409, "contests-wrong-phase")
    assert (await tenant.post(score, {"marks": {"Creativity": 5, "Technique": 3}})).status_code == 200
    await move(tenant, cid, "results")
    problem(await tenant.post(score, {"marks": {"Creativity": 1, "Technique": 1}}), 409, "contests-wrong-phase")
    # never backwards, nothing after results
    problem(await tenant.post(f"{BASE}/{cid}/phase", {"phase": "voting"}), 409, "contests-wrong-phase")
    problem(await tenant.post(f"{BASE}/{cid}/phase", {"phase": "cancelled"}), 409, "contests-wrong-phase")
    history = (await tenant.get(f"{BASE}/{cid}/phases")).json()
    assert [(h["from_phase"], h["to_phase"], h["cause"]) for h in history] == [
        ("draft", "submission", "operator"),
        ("submission", "voting", "operator"),
        ("voting", "judging", "operator"),
        ("judging", "results", "operator"),
    ]


async def test_dates_move_the_phase_and_say_so(tenant: Any) -> None:
    contest = await create(tenant)
    cid = contest["id"]
    await move(tenant, cid, "submission")
    changed = await tenant.patch(
        f"{BASE}/{cid}",
        {
            "submission_closes_at": iso(timedelta(minutes=-3)),
            "voting_opens_at": iso(timedelta(minutes=-2)),
            "voting_closes_at": iso(timedelta(hours=1)),
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["phase"] == "voting"
    history = (await tenant.get(f"{BASE}/{cid}/phases")).json()
    assert [(h["to_phase"], h["cause"]) for h in history] == [
        ("submission", "operator"),
        ("moderation", "schedule"),
        ("voting", "schedule"),
    ]


async def test_what_may_change_when(tenant: Any) -> None:
    contest = await create(tenant)
    cid = contest["id"]
    assert (await tenant.patch(f"{BASE}/{cid}", {"judge_weight": 0.8})).json()["judge_weight"] == 0.8
    await move(tenant, cid, "submission")
    locked = problem(
        await tenant.patch(f"{BASE}/{cid}", {"judge_weight": 0.2, "name": "x"}), 409, "contests-contest-locked"
    )
    assert [e["field"] for e in locked["errors"]] == ["judge_weight"]
    assert (await tenant.patch(f"{BASE}/{cid}", {"name": "Renamed"})).json()["name"] == "Renamed"
    # dates out of order, duplicate criteria, unknown purpose: one 422 naming each
    bad = await tenant.post(
        BASE,
        {
            "name": "Bad",
            "submission_closes_at": iso(timedelta(hours=2)),
            "voting_opens_at": iso(timedelta(hours=1)),
            "voting_closes_at": iso(timedelta(minutes=30)),
            "rubric": [{"name": "A"}, {"name": "A"}],
            "notify_purpose": "no.such",
        },
    )
    fields = {e["field"] for e in problem(bad, 422, "validation-error")["errors"]}
    assert {"voting_opens_at", "voting_closes_at", "rubric", "notify_purpose"} <= fields


async def test_cancelling(tenant: Any) -> None:
    contest = await create(tenant)
    await move(tenant, contest["id"], "submission")
    cancelled = await move(tenant, contest["id"], "cancelled")
    assert cancelled["phase"] == "cancelled"
    problem(await tenant.post(f"{BASE}/{contest['id']}/phase", {"phase": "voting"}), 409, "contests-wrong-phase")
    listed = (await tenant.get(BASE, params={"phase": "cancelled"})).json()["items"]
    assert [c["id"] for c in listed] == [contest["id"]]
