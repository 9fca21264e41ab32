"""Data-subject hooks (export, erasure), the points reward, deleting a workspace, and the demo seed."""

from __future__ import annotations

from typing import Any

from polls_helpers import BASE, members, opened, survey, vote
from scrm import Kernel
from scrm.testing import problem
from scrm_polls import demo, tally


async def test_export_holds_the_members_ballots(tenant: Any) -> None:
    poll = await opened(tenant)
    member = await tenant.member(display_name="Exported")
    await vote(tenant, poll, member["id"], text="Nice place")
    exported = (await tenant.get(f"/api/v1/members/{member['id']}/export")).json()
    mine = exported["plugins"]["polls"]["ballots"]
    assert [b["poll_id"] for b in mine] == [poll["id"]]
    said = {a["question"]: a["answer"] for a in mine[0]["answers"]}
    assert said["Favourite drink?"] == "Latte"
    assert said["Anything else?"] == "Nice place"
    stranger = await tenant.member(display_name="Nobody")
    assert (await tenant.get(f"/api/v1/members/{stranger['id']}/export")).json()["plugins"].get("polls") is None


async def test_erasure_removes_attributed_answers_and_free_text(tenant: Any, kernel: Kernel) -> None:
    attributed = await opened(tenant)
    anonymous = await opened(tenant, survey(anonymous=True))
    erased, kept = await members(tenant, 2, tags=["vip"])
    for poll in (attributed, anonymous):
        await vote(tenant, poll, erased, text="my secret words", nps=0)
        await vote(tenant, poll, kept, text="stays", nps=10)
    assert (await tenant.delete(f"/api/v1/members/{erased}")).status_code in (200, 204)

    result = (await tenant.get(f"{BASE}/{attributed['id']}/results")).json()
    assert result["ballots"] == 1
    assert result["questions"][3]["nps"]["score"] == 100.0
    ws = await kernel.workspaces.ref(tenant.slug)
    assert await tally.read(kernel, ws, attributed["id"]) == await tally.aggregate(kernel, ws, attributed["id"])
    assert [b["member_id"] for b in (await tenant.get(f"{BASE}/{attributed['id']}/ballots")).json()["items"]] == [kept]

    result = (await tenant.get(f"{BASE}/{anonymous['id']}/results")).json()
    assert result["ballots"] == 2  # anonymous choices stay, unlinked
    assert result["questions"][3]["nps"]["detractors"] == 1
    texts = (await tenant.get(f"{BASE}/{anonymous['id']}/texts")).json()["items"]
    assert sorted((t["text"] or "", t["status"]) for t in texts) == [("", "removed"), ("stays", "visible")]
    leftover = await kernel.sql.fetch(
        "SELECT COUNT(*) AS n FROM polls_answer WHERE workspace = {} AND text LIKE '%secret%'", ws.id
    )
    assert leftover[0]["n"] == 0
    assert (
        await kernel.sql.fetch("SELECT id FROM polls_ballot WHERE workspace = {} AND member_id = {}", ws.id, erased)
        == []
    )
    assert (await tenant.get(f"/api/v1/members/{erased}/export")).status_code in (200, 404, 409)


async def test_a_ballot_earns_the_reward_once(tenant: Any) -> None:
    await tenant.enable("points")
    poll = await opened(tenant, survey(points_reward=15))
    member = await tenant.member(display_name="Rewarded")
    ballot = await vote(tenant, poll, member["id"])
    assert ballot["points_awarded"] == 15
    assert (await tenant.get(f"/api/v1/points/members/{member['id']}")).json()["balance"] == 15
    again = {"member_id": member["id"], "answers": []}
    problem(
        await tenant.post(f"{BASE}/{poll['id']}/ballots", again | {"answers": ballot_answers(poll)}),
        409,
        "polls-already-voted",
    )
    assert (await tenant.get(f"/api/v1/points/members/{member['id']}")).json()["balance"] == 15
    # points switched off later: ballots still count, without a reward
    await tenant.post("/api/v1/plugins", {"name": "points", "enabled": False})
    other = await tenant.member(display_name="Unrewarded")
    assert (await vote(tenant, poll, other["id"]))["points_awarded"] == 0


def ballot_answers(poll: dict[str, Any]) -> list[dict[str, Any]]:
    from polls_helpers import answers

    return answers(poll)


async def test_a_reward_needs_points(tenant: Any) -> None:
    await tenant.enable("polls")
    body = problem(await tenant.post(BASE, survey(points_reward=5)), 422, "validation-error")
    assert body["errors"][0]["field"] == "points_reward"


async def test_deleting_a_workspace_deletes_its_polls(tenant: Any, kernel: Kernel) -> None:
    poll = await opened(tenant)
    await vote(tenant, poll, (await tenant.member(display_name="Gone", tags=["x"]))["id"])
    ws = await kernel.workspaces.ref(tenant.slug)
    await kernel.workspaces.delete(tenant.slug)
    for table in (
        "polls_poll",
        "polls_question",
        "polls_option",
        "polls_ballot",
        "polls_answer",
        "polls_tally",
        "polls_ballot_tag",
    ):
        assert await kernel.sql.fetch(f"SELECT id FROM {table} WHERE workspace = {{}}", ws.id) == []


async def test_the_demo_seeds_a_survey_and_a_vote_once(tenant: Any, kernel: Kernel) -> None:
    await tenant.enable("polls")
    assert (await tenant.post("/api/v1/tags", {"name": "fan", "group": "interest"})).status_code == 201
    ids = await members(tenant, 20, tags=["fan"])
    ws = await kernel.workspaces.ref(tenant.slug)
    await demo.seed(kernel, ws, ids)
    await demo.seed(kernel, ws, ids)
    polls = (await tenant.get(BASE)).json()["items"]
    assert sorted(p["state"] for p in polls) == ["closed", "open"]
    survey_poll = next(p for p in polls if p["state"] == "closed")
    result = (await tenant.get(f"{BASE}/{survey_poll['id']}/results")).json()
    assert result["ballots"] == 20
    assert (
        result["questions"][0]["nps"]["promoters"]
        + result["questions"][0]["nps"]["passives"]
        + result["questions"][0]["nps"]["detractors"]
        == 20
    )
    assert await tally.read(kernel, ws, survey_poll["id"]) == await tally.aggregate(kernel, ws, survey_poll["id"])
    split = (await tenant.get(f"{BASE}/{survey_poll['id']}/results/breakdown", params={"group": "interest"})).json()
    assert [(s["tag"], s["ballots"]) for s in split["segments"]] == [("fan", 20)]
