"""The journeys console: create a journey from its trigger, build its flow step by step (htmx),
publish it, see per-step counts, test it on one member; roles and workspaces."""

from __future__ import annotations

from typing import Any

from console_client import SignIn, text_of

API = "/api/v1/journeys"


def base(tenant: Any) -> str:
    return f"/console/w/{tenant.slug}/journeys"


async def test_an_owner_builds_publishes_and_tests_a_journey(tenant: Any, sign_in: SignIn, kernel: Any) -> None:
    await tenant.enable("journeys")
    owner = await sign_in(tenant, "owner")
    assert "No journeys yet" in text_of(await owner.get(f"{base(tenant)}/"))
    bad = await owner.post(f"{base(tenant)}/", {"name": "Hi", "trigger": "event", "event_type": ""})
    assert bad.status_code == 422
    assert "event type" in text_of(bad)
    made = await owner.post(
        f"{base(tenant)}/", {"name": "Hi", "trigger": "event", "event_type": "signup", "goal": "order.paid"}
    )
    assert made.status_code == 303, made.text
    url = made.headers["location"]
    step = await owner.post(f"{url}/steps", {"type": "action", "action": "tag_add", "tag": "hello"}, htmx=True)
    assert step.status_code == 200
    assert 'data-step="0"' in step.text
    wrong = await owner.post(f"{url}/steps", {"type": "action", "action": "send"}, htmx=True)
    assert wrong.status_code == 422
    assert "required here" in text_of(wrong)
    await owner.post(f"{url}/steps", {"type": "wait", "minutes": "30"}, htmx=True)
    moved = await owner.post(f"{url}/steps/1/up", htmx=True)
    assert moved.text.index('data-kind="wait"') < moved.text.index('data-kind="action"')
    assert (await owner.post(f"{url}/publish")).status_code == 303
    page = await owner.get(url)
    assert 'data-testid="journey-state">live<' in page.text
    assert "Version 4" in text_of(page)
    member = await tenant.member(display_name="Tried")
    tried = await owner.post(f"{url}/test", {"member_id": str(member["id"])}, htmx=True)
    assert "skipped in a test run" in text_of(tried)
    assert "completed" in text_of(tried)
    assert "hello" in (await tenant.get(f"/api/v1/members/{member['id']}")).json()["tags"]
    real = await tenant.member(display_name="Real")
    await tenant.post("/api/v1/events", {"member_id": real["id"], "type": "signup"})
    await kernel.jobs.idle()
    counts = await owner.get(url)
    assert "waiting 1" in text_of(counts)


async def test_a_viewer_reads_only_and_workspaces_stay_apart(tenant: Any, other: Any, sign_in: SignIn) -> None:
    await tenant.enable("journeys")
    made = await tenant.post(API, {"name": "J", "definition": {"trigger": {"kind": "tag", "tag": "x"}}})
    viewer = await sign_in(tenant, "viewer")
    page = await viewer.get(f"{base(tenant)}/{made.json()['id']}")
    assert page.status_code == 200
    assert 'data-testid="add-step"' not in page.text
    assert (await viewer.post(f"{base(tenant)}/{made.json()['id']}/publish")).status_code == 403
    await other.enable("journeys")
    stranger = await sign_in(other, "owner")
    assert (await stranger.get(f"{base(other)}/{made.json()['id']}")).status_code == 404
    assert (await stranger.post(f"{base(other)}/{made.json()['id']}/steps", {"type": "exit"})).status_code == 404
