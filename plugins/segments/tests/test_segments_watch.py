"""Watched segments record ``segment.entered`` / ``segment.exited``: on delivery, once per transition
however often a batch is delivered or however many deliveries race; by the clock (the hourly cron);
on a definition change; and nothing for a segment nobody watches."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import scrm
from scrm_segments import clock, lifecycle, rebuild, watch
from segments_helpers import BASE, events, settle


async def crossings(tenant: Any, member_id: int | None = None) -> list[tuple[str, int, str]]:
    """(type, member, segment name) of every entry and exit recorded, oldest first."""
    found = []
    for kind in (watch.ENTERED, watch.EXITED):
        params: dict[str, Any] = {"type": kind, "limit": 500}
        if member_id is not None:
            params["member_id"] = member_id
        response = await tenant.get("/api/v1/events", params=params)
        assert response.status_code == 200, response.text
        found += [(e["type"], e["member_id"], e["properties"]["segment"], e["id"]) for e in response.json()["items"]]
    return [(t, m, s) for t, m, s, _ in sorted(found, key=lambda x: x[3])]


async def segment(tenant: Any, name: str, definition: dict[str, Any], watch: bool = True) -> dict[str, Any]:
    response = await tenant.post(BASE, {"name": name, "definition": definition, "watch": watch})
    assert response.status_code == 201, response.text
    saved: dict[str, Any] = response.json()
    return saved


async def tag(tenant: Any, member_id: int, name: str, *, add: bool = True) -> None:
    if add:
        response = await tenant.post(f"/api/v1/members/{member_id}/tags", {"tags": [name]})
    else:
        response = await tenant.delete(f"/api/v1/members/{member_id}/tags/{name}")
    assert response.status_code in (200, 204), response.text


async def test_entries_and_exits_are_recorded_once_per_transition(kernel: scrm.Kernel, tenant: Any) -> None:
    await tenant.enable("segments")
    ws = await kernel.workspaces.ref(tenant.slug)
    already = (await tenant.member(display_name="Already", tags=["vip"]))["id"]
    later = (await tenant.member(display_name="Later"))["id"]
    await settle(kernel, tenant.id)
    vips = await segment(tenant, "VIPs", {"tag": "vip"})
    assert vips["watched_by"] == ["operator"]
    await settle(kernel, tenant.id)
    assert await crossings(tenant) == []  # a new watch takes the members already in as they are

    await tag(tenant, later, "vip")
    await settle(kernel, tenant.id)
    assert await crossings(tenant) == [("segment.entered", later, "VIPs")]
    [entered] = (await tenant.get("/api/v1/events", params={"type": watch.ENTERED})).json()["items"]
    assert entered["properties"] == {"segment": "VIPs", "segment_id": vips["id"]}
    assert entered["source"] == "segments"

    # the outbox is at least once: the same batch delivered again records nothing more
    delivered = (await kernel.events.list(ws, scrm.EventFilter(member_id=later), None, scrm.MAX_LIMIT)).items
    for _ in range(2):
        async with kernel.db.transaction():
            await kernel.plugins.call(
                "scrm_event_batch_recorded", only=["segments"], workspace=ws, events=delivered, kernel=kernel
            )
    await settle(kernel, tenant.id)
    assert await crossings(tenant) == [("segment.entered", later, "VIPs")]

    await tag(tenant, already, "vip", add=False)
    await tag(tenant, later, "vip", add=False)
    await settle(kernel, tenant.id)
    await tag(tenant, later, "vip")
    await settle(kernel, tenant.id)
    found = await crossings(tenant)
    # the two exits come from two deliveries that may run side by side: either may be recorded first
    assert found[:1] + sorted(found[1:3]) + found[3:] == [
        ("segment.entered", later, "VIPs"),
        ("segment.exited", already, "VIPs"),
        ("segment.exited", later, "VIPs"),
        ("segment.entered", later, "VIPs"),
    ]
    # an entry event (or a stage change) is not engagement: it neither makes a member active, here or
    # in the core's last_active_at, nor counts as an event
    assert (await tenant.get(f"{BASE}/members/{later}")).json()["engagement"] == 0
    assert (await tenant.get(f"/api/v1/members/{later}")).json()["last_active_at"] is None
    assert not kernel.events.is_engagement(watch.ENTERED)
    assert not kernel.events.is_engagement(lifecycle.EVENT)
    assert kernel.events.is_engagement("checkin")


async def test_a_segment_nobody_watches_records_nothing(kernel: scrm.Kernel, tenant: Any) -> None:
    await tenant.enable("segments")
    member = (await tenant.member(display_name="M"))["id"]
    quiet = await segment(tenant, "Quiet", {"tag": "vip"}, watch=False)
    assert quiet["watched_by"] == []
    await tag(tenant, member, "vip")
    await settle(kernel, tenant.id)
    assert await crossings(tenant) == []
    rows = await kernel.sql.fetch("SELECT COUNT(*) AS n FROM segments_member WHERE workspace = {}", tenant.id)
    assert rows[0]["n"] == 0
    # watching it later, then not: its members are taken as they are, then forgotten
    response = await tenant.patch(f"{BASE}/{quiet['id']}", {"watch": True})
    assert response.json()["watched_by"] == ["operator"]
    rows = await kernel.sql.fetch("SELECT COUNT(*) AS n FROM segments_member WHERE workspace = {}", tenant.id)
    assert rows[0]["n"] == 1
    response = await tenant.patch(f"{BASE}/{quiet['id']}", {"watch": False})
    assert response.json()["watched_by"] == []
    rows = await kernel.sql.fetch("SELECT COUNT(*) AS n FROM segments_member WHERE workspace = {}", tenant.id)
    assert rows[0]["n"] == 0
    await settle(kernel, tenant.id)
    assert await crossings(tenant) == []


async def test_racing_deliveries_record_one_entry(kernel: scrm.Kernel, tenant: Any) -> None:
    await tenant.enable("segments")
    ws = await kernel.workspaces.ref(tenant.slug)
    member = (await tenant.member(display_name="Racer", tags=["vip"]))["id"]
    await settle(kernel, tenant.id)
    vips = await segment(tenant, "VIPs", {"tag": "vip"}, watch=False)
    # watched without the baseline, so the member is due to enter on the next delivery
    await kernel.sql.fetch(
        "INSERT INTO segments_watch (workspace, segment, watcher, created_at) VALUES ({}, {}, 'test', {})",
        tenant.id,
        vips["id"],
        datetime.now(UTC),
    )
    batch = (await kernel.events.list(ws, scrm.EventFilter(member_id=member), None, scrm.MAX_LIMIT)).items

    async def deliver() -> None:
        async with kernel.db.transaction():
            await watch.on_events(kernel, ws, batch)

    await asyncio.gather(*(deliver() for _ in range(6)))
    await settle(kernel, tenant.id)
    assert await crossings(tenant) == [("segment.entered", member, "VIPs")]
    rows = await kernel.sql.fetch("SELECT inside, changes FROM segments_member WHERE segment = {}", vips["id"])
    assert [(bool(r["inside"]), int(r["changes"])) for r in rows] == [(True, 1)]


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The plugin's clock, moved on by ``later.days``."""

    class Later:
        days = 0

    real = clock.now
    monkeypatch.setattr(clock, "now", lambda: real() + timedelta(days=Later.days))
    return Later


