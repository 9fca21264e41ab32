"""Scaling out is adding processes: two ``scrm serve`` and two ``scrm worker`` processes on one
PostgreSQL database and one Redis keep every guarantee a single process gives.

Everything runs as an operator would run it: the database is set up with ``scrm migrate``,
``scrm workspaces create`` and ``scrm keys create``, the plugins, a points rule, a reward with a
small stock and a lottery campaign through the API. Concurrent traffic then goes through *both* API
processes — events whose idempotency keys are sent to both, check-ins and lottery entries sent
twice, more redemptions than the reward's stock and than the members' balances allow — while the
workers deliver; one worker is killed with SIGKILL mid-delivery and a fresh one takes its place.
Once the outbox is drained, the database itself is asked whether the invariants hold: each event
stored once, each effect applied once, no oversold reward, no negative balance, balances equal to
their ledgers.

It always runs on PostgreSQL, whichever engine the rest of the suite uses (it makes a database of its
own on ``SCRM_TEST_PG_URL``): several processes sharing one SQLite file is not a deployment scrm supports.
Redis is a private ``redis-server`` on a free port (as in ``test_worker.py``), so no other test
run's jobs can reach these workers.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from conftest import PG_URL, RedisServer
from scrm.settings import DatabaseURL
from scrm.testing import pg_admin

pytestmark = pytest.mark.engine_independent
API = "/api/v1"
MEMBERS = 16
POOR = 4  # members with no purchase events: only their check-in's points to spend
BULK_BATCHES = 8  # batches of purchase events (two of them sent to both servers)
BATCH = 150
SINGLE_EVENTS = 120  # single purchase events; every third key is sent to both servers
RULE_POINTS = 1
STOCK = 5  # the scarce reward's stock, far below the attempts on it
SCARCE_COST = 20
PLAIN_COST = 40  # an unlimited reward, redeemed until balances run out
GRANT = 100  # points each member but the poor ones is given up front
CONCURRENCY = 12
REQUEST_TIMEOUT_S = 30.0
TRAFFIC_TIMEOUT_S = 90.0
DRAIN_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Deployment:
    """The processes of one scrm installation, started with the same environment."""

    env: dict[str, str]
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def cli(self, *args: str) -> str:
        """Run one ``scrm`` command to completion and return what it printed."""
        done = subprocess.run(
            [sys.executable, "-m", "scrm.cli", *args], env=self.env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"scrm {' '.join(args)}: {done.stderr}"
        return done.stdout

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """Start a long-running ``scrm`` command in its own process group, its output to the log."""
        with (self.logs / f"{args[0]}-{len(self.processes)}.log").open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "scrm.cli", *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        """SIGTERM to every process still running, SIGKILL to any still there 10 s later."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log_tail(self, chars: int = 4000) -> str:
        text = "".join(f"--- {p.name}\n{p.read_text(errors='replace')}" for p in sorted(self.logs.glob("*.log")))
        return text[-chars:]


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """A fresh database of its own, dropped afterwards."""
    name = f"scrm_scale_{secrets.token_hex(4)}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    base = DatabaseURL.parse(PG_URL)
    try:
        yield f"postgresql://{base.user}@{base.host}:{base.port}/{name}"
    finally:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def deployment(database: str, redis_server: RedisServer, tmp_path: Path) -> Iterator[Deployment]:
    env = {
        **os.environ,
        "SCRM_DATABASE_URL": database,
        "SCRM_REDIS_URL": redis_server.url,
        "SCRM_SECRET_KEY": secrets.token_urlsafe(48),
        "SCRM_DATA_DIR": str(tmp_path / "data"),
        "SCRM_OUTBOX_LEASE_SECONDS": "3",  # the killed worker's claims are taken over within seconds
        "SCRM_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    deployment = Deployment(env=env, logs=tmp_path)
    try:
        yield deployment
    finally:
        deployment.stop()


async def wait_for(condition: Callable[[], Awaitable[bool]], seconds: float, what: str, logs: Deployment) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}\n{logs.log_tail()}")


