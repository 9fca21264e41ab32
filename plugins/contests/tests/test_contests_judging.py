"""Judging and results: rubric checks, secrecy of other judges' scores until results, the ranking on a
known set (weights, normalisation, the tie rule), reproducible from the export, and awards (points
when installed, a tag, winners told only through the consent door)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from contests_helpers import BASE, move, voting_contest
from scrm.testing import problem
from scrm_contests.cli import contests as contests_cli
from scrm_contests.ranking import rank
from scrm_contests.schemas import Criterion

RUBRIC = [Criterion("Creativity", 2, 10), Criterion("Technique", 1, 5)]


def test_the_ranking_of_a_known_set() -> None:
    subs = [
        {"id": 1, "member_id": 11, "title": "a", "votes": 10},
        {"id": 2, "member_id": 12, "title": "b", "votes": 5},
        {"id": 3, "member_id": 13, "title": "c", "votes": 0},
        {"id": 4, "member_id": 14, "title": "d", "votes": 5},
    ]
    scores = [
        {"submission_id": 1, "marks": {"Creativity": 5, "Technique": 5}},  # (2·0.5 + 1·1)/3 = 2/3
        {"submission_id": 2, "marks": {"Creativity": 10, "Technique": 5}},  # 1
        {"submission_id": 2, "marks": {"Creativity": 10, "Technique": 0}},  # 2/3 → mean 5/6
        {"submission_id": 3, "marks": {"Creativity": 10, "Technique": 5}},  # 1
        {"submission_id": 4, "marks": {"Creativity": 10, "Technique": 5}},  # 1
    ]
    ranked = rank(RUBRIC, Fraction(1, 2), subs, scores)
    # finals: 1 → 1/3 + 1/2 = 5/6; 2 → 5/12 + 1/4 = 2/3; 3 → 1/2; 4 → 1/2 + 1/4 = 3/4
    assert [(r.submission_id, r.final) for r in ranked] == [(1, 0.833333), (4, 0.75), (2, 0.666667), (3, 0.5)]
    assert [r.rank for r in ranked] == [1, 2, 3, 4]
    assert ranked[2].judges == 2
    assert ranked[2].judge_score == 0.833333
    # ties: equal finals fall to the judge score, then votes, then the earlier entry
    tied = rank(RUBRIC, Fraction(1), [dict(s, votes=0) for s in subs[2:]], scores)
    assert [r.submission_id for r in tied] == [3, 4]
    only_votes = rank(RUBRIC, Fraction(0), subs, [])
    assert [r.submission_id for r in only_votes] == [1, 2, 4, 3]
    assert rank(RUBRIC, Fraction(1, 2), [], []) == []


async def test_judging_to_awards(tenant: Any, tmp_path: Path) -> None:
    await tenant.enable("points")
    contest, subs = await voting_contest(tenant, 3, award_points=[300, 100], award_tag="contest-winner")
    cid = contest["id"]
    voters = [await tenant.member(display_name=f"V{i}") for i in range(3)]
    for i, voter in enumerate(voters):
        target = subs[0] if i < 2 else subs[1]
        answer = await tenant.post(f"{BASE}/{cid}/submissions/{target['id']}/votes", {"member_id": voter["id"]})
        assert answer.status_code == 201, answer.text
    await move(tenant, cid, "judging")
    alice, bob = await tenant.new_key("contests:judge"), await tenant.new_key("contests:judge")
    score = f"{BASE}/{cid}/submissions/{{}}/score"
    bad = await tenant.post(score.format(subs[0]["id"]), {"marks": {"Creativity": 11, "Style": 1}}, key=alice)
    fields = {e["field"] for e in problem(bad, 422, "validation-error")["errors"]}
    assert fields == {"marks.Creativity", "marks.Style", "marks.Technique"}
    marks = {
        alice: [(0, 4, 2), (1, 10, 5), (2, 6, 3)],
        bob: [(0, 6, 3), (1, 8, 4), (2, 10, 5)],
    }
    for key, given in marks.items():
        for index, creativity, technique in given:
            answer = await tenant.post(
                score.format(subs[index]["id"]), {"marks": {"Creativity": creativity, "Technique": technique}}, key=key
            )
            assert answer.status_code == 200, answer.text
    mine = (await tenant.get(f"{BASE}/{cid}/scores", key=alice)).json()
    assert {s["judge"] for s in mine} == {mine[0]["judge"]}  # alice sees only her own before results
    assert len(mine) == 3
    reader = await tenant.new_key("contests:read")
    problem(await tenant.get(f"{BASE}/{cid}/scores", key=reader), 403, "missing-scope")
    problem(await tenant.post(f"{BASE}/{cid}/awards"), 409, "contests-wrong-phase")
    await move(tenant, cid, "results")
    everyone = (await tenant.get(f"{BASE}/{cid}/scores", key=alice)).json()
    assert len(everyone) == 6
    results = (await tenant.get(f"{BASE}/{cid}/results")).json()
    # judges: s0 (0.4+0.6)/2 = 0.5, s1 0.9, s2 0.8; votes 2, 1, 0 → shares 1, 0.5, 0
    assert [(r["submission_id"], r["final"]) for r in results["ranking"]] == [
        (subs[0]["id"], 0.75),
        (subs[1]["id"], 0.7),
        (subs[2]["id"], 0.4),
    ]
    export = await tenant.get(f"{BASE}/{cid}/export")
    assert export.status_code == 200
    runner = CliRunner()
    (tmp_path / "export.json").write_bytes(export.content)
    checked = runner.invoke(contests_cli, ["rank", str(tmp_path / "export.json")])
    assert checked.exit_code == 0, checked.output
    assert "OK: 3 entries ranked as published" in checked.output
    tampered = json.loads(export.content)
    tampered["submissions"][2]["votes"] = 50
    (tmp_path / "tampered.json").write_text(json.dumps(tampered))
    assert runner.invoke(contests_cli, ["rank", str(tmp_path / "tampered.json")]).exit_code == 1
    # awards: points and the tag to the first two places; only the contactable are told
    first = subs[0]["member_id"]
    await tenant.post("/api/v1/consents", {"member_id": first, "purpose": "marketing.wecom", "status": "granted"})
    awarded = (await tenant.post(f"{BASE}/{cid}/awards")).json()
    assert [(a["rank"], a["member_id"], a["points"]) for a in awarded] == [
        (1, first, 300),
        (2, subs[1]["member_id"], 100),
    ]
    assert [a["contactable"] for a in awarded] == [True, False]
    again = (await tenant.post(f"{BASE}/{cid}/awards")).json()
    assert [a["points"] for a in again] == [300, 100]
    balance = (await tenant.get(f"/api/v1/points/members/{first}")).json()
    assert balance["balance"] == 300
    assert "contest-winner" in (await tenant.get(f"/api/v1/members/{first}")).json()["tags"]
    told = [e["type"] for e in (await tenant.get(f"/api/v1/members/{first}/events")).json()["items"]]
    assert told.count("contests.notify") == 1


async def test_awards_without_points(tenant: Any) -> None:
    contest, subs = await voting_contest(tenant, 1, award_points=[300], award_tag="winner", judge_weight=0.0, rubric=[])
    await move(tenant, contest["id"], "results")
    awarded = (await tenant.post(f"{BASE}/{contest['id']}/awards")).json()
    assert [(a["rank"], a["points"]) for a in awarded] == [(1, 0)]  # points is not enabled here
    assert "winner" in (await tenant.get(f"/api/v1/members/{subs[0]['member_id']}")).json()["tags"]
