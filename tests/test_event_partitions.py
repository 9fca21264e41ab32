"""The event log's monthly partitions (PostgreSQL) and what must hold on both engines: events of many
months are stored and listed, an idempotency key stores one event whatever its time, retention's dry
run equals what applying removes — a month of one workspace dropped whole, shared months row by row."""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from conftest import Tenant
from piccolo.apps.migrations.commands.forwards import run_forwards
from scrm.kernel import Kernel
from scrm.services.partitions import AHEAD_MONTHS, Month
from scrm.settings import Settings
from scrm.testing import BACKEND, PG_URL

API = "/api/v1"
#: The last migration before the log was partitioned.
BEFORE_PARTITIONS = "2026-12-10T09:00:01:000000"
postgres_only = pytest.mark.skipif(BACKEND != "postgres", reason="partitions exist on PostgreSQL only")


def at(year: int, month: int, day: int = 10) -> str:
    return datetime(year, month, day, 12, tzinfo=UTC).isoformat()


async def post(tenant: Tenant, member: int, when: str, key: str | None = None) -> Any:
    body = {"member_id": member, "type": "visit", "occurred_at": when, "idempotency_key": key}
    response = await tenant.post(f"{API}/events", body)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def partition_of(kernel: Kernel, event_id: int) -> str:
    rows = await kernel.db.fetch("SELECT tableoid::regclass::text AS name FROM scrm_event WHERE id = {}", event_id)
    return str(rows[0]["name"])


async def test_events_of_many_months_are_stored_in_their_months_and_listed(kernel: Kernel, tenant: Tenant) -> None:
    """30 months of history (a backfill): every event is listed, newest first; on PostgreSQL the
    cron moves them out of the default partition into one partition per month."""
    member = (await tenant.member())["id"]
    months = [Month(2003, 1).plus(n) for n in range(30)]
    ids = [(await post(tenant, member, at(m.year, m.month)))["id"] for m in months]
    if BACKEND == "postgres":
        await kernel.event_partitions.maintain()
        assert [await partition_of(kernel, i) for i in ids] == [m.name for m in months]
        assert set(months) <= set(await kernel.event_partitions.months())
    listed = (await tenant.get(f"{API}/members/{member}/events", params={"limit": "100", "type": "visit"})).json()[
        "items"
    ]
    assert [e["id"] for e in listed] == ids[::-1]
    assert (await post(tenant, member, at(2004, 6, 20)))["id"] > max(ids)  # lands in an existing month


@postgres_only
async def test_the_cron_makes_this_month_and_the_next_ones(kernel: Kernel) -> None:
    await kernel.event_partitions.maintain()
    this = Month.of(datetime.now(UTC))
    assert {this.plus(n) for n in range(AHEAD_MONTHS + 1)} <= set(await kernel.event_partitions.months())
    assert await kernel.event_partitions.maintain() == []  # nothing left to do


async def test_one_key_stores_one_event_whatever_its_month_also_concurrently(kernel: Kernel, tenant: Tenant) -> None:
    """The key's uniqueness cannot live in the partitioned table (it would have to include the
    month): 20 concurrent requests, one key, 20 different months, store one event."""
    member = (await tenant.member())["id"]
    replies = await asyncio.gather(*(post(tenant, member, at(2008, 1 + n % 12, 1 + n), key="once") for n in range(20)))
    assert len({r["id"] for r in replies}) == 1
    assert sorted(r["status"] for r in replies) == ["created"] + ["duplicate"] * 19
    rows = await kernel.db.fetch(
        "SELECT count(*) AS n FROM scrm_event WHERE workspace = {} AND idempotency_key = 'once'", tenant.id
    )
    assert rows[0]["n"] == 1