async def serve(deployment: Deployment) -> str:
    """An API process on a free port, once it answers ``/readyz``."""
    port = free_port()
    process = deployment.start("serve", "--port", str(port))
    base = f"http://127.0.0.1:{port}"

    async def ready() -> bool:
        assert process.poll() is None, f"scrm serve exited\n{deployment.log_tail()}"
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(f"{base}/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    await wait_for(ready, 60, f"scrm serve on port {port}", deployment)
    return base


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


@dataclass
class Traffic:
    """Both API processes, and what they answered."""

    clients: list[httpx.AsyncClient]
    statuses: dict[str, Counter[tuple[int, str]]] = field(default_factory=dict)
    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENCY))

    async def send(self, what: str, server: int, path: str, body: Any) -> httpx.Response:
        """POST ``body`` to one of the servers; the answer's status and problem kind are tallied."""
        async with self.gate:
            response = await self.clients[server % len(self.clients)].post(f"{API}{path}", json=body)
        assert response.status_code < 500, f"{what}: {response.status_code} {response.text}"
        kind = response.json().get("type", "") if response.status_code >= 400 else ""
        self.statuses.setdefault(what, Counter())[(response.status_code, kind.removeprefix("urn:scrm:problem:"))] += 1
        return response


async def test_two_servers_and_two_workers_keep_every_invariant(deployment: Deployment) -> None:
    deployment.cli("migrate")
    deployment.cli("workspaces", "create", "Scale out", "--slug", "scale-out")
    key = deployment.cli("keys", "create", "--workspace", "scale-out", "--scopes", "*").strip().splitlines()[-1]
    servers = [await serve(deployment), await serve(deployment)]
    workers = [deployment.start("worker"), deployment.start("worker")]
    headers = {"Authorization": f"Bearer {key}"}
    clients = [httpx.AsyncClient(base_url=b, headers=headers, timeout=REQUEST_TIMEOUT_S) for b in servers]
    db = await asyncpg.connect(deployment.env["SCRM_DATABASE_URL"])
    killer: asyncio.Task[int] | None = None
    try:
        traffic = Traffic(clients)
        setup = await _set_up(traffic)
        rng = random.Random(13)
        members: list[int] = setup["members"]
        buyers = members[POOR:]

        async def kill_a_worker_mid_delivery() -> int:
            """SIGKILL the first worker once delivery is under way and the outbox still has work,
            then start a fresh worker in its place; returns the outbox rows left at the kill."""

            async def delivering() -> bool:
                # delivering (rule awards made) with work left: rows waiting, claimed under a lease,
                # or taken by a delivery transaction not yet committed (PostgreSQL's common path:
                # the rows stay, deleted but locked, until it commits or dies)
                awards = await db.fetchval("SELECT COUNT(*) FROM points_transaction WHERE rule_id IS NOT NULL")
                pending = await db.fetchval("SELECT COUNT(*) FROM scrm_outbox")
                return bool(awards and pending)

            await wait_for(delivering, TRAFFIC_TIMEOUT_S, "the workers to start delivering", deployment)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(timeout=10)
            pending: int = await db.fetchval("SELECT COUNT(*) FROM scrm_outbox")
            workers.append(deployment.start("worker"))
            return pending

        killer = asyncio.create_task(kill_a_worker_mid_delivery())
        await asyncio.wait_for(_drive(traffic, setup, buyers, rng), TRAFFIC_TIMEOUT_S)
        pending_at_kill = await asyncio.wait_for(killer, TRAFFIC_TIMEOUT_S)
        assert pending_at_kill > 0, "the outbox was empty when the worker was killed: nothing was interrupted"
        assert workers[0].returncode == -signal.SIGKILL

        async def drained() -> bool:
            return not await db.fetchval("SELECT COUNT(*) FROM scrm_outbox")

        await wait_for(drained, DRAIN_TIMEOUT_S, "the outbox to drain", deployment)
        assert all(w.poll() is None for w in workers[1:]), deployment.log_tail()
        assert "pending: 0 event(s)" in deployment.cli("outbox", "status")
        await _check_invariants(db, traffic, setup)
    finally:
        if killer is not None:
            killer.cancel()
        await db.close()
        for client in clients:
            await client.aclose()


