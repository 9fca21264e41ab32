"""Helpers of the polls plugin's tests (imported by the test modules next to it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

BASE = "/api/v1/polls"


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def survey(**overrides: Any) -> dict[str, Any]:
    """A poll with one question of each kind."""
    body: dict[str, Any] = {
        "name": "Store survey",
        "questions": [
            {"kind": "single", "title": "Favourite drink?", "options": ["Latte", "Tea", "Juice"]},
            {
                "kind": "multiple",
                "title": "What else?",
                "options": ["Cake", "Bread", "Fruit", "Nuts"],
                "max_choices": 2,
            },
            {"kind": "rating", "title": "Rate the staff"},
            {"kind": "nps", "title": "Recommend us?"},
            {"kind": "text", "title": "Anything else?", "required": False, "max_length": 50},
        ],
    }
    body.update(overrides)
    return body


async def create(tenant: Any, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await tenant.post(BASE, body or survey())
    assert response.status_code == 201, response.text
    poll: dict[str, Any] = response.json()
    return poll


async def opened(tenant: Any, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """A poll created and opened in the tenant's workspace (polls enabled there)."""
    await tenant.enable("polls")
    poll = await create(tenant, body)
    response = await tenant.post(f"{BASE}/{poll['id']}/open")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def answers(
    poll: dict[str, Any],
    single: int = 0,
    multiple: tuple[int, ...] = (0,),
    rating: int = 4,
    nps: int = 9,
    text: str | None = None,
) -> list[dict[str, Any]]:
    """Answers to :func:`survey`'s questions, options by their index."""
    q = poll["questions"]
    given: list[dict[str, Any]] = [
        {"question_id": q[0]["id"], "option_ids": [q[0]["options"][single]["id"]]},
        {"question_id": q[1]["id"], "option_ids": [q[1]["options"][i]["id"] for i in multiple]},
        {"question_id": q[2]["id"], "score": rating},
        {"question_id": q[3]["id"], "score": nps},
    ]
    if text is not None:
        given.append({"question_id": q[4]["id"], "text": text})
    return given


async def vote(tenant: Any, poll: dict[str, Any], member_id: int, **kw: Any) -> dict[str, Any]:
    response = await tenant.post(
        f"{BASE}/{poll['id']}/ballots", {"member_id": member_id, "answers": answers(poll, **kw)}
    )
    assert response.status_code == 201, response.text
    ballot: dict[str, Any] = response.json()
    return ballot


async def members(tenant: Any, n: int, **fields: Any) -> list[int]:
    return [(await tenant.member(display_name=f"M{i}", **fields))["id"] for i in range(n)]
