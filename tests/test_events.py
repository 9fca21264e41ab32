"""The event log: recording (one or a batch), idempotency keys under races, listings and the member
timeline, the core's own events, bad input, and delivery to plugins from the outbox in the
embedded default (jobs inside the process); workspace events (no member), and the migration that
made them possible on a database holding events."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Tenant, problem
from piccolo.apps.migrations.commands.forwards import run_forwards
from scrm import EventOut
from scrm.kernel import Kernel
from scrm.problems import ValidationFailed
from scrm.services.events import NewEvent
from scrm.services.values import json_value
from scrm.settings import DatabaseURL, Settings
from scrm.testing import BACKEND, PG_URL, pg_admin
from scrm_testplugin import plugin as testplugin
from scrm_testplugin.tables import Seen, Tally

API = "/api/v1"


async def count_events(kernel: Kernel, tenant: Tenant) -> int:
    rows = await kernel.db.fetch("SELECT COUNT(*) AS n FROM scrm_event WHERE workspace = {}", tenant.id)
    return int(rows[0]["n"])


async def post(tenant: Tenant, body: Any) -> Any:
    return await tenant.post(f"{API}/events", body)


# --- recording ------------------------------------------------------------------------------------


async def test_one_event_is_stored_and_read_back(tenant: Tenant) -> None:
    member = await tenant.member(external_id="u-1")
    at = "2026-11-20T08:30:00.250000+08:00"
    created = await post(
        tenant,
        {"member_id": member["id"], "type": "checkin", "properties": {"streak": 3}, "occurred_at": at, "source": "app"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "created"
    event = (await tenant.get(f"{API}/events/{created.json()['id']}")).json()
    assert event["member_id"] == member["id"]
    assert event["type"] == "checkin"
    assert event["properties"] == {"streak": 3}
    assert datetime.fromisoformat(event["occurred_at"]) == datetime.fromisoformat(at)
    assert event["source"] == "app"
    assert event["idempotency_key"] is None


async def test_by_external_id_and_default_time(tenant: Tenant) -> None:
    member = await tenant.member(external_id="u-ext")
    before = datetime.now(UTC)
    created = await post(tenant, {"external_id": "u-ext", "type": "order.paid", "properties": {"amount": 42.5}})
    assert created.status_code == 201, created.text
    event = (await tenant.get(f"{API}/events/{created.json()['id']}")).json()
    assert event["member_id"] == member["id"]
    assert datetime.fromisoformat(event["occurred_at"]) >= before - timedelta(seconds=1)
    assert event["source"] == "api"


async def test_same_idempotency_key_is_stored_once(tenant: Tenant, kernel: Kernel) -> None:
    member = await tenant.member()
    body = {"member_id": member["id"], "type": "checkin", "idempotency_key": "checkin-2026-11-23"}
    first = await post(tenant, body)
    again = await post(tenant, {**body, "properties": {"different": True}})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {"id": first.json()["id"], "status": "duplicate"}
    assert await count_events(kernel, tenant) == 2  # member.created and the checkin


async def test_batch_reports_each_item(tenant: Tenant) -> None:
    member = await tenant.member()
    stored = await post(tenant, {"member_id": member["id"], "type": "visit", "idempotency_key": "k-old"})
    batch = [
        {"member_id": member["id"], "type": "visit", "idempotency_key": "k-new"},
        {"member_id": member["id"], "type": "visit", "idempotency_key": "k-old"},
        {"member_id": member["id"], "type": "visit"},
        {"member_id": member["id"], "type": "visit", "idempotency_key": "k-new"},
    ]
    response = await post(tenant, batch)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["duplicates"]) == (2, 2)
    items = body["items"]
    assert [i["status"] for i in items] == ["created", "duplicate", "created", "duplicate"]
    assert items[1]["id"] == stored.json()["id"]
    assert items[3]["id"] == items[0]["id"]
    assert len({i["id"] for i in items}) == 3


async def test_the_same_key_in_another_workspace_is_another_event(tenant: Tenant, other: Tenant) -> None:
    a, b = await tenant.member(), await other.member()
    first = await post(tenant, {"member_id": a["id"], "type": "visit", "idempotency_key": "shared"})
    second = await post(other, {"member_id": b["id"], "type": "visit", "idempotency_key": "shared"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]


async def test_racing_posts_store_each_key_once(tenant: Tenant, kernel: Kernel) -> None:
    """100 concurrent requests, singles and batches, over 10 idempotency keys."""
    member = await tenant.member()
    keys = [f"race-{i}" for i in range(10)]

    async def send(n: int) -> list[dict[str, Any]]:
        key = keys[n % 10]
        if n % 2:
            response = await post(tenant, {"member_id": member["id"], "type": "vote", "idempotency_key": key})
            assert response.status_code in (200, 201), response.text
            return [{**response.json(), "key": key}]
        other_key = keys[(n + 3) % 10]
        response = await post(
            tenant,
            [
                {"member_id": member["id"], "type": "vote", "idempotency_key": key},
                {"member_id": member["id"], "type": "vote", "idempotency_key": other_key},
            ],
        )
        assert response.status_code == 200, response.text
        return [{**item, "key": k} for item, k in zip(response.json()["items"], (key, other_key), strict=True)]

    results = [r for batch in await asyncio.gather(*(send(n) for n in range(100))) for r in batch]
    rows = await kernel.db.fetch(
        "SELECT idempotency_key, COUNT(*) AS n, MIN(id) AS id FROM scrm_event WHERE workspace = {} "
        "AND type = 'vote' GROUP BY idempotency_key",
        tenant.id,
    )
    stored = {row["idempotency_key"]: row["id"] for row in rows}
    assert sorted(stored) == sorted(keys)
    assert all(row["n"] == 1 for row in rows)
    for key in keys:
        mine = [r for r in results if r["key"] == key]
        assert {r["id"] for r in mine} == {stored[key]}, key
        assert sum(r["status"] == "created" for r in mine) == 1, key


# --- listings -------------------------------------------------------------------------------------


async def test_listing_is_newest_first_and_pages_are_stable(tenant: Tenant) -> None:
    member = await tenant.member()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    batch = [
        {"member_id": member["id"], "type": "visit", "occurred_at": (base + timedelta(minutes=i % 5)).isoformat()}
        for i in range(12)
    ]
    assert (await post(tenant, batch)).status_code == 200
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"type": "visit", "limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = (await tenant.get(f"{API}/events", params=params)).json()
        seen += page["items"]
        if len(seen) == 5:  # an event arriving between pages, older than the cursor, shows up later
            late = {"member_id": member["id"], "type": "visit", "occurred_at": base.isoformat()}
            assert (await post(tenant, late)).status_code == 201
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 13
    assert len({e["id"] for e in seen}) == 13
    order = [(e["occurred_at"], e["id"]) for e in seen]
    assert order == sorted(order, reverse=True)


async def test_filters(tenant: Tenant) -> None:
    ann, bob = await tenant.member(), await tenant.member()
    base = datetime(2026, 3, 1, tzinfo=UTC)
    batch = [
        {"member_id": ann["id"], "type": "visit", "occurred_at": base.isoformat()},
        {"member_id": ann["id"], "type": "order.paid", "occurred_at": (base + timedelta(days=1)).isoformat()},
        {"member_id": bob["id"], "type": "visit", "occurred_at": (base + timedelta(days=2)).isoformat()},
    ]
    assert (await post(tenant, batch)).status_code == 200

    async def listed(**params: Any) -> list[tuple[int, str]]:
        response = await tenant.get(f"{API}/events", params=params)
        assert response.status_code == 200, response.text
        return [(e["member_id"], e["type"]) for e in response.json()["items"]]

    assert await listed(type="visit") == [(bob["id"], "visit"), (ann["id"], "visit")]
    assert await listed(member_id=ann["id"], type="order.paid") == [(ann["id"], "order.paid")]
    window = {"after": (base + timedelta(hours=12)).isoformat(), "before": (base + timedelta(days=2)).isoformat()}
    assert await listed(**window) == [(ann["id"], "order.paid")]
    naive = {"after": "2026-03-02T00:00:00", "type": "visit"}  # read as UTC
    assert await listed(**naive) == [(bob["id"], "visit")]


async def test_member_timeline(tenant: Tenant, other: Tenant) -> None:
    member = await tenant.member(tags=["new"])
    assert (await post(tenant, {"member_id": member["id"], "type": "checkin"})).status_code == 201
    timeline = await tenant.get(f"{API}/members/{member['id']}/events")
    assert timeline.status_code == 200, timeline.text
    assert [e["type"] for e in timeline.json()["items"]][:1] == ["checkin"]
    items = timeline.json()["items"]
    assert [(e["type"], e["properties"]) for e in items][1:] == [("member.created", {"tags": ["new"]})]
    problem(await other.get(f"{API}/members/{member['id']}/events"), 404, "not-found")


async def test_a_cursor_of_another_listing_is_refused(tenant: Tenant) -> None:
    for _ in range(3):
        await tenant.member()
    members = (await tenant.get(f"{API}/members", params={"limit": 1})).json()
    problem(await tenant.get(f"{API}/events", params={"cursor": members["next_cursor"]}), 400, "invalid-cursor")


# --- the core's own changes are events --------------------------------------------------------------


async def test_core_changes_are_events(tenant: Tenant) -> None:
    member = await tenant.member(external_id="core-1")
    mid = member["id"]
    assert (await tenant.patch(f"{API}/members/{mid}", {"display_name": "Ann"})).status_code == 200
    assert (await tenant.post(f"{API}/members/{mid}/tags", {"tags": ["vip"]})).status_code == 200
    assert (await tenant.delete(f"{API}/members/{mid}/tags/vip")).status_code == 204
    assert (await tenant.delete(f"{API}/members/{mid}")).status_code == 204
    items = (await tenant.get(f"{API}/events", params={"member_id": mid})).json()["items"]
    got = sorted((e["type"], repr(sorted(e["properties"].items()))) for e in items)
    assert got == sorted(
        [
            ("member.created", "[('tags', [])]"),
            ("member.updated", "[('changed', ['display_name'])]"),
            ("tags.changed", "[('added', ['vip']), ('removed', [])]"),
            ("tags.changed", "[('added', []), ('removed', ['vip'])]"),
            ("member.erased", "[]"),
        ]
    )


async def test_an_import_records_member_events(tenant: Tenant) -> None:
    body = b'{"external_id": "imp-1", "tags": ["x"]}\n{"external_id": "imp-2"}\n'
    response = await tenant.client.post(
        f"{API}/members/import", content=body, headers=tenant.headers(**{"Content-Type": "application/x-ndjson"})
    )
    assert response.status_code == 200, response.text
    items = (await tenant.get(f"{API}/events")).json()["items"]
    assert sorted((e["type"], e["properties"]["tags"]) for e in items) == [
        ("member.created", []),
        ("member.created", ["x"]),
    ]
    assert {e["source"] for e in items} == {"import"}


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda m: {"member_id": 2**62, "type": "visit"}, "member_id"),
        (lambda m: {"external_id": "nobody", "type": "visit"}, "external_id"),
        (lambda m: {"type": "visit"}, "member_id"),
        (lambda m: {"member_id": m, "external_id": "x", "type": "visit"}, "member_id"),
        (lambda m: {"member_id": m, "type": "Not A Type"}, "type"),
        (lambda m: {"member_id": m, "type": "member.created"}, "type"),
        (lambda m: {"member_id": m, "type": "visit", "occurred_at": "2026-11-23T10:00:00"}, "occurred_at"),
        (lambda m: {"member_id": m, "type": "visit", "occurred_at": "yesterday"}, "occurred_at"),
        (lambda m: {"member_id": m, "type": "visit", "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
        (lambda m: {"member_id": m, "type": "visit", "occurred_at": "1900-01-01T00:00:00Z"}, "occurred_at"),
        (lambda m: {"member_id": m, "type": "visit", "properties": {"big": "x" * 20_000}}, "properties"),
        (lambda m: {"member_id": m, "type": "visit", "idempotency_key": ""}, "idempotency_key"),
        (lambda m: {"member_id": m, "type": "visit", "colour": "red"}, "colour"),
    ],
)
async def test_bad_event_is_a_422_naming_the_field(tenant: Tenant, kernel: Kernel, make: Any, field: str) -> None:
    member = await tenant.member()
    before = await count_events(kernel, tenant)
    body = problem(await post(tenant, make(member["id"])), 422, "validation-error")
    assert field in [e["field"] for e in body["errors"]], body
    assert await count_events(kernel, tenant) == before


async def test_a_batch_with_one_bad_event_stores_none(tenant: Tenant, kernel: Kernel) -> None:
    member = await tenant.member()
    before = await count_events(kernel, tenant)
    batch = [{"member_id": member["id"], "type": "visit"} for _ in range(5)]
    batch[3]["member_id"] = 2**62
    body = problem(await post(tenant, batch), 422, "validation-error")
    assert [e["field"] for e in body["errors"]] == ["[3].member_id"]
    batch[3]["member_id"] = member["id"]
    batch[4]["occurred_at"] = "2026-11-23T10:00:00"  # found by the body's decoder: the position is kept
    body = problem(await post(tenant, batch), 422, "validation-error")
    assert [e["field"] for e in body["errors"]] == ["[4].occurred_at"]
    assert await count_events(kernel, tenant) == before


async def test_oversized_and_empty_batches_are_refused(tenant: Tenant, kernel: Kernel) -> None:
    member = await tenant.member()
    before = await count_events(kernel, tenant)
    problem(await post(tenant, [{"member_id": member["id"], "type": "visit"}] * 1001), 422, "validation-error")
    problem(await post(tenant, []), 422, "validation-error")
    assert await count_events(kernel, tenant) == before


async def test_an_erased_member_gets_no_new_events(tenant: Tenant) -> None:
    member = await tenant.member()
    assert (await tenant.delete(f"{API}/members/{member['id']}")).status_code == 204
    body = problem(await post(tenant, {"member_id": member["id"], "type": "visit"}), 422, "validation-error")
    assert body["errors"][0]["message"] == "the member was erased"


# --- delivery to plugins (embedded default: jobs run in this process) ------------------------------


async def tally(tenant: Tenant) -> int:
    rows = await Tally.select(Tally.events).where(Tally.workspace == tenant.id)
    return int(rows[0]["events"]) if rows else 0


async def test_events_reach_enabled_plugins_once(tenant: Tenant, other: Tenant, kernel: Kernel) -> None:
    await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": True})
    member, stranger = await tenant.member(), await other.member()
    batch = [{"member_id": member["id"], "type": "visit"} for _ in range(30)]
    assert (await post(tenant, batch)).status_code == 200
    assert (await post(other, {"member_id": stranger["id"], "type": "visit"})).status_code == 201
    await kernel.jobs.idle()
    assert await tally(tenant) == 31  # the 30 visits and member.created (the plugin was on by then)
    assert await tally(other) == 0  # not enabled there
    seen = await Seen.count().where(Seen.workspace == tenant.id)
    assert seen == 31
    # delivering the same rows again (a crash after delivery, before the row was deleted) changes nothing
    ids = [row["event_id"] for row in await Seen.select(Seen.event_id).where(Seen.workspace == tenant.id)]
    past = datetime.now(UTC) - timedelta(seconds=1)
    await kernel.db.fetch(
        "INSERT INTO scrm_outbox (workspace, event_ids, available_at, attempts, created_at) VALUES ({}, {}, {}, 0, {})",
        tenant.id,
        json.dumps(ids),
        past,
        past,
    )
    await kernel.outbox.drain()
    assert await tally(tenant) == 31
    redelivered = await Seen.select(Seen.redeliveries).where(Seen.workspace == tenant.id)
    assert [row["redeliveries"] for row in redelivered] == [1] * 31


async def test_a_failing_handler_keeps_the_row_and_retries_later(tenant: Tenant, kernel: Kernel) -> None:
    await tenant.post(f"{API}/plugins", {"name": "testplugin", "enabled": True})
    member = await tenant.member()
    await kernel.jobs.idle()
    testplugin.FAIL_TYPES.add("fragile")
    try:
        # two writes, most likely delivered by one job in one group: the failing one holds back only itself
        assert (await post(tenant, {"member_id": member["id"], "type": "fragile"})).status_code == 201
        assert (await post(tenant, {"member_id": member["id"], "type": "sturdy"})).status_code == 201
        await kernel.jobs.idle()
        rows = await kernel.db.fetch(
            "SELECT attempts, last_error, available_at FROM scrm_outbox WHERE workspace = {}", tenant.id
        )
        assert len(rows) == 1
        assert rows[0]["attempts"] == 1
        assert "testplugin refuses fragile events" in rows[0]["last_error"]
        status = await kernel.outbox.status()
        assert status.failing_rows >= 1
    finally:
        testplugin.FAIL_TYPES.discard("fragile")
    assert await tally(tenant) == 2  # member.created and the sturdy event
    assert await kernel.outbox.retry_now() >= 1
    await kernel.jobs.idle()
    assert await kernel.db.fetch("SELECT id FROM scrm_outbox WHERE workspace = {}", tenant.id) == []
    assert await tally(tenant) == 3


# --- the core's own handler: member activity ---------------------------------------------------------


async def test_delivered_events_mark_members_active(tenant: Tenant, kernel: Kernel) -> None:
    ann, bob, cy = await tenant.member(), await tenant.member(), await tenant.member()
    t = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    batch = [
        {"member_id": ann["id"], "type": "checkin", "occurred_at": t.isoformat()},
        {"member_id": ann["id"], "type": "order.paid", "occurred_at": (t - timedelta(days=3)).isoformat()},
        {"member_id": bob["id"], "type": "checkin", "occurred_at": (t - timedelta(days=40)).isoformat()},
    ]
    assert (await post(tenant, batch)).status_code == 200
    assert (await tenant.patch(f"{API}/members/{cy['id']}", {"display_name": "Cy"})).status_code == 200
    await kernel.jobs.idle()

    async def active(member: dict[str, Any]) -> str | None:
        value: str | None = (await tenant.get(f"{API}/members/{member['id']}")).json()["last_active_at"]
        return value

    assert datetime.fromisoformat(await active(ann) or "") == t
    assert datetime.fromisoformat(await active(bob) or "") == t - timedelta(days=40)
    assert await active(cy) is None  # the core's own events (member.created/updated) are not engagement

    # an older event arriving late, or the same events delivered again, never move it back
    late = {"member_id": ann["id"], "type": "checkin", "occurred_at": (t - timedelta(days=100)).isoformat()}
    assert (await post(tenant, late)).status_code == 201
    await kernel.jobs.idle()
    await kernel.members.mark_active(await kernel.workspaces.ref(tenant.id), [])
    assert datetime.fromisoformat(await active(ann) or "") == t

    async def ids(**params: Any) -> list[int]:
        response = await tenant.get(f"{API}/members", params=params)
        assert response.status_code == 200, response.text
        return [m["id"] for m in response.json()["items"]]

    since = (t - timedelta(days=30)).isoformat()
    assert await ids(active_after=since) == [ann["id"]]
    assert await ids(inactive_since=since) == [bob["id"], cy["id"]]


# --- one delivery, one transaction ---------------------------------------------------------------------


async def test_handlers_see_each_event_and_a_failing_one_undoes_the_delivery(
    tenant: Tenant, kernel: Kernel, plugin: Any
) -> None:
    """Per-event and batch handlers of a delivery share its transaction: when one raises, what the
    others wrote is rolled back with it, and the redelivery applies everything once."""
    singles: list[int] = []
    batches: list[list[int]] = []
    failing = {"on": True}

    async def one(workspace: Any, event: EventOut) -> None:
        singles.append(event.id)
        await kernel.db.fetch(
            "UPDATE scrm_member SET display_name = display_name || '+' WHERE id = {}", event.member_id
        )

    async def many(events: list[EventOut]) -> None:
        batches.append([e.id for e in events])
        if failing["on"]:
            raise RuntimeError("not now")

    for name in (plugin(scrm_event_recorded=one), plugin(scrm_event_batch_recorded=many)):
        assert (await tenant.post(f"{API}/plugins", {"name": name, "enabled": True})).status_code == 200
    member = await tenant.member(display_name="M")
    await kernel.jobs.idle()  # member.created: delivered to neither handler's success
    response = await post(tenant, [{"member_id": member["id"], "type": "visit"}] * 3)
    ids = [item["id"] for item in response.json()["items"]]
    await kernel.jobs.idle()
    assert batches[-1] == ids  # the batch handler ran (and raised) before the per-event one
    assert (await tenant.get(f"{API}/members/{member['id']}")).json()["display_name"] == "M"
    failing["on"] = False
    await kernel.outbox.retry_now()
    await kernel.jobs.idle()
    assert sorted(i for i in singles if i in ids) == ids  # each once: the failed attempt ran none
    assert ids in batches[-2:]  # (member.created's row may be delivered before or after)
    # member.created and the three visits, each applied once
    assert (await tenant.get(f"{API}/members/{member['id']}")).json()["display_name"] == "M++++"


async def test_record_refuses_members_it_cannot_use(tenant: Tenant, other: Tenant, kernel: Kernel) -> None:
    """What plugins call checks members too: another workspace's, or an erased one, store nothing."""
    stranger, gone = await other.member(), await tenant.member()
    assert (await tenant.delete(f"{API}/members/{gone['id']}")).status_code == 204
    ws = await kernel.workspaces.ref(tenant.id)
    before = await count_events(kernel, tenant)
    for member_id in (stranger["id"], gone["id"]):
        with pytest.raises(ValidationFailed) as raised:
            await kernel.events.record(ws, [NewEvent(gone["id"], "visit"), NewEvent(member_id, "visit")])
        assert "[1].member_id" in [e["field"] for e in raised.value.errors or []]
    assert await count_events(kernel, tenant) == before