async def _set_up(traffic: Traffic) -> dict[str, Any]:
    """Plugins, a rule, two rewards, an open campaign and the members, through the API."""

    async def ok(path: str, body: Any, server: int = 0) -> dict[str, Any]:
        response = await traffic.send("setup", server, path, body)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    await ok("/plugins", {"name": "points", "enabled": True})
    await ok("/plugins", {"name": "lottery", "enabled": True})
    rule = await ok("/points/rules", {"name": "Purchase", "event_type": "purchase", "points": RULE_POINTS})
    scarce = await ok("/points/rewards", {"name": "Signed poster", "cost": SCARCE_COST, "stock": STOCK})
    plain = await ok("/points/rewards", {"name": "Coupon", "cost": PLAIN_COST})
    campaign = await ok(
        "/lottery/campaigns",
        {
            "name": "Live draw",
            "opens_at": iso(timedelta(minutes=-1)),
            "closes_at": iso(timedelta(hours=1)),
            "prizes": [{"name": "Phone", "quantity": 1}],
            "entry_mode": "tickets",
            "ticket_rules": [{"event_type": "purchase", "tickets": 1}],
            "max_tickets": 10_000,
        },
    )
    await ok(f"/lottery/campaigns/{campaign['id']}/open", None)
    created = await asyncio.gather(*(ok("/members", {"display_name": f"M{i}"}, server=i) for i in range(MEMBERS)))
    for member in created[POOR:]:  # enough for a few redemptions before any purchase is delivered
        await ok(f"/points/members/{member['id']}/adjustments", {"amount": GRANT, "reason": "welcome"})
    return {
        "members": [m["id"] for m in created],
        "rule": rule["id"],
        "scarce": scarce["id"],
        "plain": plain["id"],
        "campaign": campaign["id"],
    }


async def _drive(traffic: Traffic, setup: dict[str, Any], buyers: list[int], rng: random.Random) -> None:
    """Every kind of write at once, spread over both servers, with the duplicates a retrying client
    or a double tap sends."""
    members: list[int] = setup["members"]
    sends: list[Awaitable[httpx.Response]] = []
    for b in range(BULK_BATCHES):
        batch = [
            {"member_id": rng.choice(buyers), "type": "purchase", "idempotency_key": f"bulk-{b}-{i}"}
            for i in range(BATCH)
        ]
        for server in (0, 1) if b < 2 else (b,):
            sends.append(traffic.send("batch", server, "/events", batch))
    for i in range(SINGLE_EVENTS):
        event = {"member_id": rng.choice(buyers), "type": "purchase", "idempotency_key": f"one-{i}"}
        for server in (0, 1) if i % 3 == 0 else (i,):
            sends.append(traffic.send("event", server, "/events", event))
    for n, member in enumerate(members):
        ref = {"member_id": member}
        for server in (0, 1):
            sends.append(traffic.send("checkin", server + n, "/points/checkins", ref))
            sends.append(traffic.send("entry", server + n, f"/lottery/campaigns/{setup['campaign']}/entries", ref))
            sends.append(traffic.send("scarce", server + n, f"/points/rewards/{setup['scarce']}/redemptions", ref))
            for _ in range(2):
                sends.append(traffic.send("plain", server + n, f"/points/rewards/{setup['plain']}/redemptions", ref))
    rng.shuffle(sends)
    await asyncio.gather(*sends)


