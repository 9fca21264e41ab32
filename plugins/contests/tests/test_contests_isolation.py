"""Every route against another workspace's contest (404, nothing changed), bad input on every route
(a 4xx problem document, never a 500), scopes, and the API answering only where the plugin is on."""

from __future__ import annotations

from typing import Any

import pytest
from contests_helpers import BASE, contest_body, entry, image, move, voting_contest
from litestar import Litestar
from scrm.testing import problem

#: (method, route path as the app declares it) → the call against workspace A's objects
ROUTES = {
    ("POST", "/api/v1/contests/contests"),
    ("GET", "/api/v1/contests/contests"),
    ("GET", "/api/v1/contests/contests/{contest_id:int}"),
    ("PATCH", "/api/v1/contests/contests/{contest_id:int}"),
    ("POST", "/api/v1/contests/contests/{contest_id:int}/phase"),
    ("GET", "/api/v1/contests/contests/{contest_id:int}/phases"),
    ("POST", "/api/v1/contests/contests/{contest_id:int}/submissions"),
    ("GET", "/api/v1/contests/contests/{contest_id:int}/submissions"),
    ("GET", "/api/v1/contests/contests/{contest_id:int}/submissions/{submission_id:int}"),
    ("POST", "/api/v1/contests/contests/{contest_id:int}/submissions/{submission_id:int}/moderation"),
    ("POST", "/api/v1/contests/contests/{contest_id:int}/submissions/{submission_id:int}/votes"),
    ("GET", "/api/v1/contests/contests/{contest_id:int}/votes"),
    ("POST", "/api/v1/contests/contests/{contest_id:int}/votes/void"),
    ("GET", "/api/v1/contests/contests/{contest_id:int}/signals"),
    ("POST", "/api/v1/contests/contests/{contest_id:int}/submissions/{submission_id:int}/score"),
    ("GET", "/api/v1/contests/contests/{contest_id:int}/scores"),
    ("GET", "/api/v1/contests/contests/{contest_id:int}/results"),
    ("GET", "/api/v1/contests/contests/{contest_id:int}/export"),
    ("POST", "/api/v1/contests/contests/{contest_id:int}/awards"),
    ("GET", "/api/v1/contests/contests/{contest_id:int}/awards"),
    ("GET", "/api/v1/contests/media/{token:str}"),
    ("HEAD", "/api/v1/contests/media/{token:str}"),
}


def test_every_route_is_covered_here(app: Litestar) -> None:
    found = set()
    for route in app.routes:
        if route.path.startswith("/api/v1/contests/"):
            for handler in route.route_handlers:  # type: ignore[union-attr]
                found |= {(m, route.path) for m in handler.http_methods if m != "OPTIONS"}
    assert found == ROUTES


