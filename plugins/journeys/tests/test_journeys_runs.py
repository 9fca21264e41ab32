"""Journeys end to end on a real SMTP server: members enter from events, wait, pass conditions, get
the email through channels; goals convert; versions keep runs in flight on theirs; re-entry; test
runs; per-step counts; the segment condition through an absent-safe service lookup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import scrm
from channels_helpers import Mailbox, consenting, mailbox, smtp_provider, template
from journeys_helpers import BASE, event, live, runs, welcome
from scrm import Kernel
from scrm_journeys import runner

__all__ = ["mailbox"]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    class Clock:
        offset = timedelta(0)

        def now(self) -> datetime:
            return datetime.now(UTC) + self.offset

    clock = Clock()
    monkeypatch.setattr(runner, "now", clock.now)
    return clock


async def with_channels(tenant: Any, mailbox: Mailbox) -> None:
    await tenant.enable("channels")
    await smtp_provider(tenant, mailbox)
    await template(tenant)


async def settle(kernel: Kernel) -> None:
    """Deliver events, run due steps, deliver messages — until nothing is left to do."""
    for _ in range(5):
        await kernel.jobs.idle()
        await runner.advance(kernel)
    await kernel.jobs.idle()


async def test_a_welcome_journey_sends_the_email_after_the_wait(
    tenant: Any, kernel: Kernel, mailbox: Mailbox, clock: Any
) -> None:
    await with_channels(tenant, mailbox)
    journey = await live(tenant)
    member = await consenting(tenant)
    vip = await consenting(tenant, display_name="Vip", identities={"email": "vip@example.test"}, tags=["vip"])
    await settle(kernel)
    [run] = await runs(tenant, journey["id"], member_id=member["id"])
    assert (run["status"], run["position"]) == ("waiting", 1)
    assert "welcomed" in (await tenant.get(f"/api/v1/members/{member['id']}")).json()["tags"]
    assert mailbox.received == []
    clock.offset = timedelta(hours=1, seconds=1)
    await settle(kernel)
    [mail] = mailbox.received
    assert mail["To"] == "ann@example.test"
    [run] = await runs(tenant, journey["id"], member_id=member["id"])
    assert run["status"] == "completed"
    [vip_run] = await runs(tenant, journey["id"], member_id=vip["id"])
    assert vip_run["status"] == "exited"
    trail = (await tenant.get(f"{BASE}/{journey['id']}/runs/{vip_run['id']}")).json()["trail"]
    assert [(s["position"], s["outcome"]) for s in trail] == [
        (0, "passed"),
        (1, "waiting"),
        (1, "passed"),
        (2, "exited"),
    ]
    stats = (await tenant.get(f"{BASE}/{journey['id']}/stats")).json()["versions"][0]
    assert (stats["entered"], stats["completed"], stats["exited"]) == (2, 1, 1)
    counts = [(s["type"], s["entered"], s["waiting"], s["passed"], s["exited"]) for s in stats["steps"]]
    assert counts == [("action", 2, 0, 2, 0), ("wait", 2, 0, 2, 0), ("condition", 2, 0, 1, 1), ("action", 1, 0, 1, 0)]


async def test_goal_events_convert_and_members_enter_once(tenant: Any, kernel: Kernel, clock: Any) -> None:
    body = welcome(
        definition={
            "trigger": {"kind": "event", "event_type": "visit", "where": {"store": "A"}},
            "steps": [{"type": "wait", "seconds": 600}, {"type": "action", "action": "tag_add", "tag": "nudged"}],
            "goal": {"event_type": "order.paid"},
        }
    )
    journey = await live(tenant, body)
    a = await tenant.member(display_name="A")
    b = await tenant.member(display_name="B")
    await event(tenant, a["id"], "visit", store="A")
    await event(tenant, a["id"], "visit", store="A")
    await event(tenant, b["id"], "visit", store="B")  # not the trigger's store
    await settle(kernel)
    assert [r["member_id"] for r in await runs(tenant, journey["id"])] == [a["id"]]
    await event(tenant, a["id"], "order.paid", amount=10)
    await settle(kernel)
    [run] = await runs(tenant, journey["id"])
    assert run["status"] == "converted"
    clock.offset = timedelta(minutes=11)
    await settle(kernel)
    assert "nudged" not in (await tenant.get(f"/api/v1/members/{a['id']}")).json()["tags"]
    stats = (await tenant.get(f"{BASE}/{journey['id']}/stats")).json()["versions"][0]
    assert (stats["entered"], stats["converted"], stats["conversion"]) == (1, 1, 1.0)
    # the run ended: a new visit does not enter again (no re-entry) …
    await event(tenant, a["id"], "visit", store="A")
    await settle(kernel)
    assert len(await runs(tenant, journey["id"])) == 1
    # … unless re-entry is allowed
    await tenant.patch(f"{BASE}/{journey['id']}", {"reentry": True})
    await event(tenant, a["id"], "visit", store="A")
    await settle(kernel)
    assert len(await runs(tenant, journey["id"])) == 2


async def test_editing_a_live_journey_makes_a_version_runs_in_flight_keep(
    tenant: Any, kernel: Kernel, clock: Any
) -> None:
    body = welcome(
        definition={
            "trigger": {"kind": "tag", "tag": "joined"},
            "steps": [{"type": "wait", "seconds": 60}, {"type": "action", "action": "tag_add", "tag": "v1"}],
        }
    )
    journey = await live(tenant, body)
    first = await tenant.member(display_name="First", tags=["joined"])
    await settle(kernel)
    changed = await tenant.patch(
        f"{BASE}/{journey['id']}",
        {"definition": {**body["definition"], "steps": [{"type": "action", "action": "tag_add", "tag": "v2"}]}},
    )
    assert changed.json()["version"] == 2
    assert changed.json()["status"] == "live"
    second = await tenant.member(display_name="Second")
    tagged = await tenant.post(f"/api/v1/members/{second['id']}/tags", {"tags": ["joined"]})
    assert tagged.status_code == 200, tagged.text
    clock.offset = timedelta(minutes=2)
    await settle(kernel)
    tags = {
        m["display_name"]: set(m["tags"])
        for m in [(await tenant.get(f"/api/v1/members/{x['id']}")).json() for x in (first, second)]
    }
    assert "v1" in tags["First"]
    assert "v2" not in tags["First"]
    assert "v2" in tags["Second"]
    assert "v1" not in tags["Second"]
    stats = (await tenant.get(f"{BASE}/{journey['id']}/stats")).json()["versions"]
    assert [(v["version"], v["entered"], v["completed"]) for v in stats] == [(1, 1, 1), (2, 1, 1)]


async def test_a_test_run_on_one_member(tenant: Any, kernel: Kernel, mailbox: Mailbox) -> None:
    await with_channels(tenant, mailbox)
    await tenant.enable("journeys")
    draft = (await tenant.post(BASE, welcome())).json()
    member = await consenting(tenant)
    await settle(kernel)
    assert await runs(tenant, draft["id"]) == []  # a draft takes nobody
    tried = await tenant.post(f"{BASE}/{draft['id']}/test", {"member_id": member["id"]})
    assert tried.status_code == 200, tried.text
    run = tried.json()
    assert run["test"] is True
    assert run["status"] == "completed"
    assert [s["outcome"] for s in run["trail"]] == ["passed"] * 4
    assert run["trail"][1]["detail"] == "skipped in a test run"
    assert run["trail"][3]["detail"] == "queued"
    await kernel.jobs.idle()
    assert len(mailbox.received) == 1
    assert (await tenant.get(f"{BASE}/{draft['id']}/stats")).json()["versions"][0]["entered"] == 0


async def test_a_webhook_step_the_outbound_guard_refuses_fails_unsent(
    tenant: Any, kernel: Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A webhook step's URL is checked when the journey is saved, and again when the step runs (here
    the deployment no longer allows loopback by then): the step fails saying why, nothing is sent."""
    await tenant.enable("journeys")
    steps = [{"type": "action", "action": "webhook", "url": "http://169.254.169.254/latest/meta-data/"}]
    definition = {"trigger": {"kind": "event", "event_type": "signup"}, "steps": steps}
    refused = await tenant.post(BASE, welcome(definition=definition))
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "definition.steps[0].url"
    assert "link-local" in refused.json()["errors"][0]["message"]
    steps[0]["url"] = "http://127.0.0.1:9/hook"  # allowed by the test settings when saved
    draft = (await tenant.post(BASE, welcome(definition=definition))).json()
    monkeypatch.setattr(kernel, "outbound", scrm.Outbound())
    member = await tenant.member(display_name="Hook")
    run = (await tenant.post(f"{BASE}/{draft['id']}/test", {"member_id": member["id"]})).json()
    [step] = run["trail"]
    assert step["outcome"] == "failed"
    assert step["detail"].startswith("webhook refused: 127.0.0.1 is a loopback address")