# --- workspace events: facts about the workspace itself, recorded by the server ------------------------


async def test_a_workspace_event_is_recorded_by_the_server_listed_and_kept_apart(
    tenant: Tenant, other: Tenant, kernel: Kernel
) -> None:
    member = await tenant.member()
    ws = await kernel.workspaces.ref(tenant.id)
    alert = NewEvent(None, "ops.alert", {"level": "high"}, source="ops", idempotency_key="alert-1")
    # alone (on PostgreSQL, outside a transaction: the grouped single write) and in a batch with members'
    [alone] = await kernel.events.record(ws, [alert])
    assert alone.status == "created"
    visit, second, again = await kernel.events.record(
        ws, [NewEvent(member["id"], "visit"), NewEvent(None, "ops.alert", source="ops"), alert]
    )
    assert (visit.status, second.status, again.status) == ("created", "created", "duplicate")
    assert again.id == alone.id
    event = (await tenant.get(f"{API}/events/{alone.id}")).json()
    assert (event["member_id"], event["type"], event["properties"], event["source"]) == (
        None,
        "ops.alert",
        {"level": "high"},
        "ops",
    )

    async def listed(**params: Any) -> list[tuple[int | None, str]]:
        response = await tenant.get(f"{API}/events", params=params)
        assert response.status_code == 200, response.text
        return [(e["member_id"], e["type"]) for e in response.json()["items"]]

    assert await listed(has_member="false") == [(None, "ops.alert"), (None, "ops.alert")]
    assert (None, "ops.alert") not in await listed(has_member="true")
    assert set(await listed()) == {(None, "ops.alert"), (member["id"], "visit"), (member["id"], "member.created")}
    assert await listed(has_member="false", type="visit") == []
    problem(await tenant.get(f"{API}/events", params={"has_member": "maybe"}), 422, "validation-error")
    # never part of a member's timeline or export
    timeline = (await tenant.get(f"{API}/members/{member['id']}/events")).json()["items"]
    assert {e["type"] for e in timeline} == {"visit", "member.created"}
    export = (await tenant.get(f"{API}/members/{member['id']}/export")).json()
    assert "ops.alert" not in [e["type"] for e in export["events"]]
    # another workspace sees none of them
    problem(await other.get(f"{API}/events/{alone.id}"), 404, "not-found")
    assert (await other.get(f"{API}/events", params={"has_member": "false"})).json()["items"] == []