async def test_retention_drops_a_month_of_one_workspace_and_deletes_rows_of_a_shared_one(
    kernel: Kernel, tenant: Tenant, other: Tenant
) -> None:
    """2006-01 holds only this workspace's events: on PostgreSQL its partition is dropped; 2006-02
    also holds another workspace's: its rows are deleted. The dry run counts what applying removes;
    the purged events' keys are free again; the other workspace keeps its events."""
    ours, theirs = (await tenant.member())["id"], (await other.member())["id"]
    for day in range(1, 6):
        await post(tenant, ours, at(2006, 1, day), key=f"jan-{day}")
        await post(tenant, ours, at(2006, 2, day), key=f"feb-{day}")
    kept = await post(other, theirs, at(2006, 2, 1), key="feb-1")
    await kernel.event_partitions.maintain()
    ws = await kernel.workspaces.ref(tenant.id)
    before, since = datetime(2006, 3, 1, tzinfo=UTC), datetime(2006, 1, 1, tzinfo=UTC)
    assert await kernel.events.purge(ws, before, since=since, dry_run=True) == 10
    assert await kernel.events.purge(ws, before, since=since) == 10
    assert await kernel.events.purge(ws, before, since=since, dry_run=True) == 0
    if BACKEND == "postgres":
        months = await kernel.event_partitions.months()
        assert Month(2006, 1) not in months
        assert Month(2006, 2) in months
    assert (await other.get(f"{API}/events/{kept['id']}")).status_code == 200
    assert (await post(tenant, ours, at(2006, 1, 3), key="jan-3"))["status"] == "created"
    assert (await post(other, theirs, at(2006, 2, 1), key="feb-1"))["status"] == "duplicate"


async def test_erasing_a_member_frees_their_events_keys(kernel: Kernel, tenant: Tenant) -> None:
    """Erasure clears an event's key (it is the client's text): the key stores a new event after."""
    erased, kept = (await tenant.member())["id"], (await tenant.member())["id"]
    await post(tenant, erased, at(2007, 5), key="k-1")
    assert (await tenant.delete(f"{API}/members/{erased}")).status_code == 204
    assert (await post(tenant, kept, at(2007, 5), key="k-1"))["status"] == "created"


