"""Public votes: per-member limits enforced by the database under concurrency (100 concurrent votes
of one member), votes only for approved entries, fraud signals, and voiding that changes the count."""

from __future__ import annotations

import asyncio
from typing import Any

from contests_helpers import BASE, voting_contest
from scrm.testing import mixed_crowd, problem


async def test_a_hundred_concurrent_votes_of_one_member_respect_every_limit(tenant: Any) -> None:
    contest, subs = await voting_contest(tenant, 3, votes_per_member=7, votes_per_submission=3, votes_per_day=50)
    voter = await tenant.member(display_name="Voter")
    answers = await asyncio.gather(
        *(
            tenant.post(f"{BASE}/{contest['id']}/submissions/{subs[i % 3]['id']}/votes", {"member_id": voter["id"]})
            for i in range(100)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 7 + [409] * 93, {a.text for a in answers if a.status_code not in (201, 409)}
    refused = {a.json()["bucket"] for a in answers if a.status_code == 409}
    assert refused <= {"votes", "sub"}
    listed = (await tenant.get(f"{BASE}/{contest['id']}/submissions", params={"status": "approved"})).json()["items"]
    counts = sorted(s["votes"] for s in listed)
    assert sum(counts) == 7
    assert max(counts) <= 3
    votes = (await tenant.get(f"{BASE}/{contest['id']}/votes", params={"member_id": voter["id"], "limit": 100})).json()
    assert len(votes["items"]) == 7


async def test_the_daily_limit_and_one_vote_per_entry(tenant: Any) -> None:
    contest, subs = await voting_contest(tenant, 3, votes_per_day=2)
    voter = await tenant.member(display_name="Voter")
    url = f"{BASE}/{contest['id']}/submissions/{{}}/votes"
    assert (await tenant.post(url.format(subs[0]["id"]), {"member_id": voter["id"]})).status_code == 201
    limited = problem(
        await tenant.post(url.format(subs[0]["id"]), {"member_id": voter["id"]}), 409, "contests-vote-limit"
    )
    assert limited["bucket"] == "sub"
    assert (await tenant.post(url.format(subs[1]["id"]), {"member_id": voter["id"]})).status_code == 201
    daily = problem(
        await tenant.post(url.format(subs[2]["id"]), {"member_id": voter["id"]}), 409, "contests-vote-limit"
    )
    assert daily["bucket"] == "day"
    problem(await tenant.post(url.format(999_999_999), {"member_id": voter["id"]}), 409, "contests-not-votable")
    problem(await tenant.post(url.format(subs[0]["id"]), {"member_id": 999_999_999}), 422, "validation-error")
    problem(await tenant.post(url.format(subs[0]["id"]), {}), 422, "validation-error")


async def test_fraud_signals_are_recorded_and_votes_voided(tenant: Any) -> None:
    contest, subs = await voting_contest(tenant, 2)
    cid = contest["id"]
    url = f"{BASE}/{cid}/submissions/{subs[0]['id']}/votes"
    voters = [await tenant.member(display_name=f"New {i}") for i in range(4)]
    cast = []
    for v in voters:
        answer = await tenant.post(url, {"member_id": v["id"], "source": "203.0.113.9", "device": "dev-1"})
        assert answer.status_code == 201, answer.text
        cast.append(answer.json())
    assert all("new-member" in c["signals"] for c in cast)  # every member here joined just now
    assert "shared-device" in cast[2]["signals"]
    assert "shared-device" not in cast[1]["signals"]
    signals = (await tenant.get(f"{BASE}/{cid}/signals", params={"limit": 100})).json()["items"]
    assert {s["kind"] for s in signals} == {"new-member", "shared-device"}
    only = (await tenant.get(f"{BASE}/{cid}/signals", params={"kind": "shared-device"})).json()["items"]
    assert {s["vote_id"] for s in only} == {cast[2]["id"], cast[3]["id"]}
    voided = await tenant.post(f"{BASE}/{cid}/votes/void", {"vote_ids": [cast[2]["id"], cast[3]["id"], cast[3]["id"]]})
    assert voided.json() == {"voided": 2}
    assert (await tenant.post(f"{BASE}/{cid}/votes/void", {"vote_ids": [cast[2]["id"]]})).json() == {"voided": 0}
    entry = (await tenant.get(f"{BASE}/{cid}/submissions/{subs[0]['id']}")).json()
    assert entry["votes"] == 2
    after = (await tenant.get(f"{BASE}/{cid}/signals", params={"kind": "shared-device"})).json()["items"]
    assert all(s["voided"] for s in after)
    problem(await tenant.post(f"{BASE}/{cid}/votes/void", {"vote_ids": []}), 422, "validation-error")


async def test_votes_for_entries_not_approved_are_refused(tenant: Any) -> None:
    contest, subs = await voting_contest(tenant, 1)
    moderation = f"{BASE}/{contest['id']}/submissions/{subs[0]['id']}/moderation"
    assert (await tenant.post(moderation, {"decision": "reject", "reason": "Off topic"})).status_code == 200
    voter = await tenant.member(display_name="Voter")
    url = f"{BASE}/{contest['id']}/submissions/{subs[0]['id']}/votes"
    problem(await tenant.post(url, {"member_id": voter["id"]}), 409, "contests-not-votable")


async def test_many_members_racing_at_their_limits_get_exactly_their_votes(tenant: Any) -> None:
    """On PostgreSQL these votes are written in shared batches: a vote refused by one counter (the
    member's second vote for an entry) while its others had room must give those back, or the
    member could not reach ``votes_per_member`` with one vote per entry."""
    contest, subs = await voting_contest(tenant, 3, votes_per_member=3, votes_per_submission=1, votes_per_day=50)
    voters = [await tenant.member(display_name=f"Voter {i}") for i in range(8)]
    url = f"{BASE}/{contest['id']}/submissions/{{}}/votes"
    answers = await asyncio.gather(
        *(tenant.post(url.format(subs[i % 3]["id"]), {"member_id": voter["id"]}) for i in range(12) for voter in voters)
    )
    assert sorted(a.status_code for a in answers) == [201] * 24 + [409] * 72, {a.text for a in answers}
    assert {a.json()["type"] for a in answers if a.status_code == 409} == {"urn:scrm:problem:contests-vote-limit"}
    for voter in voters:
        cast = (await tenant.get(f"{BASE}/{contest['id']}/votes", params={"member_id": voter["id"]})).json()["items"]
        assert sorted(v["submission_id"] for v in cast) == sorted(s["id"] for s in subs)
    listed = (await tenant.get(f"{BASE}/{contest['id']}/submissions", params={"status": "approved"})).json()["items"]
    assert [s["votes"] for s in listed] == [8, 8, 8]
    trail = await tenant.get("/api/v1/audit", params={"action": "contestsVote", "limit": 500})
    assert len(trail.json()["items"]) == 24  # a refused vote leaves no record, however it was batched


async def test_votes_racing_the_end_of_voting_are_counted_or_refused_whole(tenant: Any) -> None:
    contest, subs = await voting_contest(tenant, 2, votes_per_member=5)
    voters = [await tenant.member(display_name=f"Voter {i}") for i in range(30)]
    url = f"{BASE}/{contest['id']}/submissions/{{}}/votes"
    votes = [tenant.post(url.format(subs[i % 2]["id"]), {"member_id": v["id"]}) for i, v in enumerate(voters)]
    close = tenant.post(f"{BASE}/{contest['id']}/phase", {"phase": "judging"})
    answers = await asyncio.gather(*votes[:15], close, *votes[15:])
    closed = answers.pop(15)
    assert closed.status_code == 200, closed.text
    taken = [a for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code != 201]
    assert all(a.status_code == 409 and a.json()["type"].endswith("contests-wrong-phase") for a in refused)
    stored = (await tenant.get(f"{BASE}/{contest['id']}/votes", params={"limit": 100})).json()["items"]
    assert sorted(v["id"] for v in stored) == sorted(a.json()["id"] for a in taken)
    entries = (await tenant.get(f"{BASE}/{contest['id']}/submissions", params={"status": "approved"})).json()
    assert sum(s["votes"] for s in entries["items"]) == len(taken)


async def test_votes_cast_at_once_raise_the_signals_they_would_one_by_one(tenant: Any) -> None:
    """New members voting together from one address: every vote is a ``new-member`` one, the 10th
    and later for the entry a ``burst-of-new-members``, the 20th and later from the address a
    ``shared-source`` — counted in the order the votes were stored, however they were batched. A
    refused vote in the same moment (an entry not approved, a member not of this workspace) is
    refused on its own."""
    contest, subs = await voting_contest(tenant, 2)
    moderation = f"{BASE}/{contest['id']}/submissions/{subs[1]['id']}/moderation"
    assert (await tenant.post(moderation, {"decision": "reject", "reason": "Off topic"})).status_code == 200
    voters = [await tenant.member(display_name=f"New {i}") for i in range(22)]
    url = f"{BASE}/{contest['id']}/submissions/{{}}/votes"
    body = {"source": "198.51.100.7"}
    answers = await asyncio.gather(
        *(tenant.post(url.format(subs[0]["id"]), {**body, "member_id": v["id"]}) for v in voters),
        tenant.post(url.format(subs[1]["id"]), {**body, "member_id": voters[0]["id"]}),
        tenant.post(url.format(subs[0]["id"]), {**body, "member_id": 999_999_999}),
    )
    *cast, rejected, stranger = answers
    problem(rejected, 409, "contests-not-votable")
    problem(stranger, 422, "validation-error")
    assert all(a.status_code == 201 for a in cast), {a.text for a in cast}
    by_id = sorted((a.json() for a in cast), key=lambda v: v["id"])
    assert [v["signals"] for v in by_id] == (
        [["new-member"]] * 9
        + [["new-member", "burst-of-new-members"]] * 10
        + [["new-member", "burst-of-new-members", "shared-source"]] * 3
    )
    signals = (await tenant.get(f"{BASE}/{contest['id']}/signals", params={"limit": 100})).json()["items"]
    assert len(signals) == 22 + 13 + 3
    entry = (await tenant.get(f"{BASE}/{contest['id']}/submissions/{subs[0]['id']}")).json()
    assert entry["votes"] == 22


async def test_votes_at_once_get_their_own_member_problems(tenant: Any, other: Any) -> None:
    """A vote's member is read by its batch (on PostgreSQL) or on its own; either way a member
    unknown, of another workspace or not active is the vote's own 422 naming the field, and a member
    named by id and by external id at once has both votes counted against one set of limits."""
    contest, subs = await voting_contest(tenant, 1, votes_per_submission=1)
    url = f"{BASE}/{contest['id']}/submissions/{subs[0]['id']}/votes"
    fit, bodies = await mixed_crowd(tenant, other)
    answers = await asyncio.gather(*(tenant.post(url, body) for body in bodies))
    codes = [a.status_code for a in answers]
    assert codes[1:10] + codes[11:] == [201] * 9 + [422] * 3, {a.text for a in answers}
    assert sorted([codes[0], codes[10]]) == [201, 409], codes
    assert problem(answers[10] if codes[10] == 409 else answers[0], 409, "contests-vote-limit")["bucket"] == "sub"
    fields = [a.json()["errors"][0]["field"] for a in answers[11:]]
    assert fields == ["external_id", "member_id", "member_id"]
    assert "blocked" in answers[-1].json()["errors"][0]["message"]
    assert {a.json()["member_id"] for a in answers[:11] if a.status_code == 201} == {m["id"] for m in fit}
    entry = (await tenant.get(f"{BASE}/{contest['id']}/submissions/{subs[0]['id']}")).json()
    assert entry["votes"] == 10