async def test_the_segment_condition_works_with_and_without_the_segments_plugin(
    tenant: Any, kernel: Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = welcome(
        definition={
            "trigger": {"kind": "event", "event_type": "visit"},
            "steps": [
                {"type": "condition", "segment": "loyal"},
                {"type": "action", "action": "tag_add", "tag": "loyal-seen"},
            ],
        }
    )
    journey = await live(tenant, body)
    member = await tenant.member(display_name="Seg")
    first = (await tenant.post(f"{BASE}/{journey['id']}/test", {"member_id": member["id"]})).json()
    assert first["status"] == "exited"
    assert first["trail"][0]["detail"] == "the segments plugin is not enabled here"

    class FakeSegments:
        async def contains(self, ws: scrm.WorkspaceRef, segment: str, member_id: int) -> bool:
            return segment == "loyal" and member_id == member["id"]

        async def watch(self, ws: scrm.WorkspaceRef, segment: str, watcher: str) -> int | None:
            return 1

        async def unwatch(self, ws: scrm.WorkspaceRef, watcher: str) -> None:
            return None

    real = kernel.service
    monkeypatch.setattr(
        kernel, "service", lambda name, ws=None: FakeSegments() if name == "segments" else real(name, ws)
    )
    second = (await tenant.post(f"{BASE}/{journey['id']}/test", {"member_id": member["id"]})).json()
    assert second["status"] == "completed"
    # a segment trigger listens to segment.entered events naming the segment
    seg_body = welcome(definition={"trigger": {"kind": "segment", "segment": "loyal"}, "steps": []})
    seg = await live(tenant, seg_body)
    await event(tenant, member["id"], "segment.entered", segment="other")
    await event(tenant, member["id"], "segment.entered", segment="loyal")
    await settle(kernel)
    assert [r["member_id"] for r in await runs(tenant, seg["id"])] == [member["id"]]


async def test_a_birthday_enters_once_a_year(tenant: Any, kernel: Kernel, clock: Any) -> None:
    body = welcome(definition={"trigger": {"kind": "date", "attribute": "birthday"}, "steps": []})
    journey = await live(tenant, body)
    today = datetime.now(UTC).date()
    born = await tenant.member(display_name="Born", attributes={"birthday": f"1990-{today:%m-%d}"})
    await tenant.member(display_name="Other day", attributes={"birthday": f"1990-{(today + timedelta(days=40)):%m-%d}"})
    await tenant.member(display_name="No date")
    assert await runner.dates(kernel) == 1
    assert await runner.dates(kernel) == 0  # the same day again
    await settle(kernel)
    [run] = await runs(tenant, journey["id"])
    assert (run["member_id"], run["status"]) == (born["id"], "completed")
    clock.offset = timedelta(days=365)  # next year, same day or thereabouts: only on the exact day
    entered = await runner.dates(kernel)
    assert entered == (1 if (today + timedelta(days=365)).strftime("%m-%d") == today.strftime("%m-%d") else 0)


async def test_points_and_lottery_actions_through_their_plugins(tenant: Any, kernel: Kernel) -> None:
    await tenant.enable("lottery")
    soon = datetime.now(UTC)
    body = {
        "name": "Journey draw",
        "opens_at": (soon - timedelta(minutes=1)).isoformat(),
        "closes_at": (soon + timedelta(hours=1)).isoformat(),
        "prizes": [{"name": "Mug", "quantity": 1, "value": 100}],
    }
    campaign = (await tenant.post("/api/v1/lottery/campaigns", body)).json()
    assert (await tenant.post(f"/api/v1/lottery/campaigns/{campaign['id']}/open")).status_code == 200
    steps = [
        {"type": "action", "action": "points", "amount": 50},
        {"type": "action", "action": "lottery", "campaign_id": campaign["id"]},
    ]
    journey = await live(
        tenant, welcome(definition={"trigger": {"kind": "event", "event_type": "visit"}, "steps": steps})
    )
    member = await tenant.member(display_name="Lucky")
    without = (await tenant.post(f"{BASE}/{journey['id']}/test", {"member_id": member["id"]})).json()
    assert (without["status"], without["trail"][0]["detail"]) == ("failed", "the points plugin is not enabled here")
    await tenant.enable("points")
    await event(tenant, member["id"], "visit")
    await settle(kernel)
    [run] = [r for r in await runs(tenant, journey["id"]) if not r["test"]]
    assert run["status"] == "completed"
    assert (await tenant.get(f"/api/v1/points/members/{member['id']}")).json()["balance"] == 50
    entries = (await tenant.get(f"/api/v1/lottery/campaigns/{campaign['id']}/entries")).json()["items"]
    assert [e["member_id"] for e in entries] == [member["id"]]
    # entering again (a test run) is the lottery's own refusal, shown in the trail
    again = (await tenant.post(f"{BASE}/{journey['id']}/test", {"member_id": member["id"]})).json()
    assert again["status"] == "failed"
    assert "already" in again["trail"][-1]["detail"].lower()