async def test_contests_never_cross_workspaces(tenant: Any, other: Any) -> None:
    contest, subs = await voting_contest(tenant, 1)
    cid, sid = contest["id"], subs[0]["id"]
    await other.enable("contests")
    theirs = await other.member(display_name="Other")
    url = f"{BASE}/{cid}"
    cases: list[tuple[str, str, Any]] = [
        ("get", url, None),
        ("patch", url, {"name": "Stolen"}),
        ("post", f"{url}/phase", {"phase": "cancelled"}),
        ("get", f"{url}/phases", None),
        ("post", f"{url}/submissions", entry(theirs["id"], "Mine", ("a.png", image()))),
        ("get", f"{url}/submissions", None),
        ("get", f"{url}/submissions/{sid}", None),
        ("post", f"{url}/submissions/{sid}/moderation", {"decision": "reject", "reason": "x"}),
        ("post", f"{url}/submissions/{sid}/votes", {"member_id": theirs["id"]}),
        ("get", f"{url}/votes", None),
        ("post", f"{url}/votes/void", {"vote_ids": [1, 2, 3]}),
        ("get", f"{url}/signals", None),
        ("post", f"{url}/submissions/{sid}/score", {"marks": {"Creativity": 1, "Technique": 1}}),
        ("get", f"{url}/scores", None),
        ("get", f"{url}/results", None),
        ("get", f"{url}/export", None),
        ("post", f"{url}/awards", None),
        ("get", f"{url}/awards", None),
    ]
    for method, path, body in cases:
        call = getattr(other, method)
        response = await (call(path, body) if body is not None else call(path))
        problem(response, 404, "not-found")
    assert (await other.get(BASE)).json()["items"] == []
    again = (await tenant.get(url)).json()
    assert (again["name"], again["phase"]) == (contest["name"], "voting")
    entry_now = (await tenant.get(f"{url}/submissions/{sid}")).json()
    assert (entry_now["status"], entry_now["votes"]) == ("approved", 0)
    # B's submission in B's contest naming A's member: A's member is not B's
    mine = await tenant.member(display_name="Mine")
    contest_b = (await other.post(BASE, contest_body())).json()
    await move(other, contest_b["id"], "submission")
    refused = await other.post(f"{BASE}/{contest_b['id']}/submissions", entry(mine["id"], "x", ("a.png", image())))
    problem(refused, 422, "validation-error")


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "", {"name": ""}, 422),
        ("post", "", {"name": "x", "submission_closes_at": "yesterday"}, 422),
        ("post", "", {**contest_body(), "judge_weight": 1.5}, 422),
        ("post", "", {**contest_body(), "rubric": [{"name": "A", "weight": 0}]}, 422),
        ("post", "", {**contest_body(), "unknown": 1}, 422),
        ("get", "?phase=nonsense", None, 422),
        ("get", "?limit=0", None, 422),
        ("get", "?cursor=garbage", None, 400),
        ("get", "/0", None, 422),
        ("get", "/99999999999999999999", None, 422),
        ("get", "/123456789", None, 404),
        ("patch", "/123456789", {"name": "x"}, 404),
        ("post", "/123456789/phase", {"phase": "nowhere"}, 422),
        ("post", "/{cid}/phase", {"phase": "nowhere"}, 422),
        ("post", "/{cid}/submissions", {"title": "x"}, 422),
        (
            "post",
            "/{cid}/submissions",
            {"member_id": 1, "title": "x", "media": [{"filename": "a", "data": "***"}]},
            422,
        ),
        ("get", "/{cid}/submissions?status=odd", None, 422),
        ("get", "/{cid}/submissions?member_id=-1", None, 422),
        ("get", "/{cid}/submissions/123456789", None, 404),
        ("post", "/{cid}/submissions/{sid}/moderation", {"decision": "maybe"}, 422),
        ("post", "/{cid}/submissions/{sid}/votes", {"member_id": 1, "source": "x" * 65}, 422),
        ("post", "/{cid}/votes/void", {"vote_ids": [0]}, 422),
        ("get", "/{cid}/signals?kind=DROP TABLE", None, 422),
        ("post", "/{cid}/submissions/{sid}/score", {"marks": {"A": -1}}, 422),
        ("post", "/{cid}/submissions/{sid}/score", {"marks": "ten"}, 422),
    ],
)
async def test_bad_input_is_a_clear_4xx(tenant: Any, method: str, path: str, body: Any, status: int) -> None:
    contest, subs = await voting_contest(tenant, 1)
    url = BASE + path.format(cid=contest["id"], sid=subs[0]["id"])
    call = getattr(tenant, method)
    response = await (call(url, body) if body is not None else call(url))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_scopes_and_the_plugin_switch(tenant: Any) -> None:
    problem(await tenant.get(BASE), 404, "plugin-not-enabled")
    contest, subs = await voting_contest(tenant, 1)
    url = f"{BASE}/{contest['id']}"
    reader = await tenant.new_key("contests:read")
    writer = await tenant.new_key("contests:write", "contests:read")
    assert (await tenant.get(url, key=reader)).status_code == 200
    problem(await tenant.post(BASE, contest_body(), key=writer), 403, "missing-scope")
    problem(await tenant.post(f"{url}/phase", {"phase": "judging"}, key=writer), 403, "missing-scope")
    problem(await tenant.get(f"{url}/signals", key=writer), 403, "missing-scope")
    voter = await tenant.member(display_name="V")
    assert (
        await tenant.post(f"{url}/submissions/{subs[0]['id']}/votes", {"member_id": voter["id"]}, key=writer)
    ).status_code == 201
    problem(
        await tenant.post(f"{url}/submissions/{subs[0]['id']}/votes", {"member_id": voter["id"]}, key=reader),
        403,
        "missing-scope",
    )
    problem(
        await tenant.post(f"{url}/submissions/{subs[0]['id']}/score", {"marks": {}}, key=writer), 403, "missing-scope"
    )