async def _check_invariants(db: asyncpg.Connection, traffic: Traffic, setup: dict[str, Any]) -> None:
    statuses = traffic.statuses
    members: list[int] = setup["members"]
    keys = BULK_BATCHES * BATCH + SINGLE_EVENTS

    # every event stored once per idempotency key; each single POST answered created exactly once
    purchases = await db.fetch(
        "SELECT id, member AS member_id, idempotency_key FROM scrm_event WHERE type = 'purchase'"
    )
    assert len(purchases) == keys
    assert len({r["idempotency_key"] for r in purchases}) == keys
    assert statuses["event"][(201, "")] == SINGLE_EVENTS
    assert statuses["event"][(200, "")] == SINGLE_EVENTS // 3

    # each event's effects applied once: one award per rule and event, one ticket per campaign and event
    awards = await db.fetch(
        "SELECT event_id, COUNT(*) AS n FROM points_transaction WHERE rule_id = $1 GROUP BY event_id", setup["rule"]
    )
    assert {r["event_id"] for r in awards} == {r["id"] for r in purchases}
    assert all(r["n"] == 1 for r in awards)
    tickets = await db.fetch(
        "SELECT event_id, COUNT(*) AS n FROM lottery_ticket_event WHERE campaign = $1 GROUP BY event_id",
        setup["campaign"],
    )
    assert {r["event_id"] for r in tickets} == {r["id"] for r in purchases}
    assert all(r["n"] == 1 for r in tickets)

    # one check-in and one entry per member, whichever server got the second attempt
    checkins = await db.fetch("SELECT member_id, day, COUNT(*) AS n FROM points_checkin GROUP BY member_id, day")
    assert sorted(r["member_id"] for r in checkins) == sorted(members)
    assert all(r["n"] == 1 for r in checkins)
    assert statuses["checkin"] == {(201, ""): MEMBERS, (409, "points-already-checked-in"): MEMBERS}
    assert statuses["entry"] == {(201, ""): MEMBERS, (409, "lottery-already-entered"): MEMBERS}
    entries = await db.fetch(
        "SELECT member_id, entered, tickets FROM lottery_entry WHERE campaign = $1", setup["campaign"]
    )
    assert sorted(r["member_id"] for r in entries) == sorted(members)
    assert all(r["entered"] for r in entries)
    earned = Counter(r["member_id"] for r in purchases)
    assert {r["member_id"]: r["tickets"] for r in entries} == {m: 1 + earned[m] for m in members}

    # no oversold reward: stock never below 0, redemptions = what left the stock = the 201s
    stock = await db.fetchval("SELECT stock FROM points_reward WHERE id = $1", setup["scarce"])
    scarce = await db.fetchval("SELECT COUNT(*) FROM points_redemption WHERE reward_id = $1", setup["scarce"])
    assert stock >= 0
    assert scarce == STOCK - stock
    assert statuses["scarce"][(201, "")] == scarce
    assert set(statuses["scarce"]) <= {(201, ""), (409, "points-out-of-stock"), (409, "points-insufficient")}
    assert statuses["scarce"][(409, "points-out-of-stock")] > 0, statuses["scarce"]  # more attempts than stock
    plain = await db.fetchval("SELECT COUNT(*) FROM points_redemption WHERE reward_id = $1", setup["plain"])
    assert statuses["plain"][(201, "")] == plain
    assert set(statuses["plain"]) <= {(201, ""), (409, "points-insufficient")}
    assert statuses["plain"][(409, "points-insufficient")] > 0, statuses["plain"]  # balances ran out

    # no negative balance, and every balance is the sum of its ledger
    accounts = await db.fetch(
        "SELECT a.member_id, a.balance, COALESCE(SUM(t.amount), 0) AS ledger FROM points_account a "
        "LEFT JOIN points_transaction t ON t.workspace = a.workspace AND t.member_id = a.member_id "
        "GROUP BY a.member_id, a.balance"
    )
    assert sorted(r["member_id"] for r in accounts) == sorted(members)
    assert all(r["balance"] >= 0 and r["balance"] == r["ledger"] for r in accounts), accounts
    spent = await db.fetchval("SELECT COALESCE(-SUM(amount), 0) FROM points_transaction WHERE kind = 'redeem'")
    assert spent == scarce * SCARCE_COST + plain * PLAIN_COST
    failing = await db.fetchval("SELECT COUNT(*) FROM scrm_outbox WHERE last_error IS NOT NULL")
    assert failing == 0
