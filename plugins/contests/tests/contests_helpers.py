"""Helpers of the contests' tests (imported by the test modules next to it)."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image

BASE = "/api/v1/contests/contests"


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def contest_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Photo contest",
        "submission_closes_at": iso(timedelta(hours=1)),
        "voting_opens_at": iso(timedelta(hours=2)),
        "voting_closes_at": iso(timedelta(hours=3)),
        "rubric": [{"name": "Creativity", "weight": 2, "max": 10}, {"name": "Technique", "weight": 1, "max": 5}],
        "judge_weight": 0.5,
    }
    body.update(overrides)
    return body


def image(fmt: str = "PNG", size: tuple[int, int] = (64, 48), colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def entry(member_id: int, title: str = "My entry", *files: tuple[str, bytes], body: str = "") -> dict[str, Any]:
    return {
        "member_id": member_id,
        "title": title,
        "body": body,
        "media": [{"filename": name, "data": b64(data)} for name, data in files],
    }


async def create(tenant: Any, **overrides: Any) -> dict[str, Any]:
    await tenant.enable("contests")
    response = await tenant.post(BASE, contest_body(**overrides))
    assert response.status_code == 201, response.text
    contest: dict[str, Any] = response.json()
    return contest


async def move(tenant: Any, contest_id: int, phase: str) -> dict[str, Any]:
    response = await tenant.post(f"{BASE}/{contest_id}/phase", {"phase": phase})
    assert response.status_code == 200, response.text
    moved: dict[str, Any] = response.json()
    return moved


async def submitted(tenant: Any, contest_id: int, member_id: int, title: str = "Entry", **kw: Any) -> dict[str, Any]:
    response = await tenant.post(f"{BASE}/{contest_id}/submissions", entry(member_id, title, ("a.png", image()), **kw))
    assert response.status_code == 201, response.text
    sub: dict[str, Any] = response.json()
    return sub


async def voting_contest(
    tenant: Any, entries: int = 2, **overrides: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A contest in its voting phase with ``entries`` approved submissions."""
    contest = await create(tenant, **overrides)
    await move(tenant, contest["id"], "submission")
    subs = []
    for i in range(entries):
        member = await tenant.member(display_name=f"Entrant {i}")
        subs.append(await submitted(tenant, contest["id"], member["id"], f"Entry {i}"))
    await move(tenant, contest["id"], "voting")
    return contest, subs