async def test_time_alone_moves_members_in_and_out_through_the_cron(
    kernel: scrm.Kernel, tenant: Any, later: Any
) -> None:
    await tenant.enable("segments")
    member = (await tenant.member(display_name="Idle"))["id"]
    await events(tenant, (member, "checkin", datetime.now(UTC), {}))
    await settle(kernel, tenant.id)
    await segment(tenant, "Dormant", {"active": {"before_days": 30}})
    await segment(tenant, "Joined this week", {"joined": {"within_days": 7}})
    await segment(tenant, "Tagged", {"tag": "vip"})  # time changes nothing here: the cron leaves it be
    await settle(kernel, tenant.id)
    assert await crossings(tenant) == []

    ws = await kernel.workspaces.ref(tenant.slug)
    later.days = 10
    assert await lifecycle.tick(kernel, ws) == (0, 1)  # the cron's share of this workspace
    await settle(kernel, tenant.id)
    assert await crossings(tenant) == [("segment.exited", member, "Joined this week")]

    later.days = 31
    moved, _ = await lifecycle.tick(kernel, ws)
    assert moved == 1  # new → silent; the entry into "Dormant" is recorded by this run or, when it
    # comes first, by the delivery of the stage change (its events re-evaluate the member): once
    assert await lifecycle.tick(kernel, ws) == (0, 0)  # the next hour's run finds nothing new
    await settle(kernel, tenant.id)
    assert await crossings(tenant) == [
        ("segment.exited", member, "Joined this week"),
        ("segment.entered", member, "Dormant"),
    ]
    assert watch.timed(watch.definition.parse({"not": {"rfm": {"score": "r", "min": 3}}}))
    assert not watch.timed(watch.definition.parse({"any": [{"tag": "a"}, {"stage": "silent"}]}))


async def test_changing_a_watched_definition_and_rebuilding_record_the_difference(
    kernel: scrm.Kernel, tenant: Any
) -> None:
    await tenant.enable("segments")
    ws = await kernel.workspaces.ref(tenant.slug)
    a = (await tenant.member(display_name="A", tags=["gold"]))["id"]
    b = (await tenant.member(display_name="B", tags=["silver"]))["id"]
    await settle(kernel, tenant.id)
    saved = await segment(tenant, "Metal", {"tag": "gold"})
    response = await tenant.patch(f"{BASE}/{saved['id']}", {"definition": {"tag": "silver"}})
    assert response.status_code == 200, response.text
    await settle(kernel, tenant.id)
    assert sorted(await crossings(tenant)) == [("segment.entered", b, "Metal"), ("segment.exited", a, "Metal")]
    # a rebuild re-evaluates the watched segments: only a member whose row disagrees is recorded
    await kernel.sql.fetch("UPDATE segments_member SET inside = FALSE, changes = 2 WHERE member_id = {}", b)
    await rebuild.rebuild(kernel, ws)
    await settle(kernel, tenant.id)
    assert len(await crossings(tenant)) == 3
    assert (await crossings(tenant))[-1] == ("segment.entered", b, "Metal")
    # a deleted segment leaves no watcher and no member behind
    assert (await tenant.delete(f"{BASE}/{saved['id']}")).status_code == 204
    for table in ("segments_watch", "segments_member"):
        rows = await kernel.sql.fetch(f"SELECT COUNT(*) AS n FROM {table} WHERE workspace = {{}}", tenant.id)
        assert rows[0]["n"] == 0


async def test_an_erased_member_leaves_without_an_exit(kernel: scrm.Kernel, tenant: Any) -> None:
    await tenant.enable("segments")
    member = (await tenant.member(display_name="Gone", tags=["vip"]))["id"]
    other = (await tenant.member(display_name="Stays"))["id"]
    await segment(tenant, "VIPs", {"tag": "vip"})
    assert (await tenant.delete(f"/api/v1/members/{member}")).status_code == 204
    await tag(tenant, other, "vip")
    await settle(kernel, tenant.id)
    assert await crossings(tenant) == [("segment.entered", other, "VIPs")]