async def test_api_clients_always_name_a_member(tenant: Tenant, kernel: Kernel) -> None:
    """A member-less event comes from the deployment itself: a client cannot post one, alone or in a batch."""
    member = await tenant.member()
    before = await count_events(kernel, tenant)
    body = problem(await post(tenant, {"type": "ops.alert"}), 422, "validation-error")
    assert [e["field"] for e in body["errors"]] == ["member_id"]
    batch = [{"member_id": member["id"], "type": "visit"}, {"type": "ops.alert"}]
    body = problem(await post(tenant, batch), 422, "validation-error")
    assert [e["field"] for e in body["errors"]] == ["[1].member_id"]
    problem(await post(tenant, {"member_id": None, "type": "ops.alert"}), 422, "validation-error")
    assert await count_events(kernel, tenant) == before


async def test_a_workspace_event_next_to_an_unusable_member_is_not_stored(
    tenant: Tenant, other: Tenant, kernel: Kernel
) -> None:
    stranger = await other.member()
    ws = await kernel.workspaces.ref(tenant.id)
    before = await count_events(kernel, tenant)
    with pytest.raises(ValidationFailed) as raised:
        await kernel.events.record(ws, [NewEvent(None, "ops.alert"), NewEvent(stranger["id"], "visit")])
    assert [e["field"] for e in raised.value.errors or []] == ["[0].member_id"]  # among events naming a member
    with pytest.raises(ValidationFailed) as raised:  # the core's types are about a member
        await kernel.events.record(ws, [NewEvent(None, "ops.alert"), NewEvent(None, "member.updated")])
    assert [e["field"] for e in raised.value.errors or []] == ["[1].type"]
    assert await count_events(kernel, tenant) == before


