"""Results: counts and percentages, the mean of ratings, NPS on a known ballot set, breakdowns by a
tag group, the CSV exports, and the counts agreeing with the answers themselves."""

from __future__ import annotations

import csv
import io
from typing import Any

from polls_helpers import BASE, answers, members, opened, survey, vote
from scrm import Kernel
from scrm.testing import problem
from scrm_polls import tally
from scrm_polls.results import nps


def test_nps_math() -> None:
    # 5 promoters (9, 10), 3 passives (7, 8), 2 detractors (0–6) of 10: 50% − 20% = 30
    result = nps({10: 3, 9: 2, 8: 2, 7: 1, 6: 1, 0: 1})
    assert (result.promoters, result.passives, result.detractors) == (5, 3, 2)
    assert (result.promoters_percent, result.passives_percent, result.detractors_percent) == (50.0, 30.0, 20.0)
    assert result.score == 30.0
    assert nps({0: 4}).score == -100.0
    assert nps({}).score == 0.0
    assert nps({9: 1, 5: 2}).score == -33.3


async def test_results_of_a_known_ballot_set(tenant: Any, kernel: Kernel) -> None:
    poll = await opened(tenant)
    ids = await members(tenant, 10)
    scores = [10, 10, 10, 9, 9, 8, 8, 7, 6, 0]
    for i, (member_id, score) in enumerate(zip(ids, scores, strict=True)):
        await vote(
            tenant,
            poll,
            member_id,
            single=0 if i < 6 else 1,
            multiple=(0, 1) if i < 3 else (2,),
            rating=i % 5 + 1,
            nps=score,
        )
    result = (await tenant.get(f"{BASE}/{poll['id']}/results")).json()
    assert result["ballots"] == 10
    single, multiple, rating, promoter, text = result["questions"]
    assert [(o["label"], o["count"], o["percent"]) for o in single["options"]] == [
        ("Latte", 6, 60.0),
        ("Tea", 4, 40.0),
        ("Juice", 0, 0.0),
    ]
    assert [o["count"] for o in multiple["options"]] == [3, 3, 7, 0]
    assert [o["percent"] for o in multiple["options"]] == [30.0, 30.0, 70.0, 0.0]
    assert [s["count"] for s in rating["scores"]] == [2, 2, 2, 2, 2]
    assert rating["mean"] == 3.0
    assert promoter["nps"] == {
        "score": 30.0,
        "promoters": 5,
        "passives": 3,
        "detractors": 2,
        "promoters_percent": 50.0,
        "passives_percent": 30.0,
        "detractors_percent": 20.0,
    }
    assert promoter["mean"] == 7.7
    assert (text["answered"], text["texts"]) == (0, 0)
    ws = await kernel.workspaces.ref(tenant.slug)
    assert await tally.read(kernel, ws, poll["id"]) == await tally.aggregate(kernel, ws, poll["id"])

    exported = await tenant.get(f"{BASE}/{poll['id']}/results/csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0] == ["question", "kind", "title", "answer", "count", "percent"]
    assert ["1", "single", "Favourite drink?", "Latte", "6", "60.0"] in rows
    assert ["4", "nps", "Recommend us?", "nps", "30.0", ""] in rows


async def test_breakdown_by_a_tag_group(tenant: Any) -> None:
    poll = await opened(tenant)
    for name in ("shanghai", "beijing", "shenzhen"):
        assert (await tenant.post("/api/v1/tags", {"name": name, "group": "city"})).status_code == 201
    sh = await members(tenant, 3, tags=["shanghai"])
    bj = await members(tenant, 2, tags=["beijing", "vip"])
    nowhere = await members(tenant, 1)
    for m in sh:
        await vote(tenant, poll, m, nps=10)
    for m in bj:
        await vote(tenant, poll, m, nps=3)
    await vote(tenant, poll, nowhere[0], nps=8)
    # tags changed after voting do not move a ballot between segments
    await tenant.post(f"/api/v1/members/{sh[0]}/tags", {"add": ["beijing"], "remove": ["shanghai"]})
    result = (await tenant.get(f"{BASE}/{poll['id']}/results/breakdown", params={"group": "city"})).json()
    assert result["ballots"] == 6
    segments = {s["tag"]: s for s in result["segments"]}
    assert sorted(segments) == ["beijing", "shanghai", "shenzhen"]
    assert segments["shanghai"]["ballots"] == 3
    assert segments["shanghai"]["questions"][3]["nps"]["score"] == 100.0
    assert segments["beijing"]["questions"][3]["nps"]["score"] == -100.0
    assert segments["beijing"]["questions"][0]["answered"] == 2
    assert segments["shenzhen"]["ballots"] == 0
    none = (await tenant.get(f"{BASE}/{poll['id']}/results/breakdown", params={"group": "no-such"})).json()
    assert none["segments"] == []
    missing = await tenant.get(f"{BASE}/{poll['id']}/results/breakdown")
    assert missing.status_code in (400, 422)


async def test_ballots_csv_attributed_and_anonymous(tenant: Any) -> None:
    attributed = await opened(tenant)
    anonymous = await opened(tenant, survey(anonymous=True))
    member = await tenant.member(display_name="Csv")
    await vote(tenant, attributed, member["id"], multiple=(0, 1), text="=cmd()")
    await vote(tenant, anonymous, member["id"])
    rows = list(
        csv.reader(io.StringIO((await tenant.get(f"{BASE}/{attributed['id']}/ballots/csv")).text.lstrip("\ufeff")))
    )
    assert rows[0][:3] == ["ballot", "member_id", "voted_at"]
    assert rows[1][1] == str(member["id"])
    assert rows[1][3:] == ["Latte", "Cake; Bread", "4", "9", "'=cmd()"]
    rows = list(
        csv.reader(io.StringIO((await tenant.get(f"{BASE}/{anonymous['id']}/ballots/csv")).text.lstrip("\ufeff")))
    )
    assert rows[0][:2] == ["ballot", "voted_at"]
    assert str(member["id"]) not in [rows[1][0], *rows[1][2:]]
    listed = (await tenant.get(f"{BASE}/{anonymous['id']}/ballots")).json()["items"]
    assert [b["member_id"] for b in listed] == [None]
    problem(
        await tenant.get(f"{BASE}/{anonymous['id']}/ballots", params={"member_id": member["id"]}),
        409,
        "polls-anonymous",
    )
    assert answers  # the helper module is shared
