"""What one request of the hot path costs the API process, measured without the network: statements
(and round trips) sent to PostgreSQL per request, and the process's CPU time per request.

    uv run python bench/statements.py [--requests 400] [--concurrency 1] [--redis-db 11] [--show] [--only events …]

The app runs in this process (``httpx.ASGITransport``: no uvicorn, no sockets between client and
app) on a throw-away PostgreSQL database, its jobs queued in Redis database ``--redis-db`` (which
the run flushes; no worker runs, so no delivery is counted), with ``points``, ``polls``,
``contests`` and ``lottery`` enabled. For each route — the single ``POST /api/v1/events``, ``POST
/api/v1/points/checkins``, ``POST /api/v1/polls/{id}/ballots``, a contest's ``POST
…/submissions/{id}/votes`` (one approved entry) and a free draw's ``POST
/api/v1/lottery/campaigns/{id}/entries``, each request a member not used before — it sends
``--requests`` requests, ``--concurrency`` at a time, and counts every statement
asyncpg sends (``BEGIN`` and ``COMMIT`` included) and the CPU time of the process; ``--show``
prints the statements of one request of each. With
``--concurrency 1`` every request is a group commit batch of its own, so the statements are all
that request's; with more, batches form and the count per request falls.

CPU per request includes httpx's client side (the same before and after a change to scrm), so
compare two runs of this script, not its figure with a server's; it moves far less with the
machine's load than requests per second do, which is why it is here.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from asyncpg.connection import Connection
from PIL import Image
from scrm import create_app
from scrm.kernel import Kernel
from scrm.schemas import WorkspaceCreate
from scrm.settings import Settings

PG = "postgresql://postgres@127.0.0.1:5432"
ROUTES = ("events", "checkins", "ballots", "votes", "entries")
_count = [0]
_shown: list[str] | None = None


def count_statements() -> None:
    """Count every statement asyncpg sends: with arguments (``_execute``) or as a simple query."""
    execute, simple = Connection._execute, Connection.execute

    async def counted_execute(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        _count[0] += 1
        if _shown is not None:
            _shown.append(query)
        return await execute(self, query, *args, **kwargs)

    async def counted_simple(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args:  # with arguments it goes through _execute, counted there
            _count[0] += 1
            if _shown is not None:
                _shown.append(query)
        return await simple(self, query, *args, **kwargs)

    Connection._execute = counted_execute  # type: ignore[method-assign]
    Connection.execute = counted_simple  # type: ignore[method-assign]


async def measure(
    name: str,
    requests: int,
    concurrency: int,
    send: Callable[[int], Awaitable[httpx.Response]],
    first: int,
    show: bool,
) -> None:
    global _shown
    for n in range(20):  # warm up: caches, prepared statements
        await send(first + requests + n)
    if show:
        _shown = []
        await send(first + requests + 20)
        print(f"{name}, one request:", *(" ".join(q.split())[:150] for q in _shown), sep="\n  ")
        _shown = None
    statements, cpu = _count[0], time.process_time()
    pending = iter(range(first, first + requests))

    async def client() -> None:
        for n in pending:
            response = await send(n)
            if response.status_code not in (200, 201):
                raise RuntimeError(f"{name}: {response.status_code} {response.text}")

    await asyncio.gather(*(client() for _ in range(concurrency)))
    per = (_count[0] - statements) / requests
    print(
        f"{name:<28} {per:6.2f} statements/request  {1000 * (time.process_time() - cpu) / requests:6.3f} ms CPU/request"
    )


async def run(requests: int, concurrency: int, redis_db: int, show: bool, only: list[str]) -> None:
    name = f"bench_stmts_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{PG}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as data:
            settings = Settings.from_env(
                {
                    "SCRM_DATABASE_URL": f"{PG}/{name}",
                    "SCRM_DATA_DIR": data,
                    "SCRM_SECRET_KEY": "b" * 48,
                    "SCRM_REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
                }
            )
            kernel = Kernel(settings)
            await kernel.migrate()
            await kernel.start()
            await kernel.jobs._redis.flushdb()  # type: ignore[union-attr]
            try:
                await bench(kernel, requests, concurrency, show, only)
            finally:
                await kernel.jobs._redis.flushdb()  # type: ignore[union-attr]
                await kernel.stop()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def bench(kernel: Kernel, requests: int, concurrency: int, show: bool, only: list[str]) -> None:
    ws = await kernel.workspaces.create(WorkspaceCreate(slug="bench", name="Bench"))
    key = (await kernel.keys.create(await kernel.workspaces.ref("bench"), ["*"], "bench")).key
    app = create_app(kernel=kernel, configure_logs=False)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
        for plugin in ("points", "polls", "contests", "lottery"):
            (await client.post("/api/v1/plugins", json={"name": plugin, "enabled": True})).raise_for_status()
        members = len(ROUTES) * (requests + 40) + 1  # the last: the contest's entrant
        conn = await asyncpg.connect(str(kernel.settings.database))
        try:
            await conn.execute(
                "INSERT INTO scrm_member (workspace, external_id, status, attributes, created_at, updated_at) "
                "SELECT $1, 'm' || n, 'active', '{}', now(), now() FROM generate_series(1, $2) n",
                ws.id,
                members,
            )
            low = await conn.fetchval("SELECT min(id) FROM scrm_member WHERE workspace = $1", ws.id)
        finally:
            await conn.close()
        poll = (
            await client.post(
                "/api/v1/polls",
                json={"name": "p", "questions": [{"kind": "single", "title": "Which?", "options": ["A", "B"]}]},
            )
        ).json()
        (await client.post(f"/api/v1/polls/{poll['id']}/open")).raise_for_status()
        question = poll["questions"][0]
        option = question["options"][0]["id"]
        contest, entry = await voting_contest(client, low + len(ROUTES) * (requests + 40))
        draw = await open_draw(client)
        await kernel.jobs.idle()
        count_statements()
        span = requests + 40

        async def event(n: int) -> httpx.Response:
            body = {"member_id": n, "type": "page.view", "properties": {"p": 1}, "idempotency_key": f"k{n}"}
            return await client.post("/api/v1/events", json=body)

        async def checkin(n: int) -> httpx.Response:
            return await client.post("/api/v1/points/checkins", json={"member_id": n})

        async def ballot(n: int) -> httpx.Response:
            body = {"member_id": n, "answers": [{"question_id": question["id"], "option_ids": [option]}]}
            return await client.post(f"/api/v1/polls/{poll['id']}/ballots", json=body)

        async def vote(n: int) -> httpx.Response:
            return await client.post(
                f"/api/v1/contests/contests/{contest}/submissions/{entry}/votes", json={"member_id": n}
            )

        async def enter(n: int) -> httpx.Response:
            return await client.post(f"/api/v1/lottery/campaigns/{draw}/entries", json={"member_id": n})

        print(f"{requests} requests, {concurrency} at a time, PostgreSQL, in-process (pid {os.getpid()})")
        routes = [
            ("events", "POST /api/v1/events (one)", event),
            ("checkins", "POST /points/checkins", checkin),
            ("ballots", "POST /polls/{id}/ballots", ballot),
            ("votes", "POST /contests/…/votes", vote),
            ("entries", "POST /lottery/…/entries", enter),
        ]
        for n, (short, title, send) in enumerate(routes):
            if short in only:
                await measure(title, requests, concurrency, send, low + n * span, show)
        await kernel.jobs.idle()


async def voting_contest(client: httpx.AsyncClient, entrant: int) -> tuple[int, int]:
    """A contest in its voting phase with one approved entry (a PNG): its id and the entry's."""
    soon = datetime.now(UTC) + timedelta(hours=1)
    body = {
        "name": "c",
        "submission_closes_at": soon.isoformat(),
        "voting_opens_at": (soon + timedelta(hours=1)).isoformat(),
        "voting_closes_at": (soon + timedelta(hours=2)).isoformat(),
        "rubric": [{"name": "Art", "weight": 1, "max": 10}],
    }
    created = await client.post("/api/v1/contests/contests", json=body)
    assert created.status_code == 201, created.text
    contest = created.json()["id"]
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(png, "PNG")
    media = [{"filename": "a.png", "data": base64.b64encode(png.getvalue()).decode()}]
    phase = f"/api/v1/contests/contests/{contest}/phase"
    (await client.post(phase, json={"phase": "submission"})).raise_for_status()
    entry = await client.post(
        f"/api/v1/contests/contests/{contest}/submissions", json={"member_id": entrant, "title": "e", "media": media}
    )
    entry.raise_for_status()
    (await client.post(phase, json={"phase": "voting"})).raise_for_status()
    return contest, entry.json()["id"]


async def open_draw(client: httpx.AsyncClient) -> int:
    """An open draw campaign with free entries, no tags and no consent asked: its id."""
    now = datetime.now(UTC)
    body = {
        "name": "d",
        "opens_at": (now - timedelta(minutes=1)).isoformat(),
        "closes_at": (now + timedelta(hours=1)).isoformat(),
        "prizes": [{"name": "Mug", "quantity": 1, "value": 100}],
    }
    created = await client.post("/api/v1/lottery/campaigns", json=body)
    assert created.status_code == 201, created.text
    draw: int = created.json()["id"]
    (await client.post(f"/api/v1/lottery/campaigns/{draw}/open")).raise_for_status()
    return draw


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--redis-db", type=int, default=11, help="flushed at the start and the end")
    parser.add_argument("--show", action="store_true", help="print the statements of one request of each")
    parser.add_argument("--only", nargs="+", choices=ROUTES, default=list(ROUTES), help="measure only these routes")
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.concurrency, args.redis_db, args.show, args.only))
    return 0


if __name__ == "__main__":
    sys.exit(main())
