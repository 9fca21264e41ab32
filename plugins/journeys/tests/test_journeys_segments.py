"""A segment trigger end to end, with the real segments plugin: a live journey watches its segment,
a member whose events move them into it enters the journey and takes its steps, and leaving the
segment (``segment.exited``) is a goal that ends the run."""

from __future__ import annotations

from typing import Any

import scrm
from journeys_helpers import BASE, live, runs, welcome
from scrm_journeys import runner

SEGMENTS = "/api/v1/segments"


async def settle(kernel: scrm.Kernel) -> None:
    """Deliver events (and the entries they cause), run due steps — until nothing is left to do."""
    for _ in range(5):
        await kernel.jobs.idle()
        await kernel.outbox.drain()
        await runner.advance(kernel)
    await kernel.jobs.idle()


async def saved(tenant: Any, name: str, definition: dict[str, Any]) -> dict[str, Any]:
    response = await tenant.post(SEGMENTS, {"name": name, "definition": definition})
    assert response.status_code == 201, response.text
    segment: dict[str, Any] = response.json()
    return segment


async def test_entering_a_segment_starts_the_journey_and_leaving_it_ends_it(tenant: Any, kernel: scrm.Kernel) -> None:
    await tenant.enable("segments")
    buyers = await saved(tenant, "Buyers", {"events": {"type": "order.paid", "within_days": 30}})
    member = (await tenant.member(display_name="Buyer"))["id"]
    body = welcome(
        definition={
            "trigger": {"kind": "segment", "segment": "Buyers"},
            "steps": [
                {"type": "action", "action": "tag_add", "tag": "thanked"},
                {"type": "wait", "seconds": 3600},
                {"type": "action", "action": "tag_add", "tag": "never"},
            ],
            "goal": {"event_type": "segment.exited"},
        }
    )
    journey = await live(tenant, body)
    # named by its id as well: the trigger matches the event's segment_id
    by_id = await live(
        tenant,
        welcome(name="By id", definition={"trigger": {"kind": "segment", "segment": str(buyers["id"])}, "steps": []}),
    )
    watched = (await tenant.get(f"{SEGMENTS}/{buyers['id']}")).json()["watched_by"]
    assert sorted(watched) == sorted([f"journeys:{by_id['id']}", f"journeys:{journey['id']}"])
    await settle(kernel)
    assert await runs(tenant, journey["id"]) == []

    response = await tenant.post(
        "/api/v1/events", {"member_id": member, "type": "order.paid", "properties": {"amount": 9}}
    )
    assert response.status_code in (200, 201, 202), response.text
    await settle(kernel)
    [run] = await runs(tenant, journey["id"], member_id=member)
    assert (run["status"], run["position"]) == ("waiting", 1)
    assert "thanked" in (await tenant.get(f"/api/v1/members/{member}")).json()["tags"]
    assert [r["status"] for r in await runs(tenant, by_id["id"])] == ["completed"]

    # a second order keeps the member in the segment: no second entry, no second run
    await tenant.post("/api/v1/events", {"member_id": member, "type": "order.paid", "properties": {"amount": 5}})
    await settle(kernel)
    assert len(await runs(tenant, journey["id"])) == 1
    entered = (await tenant.get("/api/v1/events", params={"type": "segment.entered"})).json()["items"]
    assert len(entered) == 1

    # the segment no longer holds the member (its definition changed): segment.exited converts the run
    response = await tenant.patch(f"{SEGMENTS}/{buyers['id']}", {"definition": {"tag": "nobody"}})
    assert response.status_code == 200, response.text
    await settle(kernel)
    [run] = await runs(tenant, journey["id"], member_id=member)
    assert run["status"] == "converted"
    assert "never" not in (await tenant.get(f"/api/v1/members/{member}")).json()["tags"]

    # a paused journey watches nothing: the segment costs nothing once nobody listens
    for j in (journey, by_id):
        assert (await tenant.post(f"{BASE}/{j['id']}/pause")).status_code == 200
    assert (await tenant.get(f"{SEGMENTS}/{buyers['id']}")).json()["watched_by"] == []


async def test_a_segment_trigger_needs_a_segment_to_watch(tenant: Any) -> None:
    await tenant.enable("journeys")
    body = welcome(definition={"trigger": {"kind": "segment", "segment": "Nowhere"}, "steps": []})
    draft = (await tenant.post(BASE, body)).json()
    response = await tenant.post(f"{BASE}/{draft['id']}/publish")
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["message"]) == (
        "definition.trigger.segment",
        "the segments plugin is not enabled here",
    )
    await tenant.enable("segments")
    response = await tenant.post(f"{BASE}/{draft['id']}/publish")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["message"] == "no saved segment 'Nowhere' here"
    assert (await tenant.get(f"{BASE}/{draft['id']}")).json()["status"] == "draft"
