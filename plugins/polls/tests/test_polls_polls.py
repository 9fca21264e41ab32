"""Polls themselves: creating with questions (checked), changing a draft, what is locked once live,
states and their transitions, deleting drafts, scopes, and isolation on every route."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from polls_helpers import BASE, answers, create, iso, opened, survey, vote
from scrm.testing import problem


async def test_create_a_poll_with_questions(tenant: Any) -> None:
    await tenant.enable("polls")
    poll = await create(tenant)
    assert poll["state"] == "draft"
    assert not poll["accepting"]
    kinds = [(q["position"], q["kind"], len(q["options"])) for q in poll["questions"]]
    assert kinds == [(0, "single", 3), (1, "multiple", 4), (2, "rating", 0), (3, "nps", 0), (4, "text", 0)]
    assert (poll["questions"][0]["min_choices"], poll["questions"][0]["max_choices"]) == (1, 1)
    assert poll["questions"][4]["max_length"] == 50
    assert (await tenant.get(f"{BASE}/{poll['id']}")).json() == poll
    listed = (await tenant.get(BASE, params={"state": "draft"})).json()["items"]
    assert [p["id"] for p in listed] == [poll["id"]]
    assert (await tenant.get(BASE, params={"state": "open"})).json()["items"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"questions": [{"kind": "single", "title": "Q", "options": ["only one"]}]}, "questions[0].options"),
        ({"questions": [{"kind": "single", "title": "Q", "options": ["a", "A"]}]}, "questions[0].options"),
        ({"questions": [{"kind": "rating", "title": "Q", "options": ["a", "b"]}]}, "questions[0].options"),
        (
            {"questions": [{"kind": "single", "title": "Q", "options": ["a", "b"], "max_choices": 2}]},
            "questions[0].max_choices",
        ),
        (
            {"questions": [{"kind": "multiple", "title": "Q", "options": ["a", "b"], "max_choices": 3}]},
            "questions[0].max_choices",
        ),
        (
            {
                "questions": [
                    {"kind": "multiple", "title": "Q", "options": ["a", "b", "c"], "min_choices": 3, "max_choices": 2}
                ]
            },
            "questions[0].min_choices",
        ),
        ({"questions": [{"kind": "poll", "title": "Q"}]}, "questions[0].kind"),
        ({"questions": [{"kind": "text", "title": ""}]}, "questions[0].title"),
        ({"questions": [{"kind": "text", "title": "Q", "max_length": 5000}]}, "questions[0].max_length"),
        ({"questions": []}, "questions"),
        ({"name": ""}, "name"),
        ({"opens_at": iso(timedelta(hours=2)), "closes_at": iso(timedelta(hours=1))}, "closes_at"),
        ({"opens_at": "2026-01-01T00:00:00"}, "opens_at"),
        ({"tags_required": ["a"], "tags_excluded": ["a"]}, "tags_excluded"),
        ({"consent_purpose": "no.such.purpose"}, "consent_purpose"),
        ({"points_reward": 10}, "points_reward"),
        ({"points_reward": -1}, "points_reward"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_polls_are_refused_naming_the_field(tenant: Any, change: dict[str, Any], field: str) -> None:
    await tenant.enable("polls")
    body = problem(await tenant.post(BASE, survey(**change)), 422, "validation-error")
    assert field in [e["field"] for e in body["errors"]], body
    draft = await create(tenant)
    body = problem(await tenant.patch(f"{BASE}/{draft['id']}", change), 422, "validation-error")
    assert field in [e["field"] for e in body["errors"]], body
    assert (await tenant.get(f"{BASE}/{draft['id']}")).json() == draft


async def test_a_draft_changes_freely_and_a_live_poll_only_its_words_and_end(tenant: Any) -> None:
    await tenant.enable("polls")
    draft = await create(tenant)
    changed = await tenant.patch(
        f"{BASE}/{draft['id']}",
        {"anonymous": True, "questions": [{"kind": "nps", "title": "Recommend?"}, {"kind": "rating", "title": "Rate"}]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["anonymous"] is True
    assert [q["kind"] for q in changed.json()["questions"]] == ["nps", "rating"]
    assert (await tenant.post(f"{BASE}/{draft['id']}/open")).json()["state"] == "open"
    body = problem(await tenant.patch(f"{BASE}/{draft['id']}", {"anonymous": False, "name": "x"}), 409, "polls-locked")
    assert [e["field"] for e in body["errors"]] == ["anonymous"]
    problem(await tenant.patch(f"{BASE}/{draft['id']}", {"closes_at": iso(timedelta(minutes=-1))}), 409, "polls-locked")
    renamed = await tenant.patch(f"{BASE}/{draft['id']}", {"name": "Renamed", "closes_at": iso(timedelta(days=1))})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Renamed"


async def test_states_move_once(tenant: Any) -> None:
    await tenant.enable("polls")
    poll = await create(tenant)
    problem(await tenant.post(f"{BASE}/{poll['id']}/close"), 409, "polls-wrong-state")
    replies = await asyncio.gather(*(tenant.post(f"{BASE}/{poll['id']}/open") for _ in range(5)))
    assert sorted(r.status_code for r in replies) == [200, 409, 409, 409, 409]
    opened_poll = (await tenant.get(f"{BASE}/{poll['id']}")).json()
    assert opened_poll["state"] == "open"
    assert opened_poll["accepting"]
    assert opened_poll["opened_at"]
    problem(await tenant.delete(f"{BASE}/{poll['id']}"), 409, "polls-wrong-state")
    closed = (await tenant.post(f"{BASE}/{poll['id']}/close")).json()
    assert closed["state"] == "closed"
    assert closed["closed_at"]
    problem(await tenant.post(f"{BASE}/{poll['id']}/open"), 409, "polls-wrong-state")
    late = await create(tenant, survey(closes_at=iso(timedelta(days=1))))
    await tenant.patch(
        f"{BASE}/{late['id']}", {"opens_at": iso(timedelta(hours=-3)), "closes_at": iso(timedelta(hours=-2))}
    )
    problem(await tenant.post(f"{BASE}/{late['id']}/open"), 409, "polls-wrong-state")
    draft = await create(tenant)
    assert (await tenant.delete(f"{BASE}/{draft['id']}")).status_code == 204
    problem(await tenant.get(f"{BASE}/{draft['id']}"), 404, "not-found")


async def test_scopes(tenant: Any) -> None:
    poll = await opened(tenant)
    member = await tenant.member(display_name="Scoped")
    reader = await tenant.new_key("polls:read")
    writer = await tenant.new_key("polls:write")
    assert (await tenant.get(f"{BASE}/{poll['id']}/results", key=reader)).status_code == 200
    assert (await tenant.post(BASE, survey(), key=reader)).status_code == 403
    body = {"member_id": member["id"], "answers": answers(poll)}
    assert (await tenant.post(f"{BASE}/{poll['id']}/ballots", body, key=reader)).status_code == 403
    assert (await tenant.post(f"{BASE}/{poll['id']}/ballots", body, key=writer)).status_code == 201
    assert (await tenant.post(f"{BASE}/{poll['id']}/close", key=writer)).status_code == 403


def routes(poll_id: int, answer_id: int) -> list[tuple[str, str, Any]]:
    """Every route of the plugin that names a poll, with a body it would accept."""
    p = f"{BASE}/{poll_id}"
    return [
        ("GET", p, None),
        ("PATCH", p, {"name": "Stolen"}),
        ("DELETE", p, None),
        ("POST", f"{p}/open", None),
        ("POST", f"{p}/close", None),
        ("POST", f"{p}/ballots", {"member_id": 1, "answers": []}),
        ("GET", f"{p}/ballots", None),
        ("GET", f"{p}/ballots/csv", None),
        ("GET", f"{p}/results", None),
        ("GET", f"{p}/results/csv", None),
        ("GET", f"{p}/results/breakdown?group=city", None),
        ("GET", f"{p}/texts", None),
        ("POST", f"{p}/texts/{answer_id}/review", {"decision": "remove"}),
    ]


#: the scope each route of :func:`routes` needs, in the same order
SCOPES = ["read", "write", "write", "admin", "admin", "write", "read", "read", "read", "read", "read", "read", "admin"]
LEVELS = {"read": {"polls:read"}, "write": {"polls:write"}, "admin": {"polls:admin"}}


async def test_every_route_checks_its_scope(tenant: Any) -> None:
    poll = await opened(tenant)
    member = await tenant.member(display_name="Scopes")
    await vote(tenant, poll, member["id"], text="a text")
    texts = (await tenant.get(f"{BASE}/{poll['id']}/texts")).json()["items"]
    keys = {level: await tenant.new_key(*scopes) for level, scopes in LEVELS.items()}
    keys["none"] = await tenant.new_key("members:read")
    for (method, path, body), needed in zip(routes(poll["id"], texts[0]["answer_id"]), SCOPES, strict=True):
        kw = {"json": body} if body is not None else {}
        for level, key in keys.items():
            response = await tenant.client.request(method, path, headers=tenant.headers(key), **kw)
            if level == needed:
                assert response.status_code != 403, f"{method} {path} with {level}: {response.text}"
            else:
                assert response.status_code == 403, f"{method} {path} with {level}: {response.status_code}"
    for method, path, body in [("GET", BASE, None), ("POST", BASE, survey())]:
        for level, key in keys.items():
            response = await tenant.client.request(method, path, headers=tenant.headers(key), json=body)
            allowed = "read" if method == "GET" else "write"
            assert (response.status_code == 403) == (level != allowed), (method, level, response.status_code)


async def test_no_route_crosses_workspaces(tenant: Any, other: Any) -> None:
    poll = await opened(tenant)
    member = await tenant.member(display_name="Mine")
    ballot = await vote(tenant, poll, member["id"], text="secret text")
    texts = (await tenant.get(f"{BASE}/{poll['id']}/texts")).json()["items"]
    await other.enable("polls")
    for method, path, body in routes(poll["id"], texts[0]["answer_id"]):
        kw = {"json": body} if body is not None else {}
        response = await other.client.request(method, path, headers=other.headers(), **kw)
        assert response.status_code == 404, f"{method} {path}: {response.status_code} {response.text}"
        assert "secret" not in response.text
    assert (await other.get(BASE)).json()["items"] == []
    assert (await tenant.get(f"{BASE}/{poll['id']}")).json()["name"] == poll["name"]
    assert (await tenant.get(f"{BASE}/{poll['id']}/results")).json()["ballots"] == 1
    assert ballot["member_id"] == member["id"]


async def test_routes_need_the_plugin_enabled(tenant: Any, other: Any) -> None:
    poll = await opened(tenant)
    assert (await other.get(BASE)).status_code == 404
    assert (await other.get(f"{BASE}/{poll['id']}/results")).status_code == 404
