"""The ``scrm_member_segment`` extension point: ``GET /api/v1/members?segment=…`` (and the export)
narrowed by a condition a plugin answers; no answer is a 422 naming ``segment``."""

from __future__ import annotations

from collections.abc import Callable

import scrm
from conftest import Tenant, problem


def _evens(workspace: scrm.WorkspaceRef, segment: int) -> scrm.MemberCondition | None:
    """Segment 7: the members whose id is even (the workspace scoping is the listing's own)."""
    return scrm.MemberCondition("m.id % {} = 0", (2,)) if segment == 7 else None


async def test_a_plugin_narrows_the_member_list(tenant: Tenant, plugin: Callable[..., str]) -> None:
    ids = [(await tenant.member(display_name=f"M{i}"))["id"] for i in range(4)]
    await tenant.enable(plugin(scrm_member_segment=_evens))
    listed = (await tenant.get("/api/v1/members", params={"segment": 7})).json()["items"]
    assert sorted(m["id"] for m in listed) == [i for i in ids if i % 2 == 0]
    exported = await tenant.get("/api/v1/members/export", params={"segment": 7})
    assert sorted(int(line.split(b'"id":')[1].split(b",")[0]) for line in exported.content.splitlines()) == [
        i for i in ids if i % 2 == 0
    ]


async def test_an_unknown_segment_is_a_422(tenant: Tenant, plugin: Callable[..., str]) -> None:
    await tenant.member(display_name="M")
    body = problem(await tenant.get("/api/v1/members", params={"segment": 7}), 422, "validation-error")
    assert body["errors"][0]["field"] == "segment"  # no plugin enabled here answers
    await tenant.enable(plugin(scrm_member_segment=_evens))
    problem(await tenant.get("/api/v1/members", params={"segment": 8}), 422, "validation-error")
    problem(await tenant.get("/api/v1/members/export", params={"segment": 8}), 422, "validation-error")
    problem(await tenant.get("/api/v1/members", params={"segment": 0}), 422, "validation-error")
