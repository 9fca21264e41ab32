"""The polls plugin's console pages (list, new poll, builder, live results, exports, review) and
member panel: what each role sees and may do, builder steps and their errors, and no crossing
workspaces."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from console_client import SignIn, text_of

API = "/api/v1/polls"


def base(tenant: Any) -> str:
    return f"/console/w/{tenant.slug}/polls"


def main_part(response: httpx.Response) -> str:
    return response.text.split('<main id="main">', 1)[1]


@pytest.fixture
async def polls(tenant: Any) -> Any:
    await tenant.enable("polls")
    return tenant


async def created(tenant: Any, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": "Drinks",
        "questions": [
            {"kind": "single", "title": "Favourite?", "options": ["Latte", "Tea"]},
            {"kind": "nps", "title": "Recommend us?"},
            {"kind": "text", "title": "Say more", "required": False},
        ],
    } | overrides
    response = await tenant.post(API, body)
    assert response.status_code == 201, response.text
    poll: dict[str, Any] = response.json()
    return poll


async def opened(tenant: Any, voters: int = 0, **overrides: Any) -> dict[str, Any]:
    poll = await created(tenant, **overrides)
    poll = (await tenant.post(f"{API}/{poll['id']}/open")).json()
    for i in range(voters):
        member = await tenant.member(display_name=f"Voter {i}")
        q = poll["questions"]
        answers = [
            {"question_id": q[0]["id"], "option_ids": [q[0]["options"][i % 2]["id"]]},
            {"question_id": q[1]["id"], "score": 10 - i},
            {"question_id": q[2]["id"], "text": f"comment {i}"},
        ]
        cast = await tenant.post(f"{API}/{poll['id']}/ballots", {"member_id": member["id"], "answers": answers})
        assert cast.status_code == 201, cast.text
    return poll


async def test_pages_answer_only_where_polls_is_enabled(tenant: Any, sign_in: SignIn) -> None:
    viewer = await sign_in(tenant, "viewer")
    assert (await viewer.get(f"{base(tenant)}/")).status_code == 404
    await tenant.enable("polls")
    page = await viewer.get(f"{base(tenant)}/")
    assert page.status_code == 200, page.text
    assert ">Polls</a>" in page.text


async def test_every_page_renders_for_a_viewer_without_forms(polls: Any, sign_in: SignIn) -> None:
    draft = await created(polls, name="Draft poll")
    live = await opened(polls, voters=3, name="Live poll")
    viewer = await sign_in(polls, "viewer")
    owner = await sign_in(polls, "owner")
    for path in ("/", f"/{draft['id']}", f"/{live['id']}", f"/{live['id']}/live"):
        seen = await viewer.get(base(polls) + path)
        assert seen.status_code == 200, (path, seen.text)
        part = main_part(seen) if '<main id="main">' in seen.text else seen.text
        assert "<form" not in part, path
        assert (await owner.get(base(polls) + path)).status_code == 200, path
    listed = text_of(await viewer.get(f"{base(polls)}/"))
    assert "Draft poll" in listed
    assert "Live poll" in listed
    assert "New poll" not in listed
    assert (await viewer.get(f"{base(polls)}/new")).status_code == 403
    assert (await viewer.post(f"{base(polls)}/{draft['id']}/open")).status_code == 403
    live_page = await viewer.get(f"{base(polls)}/{live['id']}")
    assert 'data-testid="ballot-count">3<' in live_page.text
    assert 'hx-trigger="every 3s"' in live_page.text
    assert "<svg" in live_page.text
    assert "Promoters" in live_page.text
    exported = await viewer.get(f"{base(polls)}/{live['id']}/results.csv")
    assert exported.status_code == 200
    assert "Latte" in exported.text
    ballots = await viewer.get(f"{base(polls)}/{live['id']}/ballots.csv")
    assert ballots.status_code == 200
    assert "comment 1" in ballots.text
    member = (await polls.get("/api/v1/members", params={"limit": 1})).json()["items"][0]
    panel = await viewer.get(f"/console/w/{polls.slug}/members/{member['id']}")
    assert 'data-testid="polls-ballots"' in panel.text
    assert "Live poll" in panel.text


async def test_build_a_poll_step_by_step(polls: Any, sign_in: SignIn) -> None:
    op = await sign_in(polls, "operator")
    made = await op.post(
        f"{base(polls)}/",
        {"name": "Built", "kind": "single", "title": "Colour?", "options": "Red\r\nBlue", "required": "on"},
    )
    assert made.status_code == 303, made.text
    poll = (await polls.get(API)).json()["items"][0]
    here = f"{base(polls)}/{poll['id']}"
    assert made.headers["location"] == here
    step = await op.post(f"{here}/questions", {"kind": "nps", "title": "Recommend?", "required": "on"}, htmx=True)
    assert step.status_code == 200, step.text
    assert 'id="polls-builder"' in step.text
    assert "Recommend?" in step.text
    await op.post(f"{here}/questions/0/options", {"label": "Green"}, htmx=True)
    await op.post(f"{here}/questions/0/options/2/move/up", htmx=True)
    await op.post(f"{here}/questions/1/move/up", htmx=True)
    got = (await polls.get(f"{API}/{poll['id']}")).json()
    assert [q["title"] for q in got["questions"]] == ["Recommend?", "Colour?"]
    assert [o["label"] for o in got["questions"][1]["options"]] == ["Red", "Green", "Blue"]
    await op.post(f"{here}/questions/1/options/0/delete", htmx=True)
    bad = await op.post(f"{here}/questions/1/options/0/delete", htmx=True)  # one option left: refused
    assert bad.status_code == 422
    assert "at least two options" in bad.text
    refused = await op.post(f"{here}/questions", {"kind": "single", "title": "Lonely", "options": "Only"}, htmx=True)
    assert refused.status_code == 422
    assert "at least two options" in refused.text
    assert "Lonely" in refused.text
    await op.post(f"{here}/questions/0/delete", htmx=True)
    got = (await polls.get(f"{API}/{poll['id']}")).json()
    assert [q["title"] for q in got["questions"]] == ["Colour?"]
    assert [o["label"] for o in got["questions"][0]["options"]] == ["Green", "Blue"]
    saved = await op.post(f"{here}/settings", {"name": "Built poll", "anonymous": "on", "points_reward": ""})
    assert saved.status_code == 303, saved.text
    assert (await polls.get(f"{API}/{poll['id']}")).json()["anonymous"] is True
    wrong = await op.post(
        f"{here}/settings", {"name": "Built poll", "tags_required": "a", "tags_excluded": "a"}, htmx=True
    )
    assert wrong.status_code == 422
    assert 'id="tags_excluded-error"' in wrong.text


async def test_open_close_and_review(polls: Any, sign_in: SignIn, plugin: Any) -> None:
    owner = await sign_in(polls, "owner")
    poll = await created(polls)
    here = f"{base(polls)}/{poll['id']}"
    assert (await owner.post(f"{here}/open")).status_code == 303
    assert (await polls.get(f"{API}/{poll['id']}")).json()["state"] == "open"
    locked = await owner.post(f"{here}/questions/0/delete", htmx=True)
    assert locked.status_code == 409
    assert (await owner.post(f"{here}/close", htmx=True)).headers["HX-Redirect"] == here
    assert (await polls.get(f"{API}/{poll['id']}")).json()["state"] == "closed"
    assert (await owner.post(f"{here}/texts/1/maybe")).status_code == 400


async def test_held_texts_are_reviewed_on_the_results(polls: Any, sign_in: SignIn, plugin: Any) -> None:
    import scrm

    def scrm_moderate(text: str | None = None, media: Any = None) -> list[scrm.Finding]:
        return [scrm.Finding(category="ad", severity="high", term="comment 0")] if text == "comment 0" else []

    await polls.enable(plugin(scrm_moderate=scrm_moderate))
    poll = await opened(polls, voters=2)
    owner = await sign_in(polls, "owner")
    here = f"{base(polls)}/{poll['id']}"
    page = await owner.get(here)
    held = page.text.split('data-testid="held"', 1)[1]
    assert "comment 0" in held
    assert "ad: comment 0" in held
    assert "comment 0" not in page.text.split('data-testid="texts"', 1)[1]
    answer_id = (await polls.get(f"{API}/{poll['id']}/texts", params={"status": "held"})).json()["items"][0][
        "answer_id"
    ]
    viewer = await sign_in(polls, "viewer")
    assert (await viewer.post(f"{here}/texts/{answer_id}/release")).status_code == 403
    assert (await owner.post(f"{here}/texts/{answer_id}/release")).status_code == 303
    page = await owner.get(here)
    assert 'data-testid="held"' not in page.text
    assert "comment 0" in page.text.split('data-testid="texts"', 1)[1]


async def test_no_page_crosses_workspaces(polls: Any, other: Any, sign_in: SignIn) -> None:
    poll = await opened(polls, voters=1, name="Private poll")
    await other.enable("polls")
    stranger = await sign_in(other, "owner")
    here = f"{base(other)}/{poll['id']}"
    for path in ("", "/live", "/results.csv", "/ballots.csv"):
        assert (await stranger.get(here + path)).status_code == 404, path
    for path in ("/open", "/close", "/delete", "/settings", "/questions", "/questions/0/delete"):
        assert (await stranger.post(here + path, {"name": "x"})).status_code == 404, path
    assert "Private poll" not in (await stranger.get(f"{base(other)}/")).text


async def test_breakdown_by_a_tag_group_on_the_results(polls: Any, sign_in: SignIn) -> None:
    for name in ("shanghai", "beijing"):
        assert (await polls.post("/api/v1/tags", {"name": name, "group": "city"})).status_code == 201
    poll = await opened(polls)
    q = poll["questions"]
    for i, tag in enumerate(["shanghai", "shanghai", "beijing"]):
        member = await polls.member(display_name=f"City {i}", tags=[tag])
        answers = [
            {"question_id": q[0]["id"], "option_ids": [q[0]["options"][0 if tag == "shanghai" else 1]["id"]]},
            {"question_id": q[1]["id"], "score": 10 if tag == "shanghai" else 0},
        ]
        assert (
            await polls.post(f"{API}/{poll['id']}/ballots", {"member_id": member["id"], "answers": answers})
        ).status_code == 201
    viewer = await sign_in(polls, "viewer")
    here = f"{base(polls)}/{poll['id']}"
    page = await viewer.get(here)
    assert 'data-testid="breakdown"' in page.text
    assert '<option value="city"' in page.text
    shown = await viewer.get(f"{here}/breakdown", params={"group": "city"}, htmx=True)
    assert shown.status_code == 200, shown.text
    rows = {tag: text_of(httpx.Response(200, text=part)) for tag, part in _rows(shown.text)}
    assert rows["shanghai"].split()[:2] == ["shanghai", "2"]
    assert "NPS +100" in rows["shanghai"]
    assert "Latte 100.0%" in rows["shanghai"]
    assert "NPS -100" in rows["beijing"]
    assert "Tea 100.0%" in rows["beijing"]
    other = await sign_in(polls, "viewer")
    assert (await other.get(f"{here}/breakdown", params={"group": "x" * 101})).status_code == 400


def _rows(html: str) -> list[tuple[str, str]]:
    import re

    return re.findall(r'<tr data-tag="([^"]+)">(.*?)</tr>', html, re.S)