@postgres_only
async def test_the_migration_partitions_a_populated_log(kernel: Kernel, tmp_path: Path) -> None:
    """A database with events, made by the migrations before this one, migrated: the same rows, each
    in its month's partition; keys stay unique; ids go on from the same sequence."""
    name = f"scrm_test_migration_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    old = Kernel(
        Settings.from_env({"SCRM_DATABASE_URL": url, "SCRM_DATA_DIR": str(tmp_path), "SCRM_SECRET_KEY": "k" * 48})
    )
    try:
        await old.db.start()
        result = await run_forwards(app_name="scrm", migration_id=BEFORE_PARTITIONS)
        assert result.success, result.message
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "INSERT INTO scrm_workspace (slug, name) VALUES ('w', 'W');"
                "INSERT INTO scrm_member (workspace, external_id, display_name, status, identities, attributes, "
                "created_at, updated_at) SELECT 1, 'm' || i, '', 'active', '{}', '{}', now(), now() "
                "FROM generate_series(1, 20) i;"
                "INSERT INTO scrm_event (workspace, member, type, occurred_at, idempotency_key) "
                "SELECT 1, 1 + i % 20, 'visit', timestamptz '2024-01-15' + i * interval '1 day', "
                "CASE WHEN i % 2 = 0 THEN 'k-' || i END FROM generate_series(1, 700) i"
            )
            before = await conn.fetch("SELECT * FROM scrm_event ORDER BY id")
            await old.migrate()
            assert await conn.fetchval("SELECT relkind::text FROM pg_class WHERE relname = 'scrm_event'") == "p"
            assert [dict(r) for r in await conn.fetch("SELECT * FROM scrm_event ORDER BY id")] == [
                dict(r) for r in before
            ]
            assert await conn.fetchval("SELECT count(*) FROM scrm_event_default") == 0
            assert await conn.fetchval("SELECT count(*) FROM scrm_event_key") == 350
            months = await conn.fetchval("SELECT count(DISTINCT tableoid) FROM scrm_event")
            assert months == 24  # 2024-01-16 .. 2025-12-15
            with pytest.raises(asyncpg.UniqueViolationError):
                await conn.execute("INSERT INTO scrm_event_key VALUES (1, 'k-2', 1)")
            fresh = await conn.fetchval(
                "INSERT INTO scrm_event (workspace, member, type) VALUES (1, 1, 'visit') RETURNING id"
            )
            assert fresh == 701
        finally:
            await conn.close()
    finally:
        await old.db.stop()
        kernel.bind_tables()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_reads_give_the_same_answers_whatever_the_process_knows_of_the_partitions(
    kernel: Kernel, tenant: Tenant, other: Tenant
) -> None:
    """On PostgreSQL a listing and a look-up by id are shaped by a picture of the partitions the
    process took earlier (``EventPartitions.layout``). Taken before months were made, before rows
    moved out of the default partition and before later events (recent or backfilled), it must
    give the same answers as a fresh one: every event listed newest first, page by page, and found
    by id; another workspace's event is a 404."""
    member = (await tenant.member())["id"]
    ids = [(await post(tenant, member, at(2010, month)))["id"] for month in (1, 2, 3)]  # default partition
    stale = await kernel.event_partitions.layout()
    ids.append((await post(tenant, member, datetime.now(UTC).isoformat()))["id"])
    await kernel.event_partitions.maintain()  # 2010's months made, their rows moved there
    ids += [(await post(tenant, member, at(2010, 2, 20)))["id"], (await post(tenant, member, at(2011, 7)))["id"]]
    theirs = (await post(other, (await other.member())["id"], at(2010, 2)))["id"]
    newest_first = [ids[3], ids[5], ids[2], ids[4], ids[1], ids[0]]
    for picture in ("stale", "fresh"):
        kernel.event_partitions._layout = stale if picture == "stale" else None  # as another process may hold it
        params = {"limit": "100", "type": "visit"}
        listed = (await tenant.get(f"{API}/members/{member}/events", params=params)).json()["items"]
        assert [e["id"] for e in listed] == newest_first, picture
        paged, cursor = [], None
        while True:
            params = {"limit": "4", "type": "visit"} | ({"cursor": cursor} if cursor else {})
            page = (await tenant.get(f"{API}/events", params=params)).json()
            paged += [e["id"] for e in page["items"]]
            if not (cursor := page["next_cursor"]):
                break
        assert paged == newest_first, picture
        for event_id in ids:
            assert (await tenant.get(f"{API}/events/{event_id}")).json()["id"] == event_id, picture
        assert (await tenant.get(f"{API}/events/{theirs}")).status_code == 404
        assert (await other.get(f"{API}/events/{theirs}")).status_code == 200


@postgres_only
async def test_a_listing_reads_the_months_without_the_default_partition(kernel: Kernel, tenant: Tenant) -> None:
    """PostgreSQL reads the months newest first and stops at the page's end only when the default
    partition is not among the partitions read (else it merges a scan of every month): the listing
    reads the months apart from the default partition, and a look-up by id of a recent event
    looks in the last months only."""
    member = (await tenant.member())["id"]
    recent = await post(tenant, member, datetime.now(UTC).isoformat())
    sql, args = await kernel.event_partitions.newest_first(
        kernel.events.columns, "e.workspace = {} AND e.member = {}", [tenant.id, member], 51
    )
    plan = "\n".join(row["QUERY PLAN"] for row in await kernel.db.fetch(f"EXPLAIN (COSTS OFF) {sql}", *args))
    # scanned once, in the part outside the months only (an index's name may hold the partition's
    # name too: "Index Scan using scrm_event_default_… on scrm_event_default e_3" is one scan)
    assert len(re.findall(r"\bon scrm_event_default e_\d+", plan)) == 1, plan
    assert "Merge Append" not in plan.split("scrm_event_default")[0].split("Append", 1)[1]
    window = await kernel.event_partitions.window(recent["id"])
    assert window is not None
    start, end = window
    assert Month.of(start) >= Month.of(datetime.now(UTC)).plus(-1)
    assert end <= Month.of(datetime.now(UTC)).plus(AHEAD_MONTHS + 1).start