async def test_a_workspace_event_is_delivered_and_moves_no_member(tenant: Tenant, kernel: Kernel, plugin: Any) -> None:
    singles: list[EventOut] = []
    batches: list[list[EventOut]] = []

    async def one(event: EventOut) -> None:
        singles.append(event)

    async def many(events: list[EventOut]) -> None:
        batches.append(events)

    for name in (plugin(scrm_event_recorded=one), plugin(scrm_event_batch_recorded=many), "testplugin"):
        await tenant.enable(name)
    member = await tenant.member()
    await kernel.jobs.idle()
    ws = await kernel.workspaces.ref(tenant.id)
    [alert] = await kernel.events.record(ws, [NewEvent(None, "ops.alert", {"n": 1})])
    await kernel.jobs.idle()
    await kernel.outbox.drain()
    [delivered] = [e for e in singles if e.id == alert.id]
    assert (delivered.member_id, delivered.type, delivered.properties) == (None, "ops.alert", {"n": 1})
    assert alert.id in [e.id for batch in batches for e in batch]
    assert await kernel.db.fetch("SELECT id FROM scrm_outbox WHERE workspace = {}", tenant.id) == []
    assert await Seen.count().where(Seen.event_id == alert.id) == 1
    # an engagement type, but no one's: no member became active
    assert (await tenant.get(f"{API}/members/{member['id']}")).json()["last_active_at"] is None


# --- the migration to workspace events -------------------------------------------------------------------

#: the core's last migration before ``scrm_event.member`` became nullable
BEFORE_WORKSPACE_EVENTS = "2026-12-10T09:00:01:000000"


@pytest.fixture
async def fresh_settings(settings: Settings, tmp_path: Path, kernel: Kernel) -> AsyncIterator[Settings]:
    """Settings naming a new, empty database on this run's engine (the session kernel gets its tables back after)."""
    name = None
    if BACKEND == "postgres":
        name = f"scrm_upgrade_{secrets.token_hex(4)}"
        await pg_admin(f'CREATE DATABASE "{name}"')
        base = DatabaseURL.parse(PG_URL)
        url = f"postgresql://{base.user}@{base.host}:{base.port}/{name}"
    else:
        url = f"sqlite://{tmp_path / 'upgrade.sqlite3'}"
    try:
        yield dataclasses.replace(settings, database=DatabaseURL.parse(url))
    finally:
        kernel.bind_tables()
        if name:
            await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_the_migration_to_workspace_events_keeps_every_stored_event(fresh_settings: Settings) -> None:
    """A database migrated before workspace events, with events in it: migrating keeps every event
    (id, member, properties) and the table's indexes, and the column then takes a workspace event."""
    old = Kernel(fresh_settings)
    await old.db.start()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            assert (await run_forwards(app_name="scrm", migration_id=BEFORE_WORKSPACE_EVENTS)).success
        db = old.db
        [ws] = await db.fetch("INSERT INTO scrm_workspace (slug, name) VALUES ('up', 'Up') RETURNING id")
        [member] = await db.fetch("INSERT INTO scrm_member (workspace) VALUES ({}) RETURNING id", ws["id"])
        stored = []
        for n in range(3):
            stored += await db.fetch(
                "INSERT INTO scrm_event (workspace, member, type, properties, idempotency_key) "
                "VALUES ({}, {}, 'visit', {}, {}) RETURNING id",
                ws["id"],
                member["id"],
                json.dumps({"n": n}),
                f"k{n}",
            )
        with pytest.raises(Exception, match=r"(?i)not null|null value"):
            await db.fetch("INSERT INTO scrm_event (workspace, type) VALUES ({}, 'ops.alert')", ws["id"])
        await old.migrate()
        rows = await db.fetch("SELECT id, member, properties FROM scrm_event ORDER BY id")
        assert [(r["id"], r["member"], json_value(r["properties"])) for r in rows] == [
            (s["id"], member["id"], {"n": n}) for n, s in enumerate(stored)
        ]
        [alert] = await db.fetch(
            "INSERT INTO scrm_event (workspace, type) VALUES ({}, 'ops.alert') RETURNING id", ws["id"]
        )
        assert alert["id"] > stored[-1]["id"]
        if BACKEND == "postgres":
            indexes = await db.fetch("SELECT indexname AS name FROM pg_indexes WHERE tablename = 'scrm_event'")
        else:
            indexes = await db.fetch("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'scrm_event'")
        assert {
            "scrm_event_workspace_time",
            "scrm_event_workspace_type_time",
            "scrm_event_member_time",
        } <= {i["name"] for i in indexes}
        # a key stays unique per workspace: on SQLite the table's unique index, on PostgreSQL (whose
        # event log is partitioned by month) the primary key of scrm_event_key
        duplicate = (
            "INSERT INTO scrm_event_key (workspace, idempotency_key, event_id) VALUES ({}, 'k1', 0)"
            if BACKEND == "postgres"
            else "INSERT INTO scrm_event (workspace, member, type, idempotency_key) VALUES ({}, {}, 'visit', 'k1')"
        )
        with pytest.raises(Exception, match=r"(?i)unique"):
            await db.fetch(duplicate, *([ws["id"]] if BACKEND == "postgres" else [ws["id"], member["id"]]))
    finally:
        await old.db.stop()
