"""Benchmark channels and journeys on PostgreSQL, in-process, against this machine's own limits.

    uv run python bench/messaging.py [--members 2000] [--waiting 100000]

* **Sends queued/s**: ``channels`` ``send`` for N consenting members (the consent door, the template
  rendered, the message and its timeline event stored), 8 at a time — against the same number of raw
  asyncpg transactions inserting one row each (the machine's limit for one small write transaction).
* **Delivered/s** to an SMTP server on loopback (aiosmtpd): the ``channels.deliver`` job for each
  queued message, 8 at a time (claim, the door again, the rate check, SMTP, the attempt and the
  event) — against aiosmtplib sending the same number of messages straight to the same server.
* **Journey steps/s with 100,000 members waiting**: 2,000 due runs of a one-step journey (add a tag)
  taken by ``runner.advance`` while 100,000 other runs wait (due in a day) — against the same with
  no one waiting (the cost of a step must not grow with the waiting runs).

Prints the figures and their ratios. The machine is shared and loaded: treat the figures as noisy,
the ratios (measured in the same run) as the result.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import asyncpg
from aiosmtpd.controller import Controller
from harness import create_database, drop_database, free_port, pg_dsn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "channels" / "tests"))

import scrm
from scrm_channels import messages
from scrm_journeys import runner
from scrm_journeys.schemas import Action, Definition, JourneyIn, Trigger

CONCURRENCY = 8


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


async def gather_limited(n: int, calls: list[Any]) -> list[Any]:
    gate = asyncio.Semaphore(n)

    async def one(call: Any) -> Any:
        async with gate:
            return await call()

    return await asyncio.gather(*(one(c) for c in calls))


async def main(members: int, waiting: int) -> None:
    name = await create_database()
    os.environ.pop("SCRM_REDIS_URL", None)
    try:
        settings = scrm.Settings.from_env(
            {
                "SCRM_DATABASE_URL": pg_dsn(name),
                "SCRM_SECRET_KEY": "bench-" + "k" * 40,
                "SCRM_DATA_DIR": tempfile.mkdtemp(),
            }
        )
        kernel = scrm.Kernel(settings)
        await kernel.migrate()
        await kernel.start()
        try:
            await run(kernel, name, members, waiting)
        finally:
            await kernel.stop()
    finally:
        await drop_database(name)


async def run(kernel: scrm.Kernel, database: str, n: int, waiting: int) -> None:
    sink = Sink()
    port = free_port()
    smtp = Controller(sink, hostname="127.0.0.1", port=port)
    smtp.start()
    ws_out = await kernel.workspaces.create(scrm.WorkspaceCreate(slug="bench", name="Bench"))
    for plugin in ("channels", "journeys"):
        await kernel.sql.fetch(
            "INSERT INTO scrm_workspace_plugin (workspace, plugin, enabled, settings, updated_at) VALUES ({}, {}, TRUE, {}, {})",
            ws_out.id,
            plugin,
            "{}",
            datetime.now(UTC),
        )
    kernel.forget_cached()
    ws = await kernel.workspace_ref("bench")
    from scrm_channels import catalog
    from scrm_channels.schemas import ProviderIn, TemplateIn

    await catalog.create_provider(
        kernel,
        ws,
        ProviderIn(
            name="mail",
            kind="smtp",
            config={"host": "127.0.0.1", "port": port, "sender": "b@b.test", "security": "none"},
            rate_per_minute=100_000,
        ),
    )
    await catalog.create_template(
        kernel, ws, TemplateIn(name="hi", subject="Hi {{ member.display_name }}", body="Hello")
    )
    ids = []
    for i in range(n):
        m = await kernel.members.create(
            ws, scrm.MemberCreate(display_name=f"M{i}", identities={"email": f"m{i}@b.test"})
        )
        ids.append(m.id)
    for start in range(0, n, 1000):  # the ledger takes 1,000 records a batch
        await kernel.consents.append(
            ws,
            [
                scrm.ConsentIn(member_id=i, purpose="marketing.email", status="granted")
                for i in ids[start : start + 1000]
            ],
        )
    await kernel.jobs.idle()

    # --- sends queued/s (delivery held back) ---
    real_enqueue = messages._enqueue

    async def hold(kernel: scrm.Kernel, message_id: int, attempts: int) -> None:
        return None

    messages._enqueue = hold  # type: ignore[assignment]
    started = time.perf_counter()
    results = await gather_limited(
        CONCURRENCY, [lambda i=i: messages.send(kernel, ws, i, "marketing.email", "hi", {}, f"r{i}") for i in ids]
    )
    queued_s = time.perf_counter() - started
    messages._enqueue = real_enqueue  # type: ignore[assignment]
    assert all(r.status == "queued" for r in results), {r.status for r in results}
    await kernel.jobs.idle()

    conn = await asyncpg.connect(pg_dsn(database))
    await conn.execute("CREATE TABLE bench_row (id bigserial primary key, a bigint, b text, at timestamptz)")
    pool = await asyncpg.create_pool(pg_dsn(database), min_size=CONCURRENCY, max_size=CONCURRENCY)

    async def raw_insert(i: int) -> None:
        async with pool.acquire() as c, c.transaction():
            await c.execute("INSERT INTO bench_row (a, b, at) VALUES ($1, $2, now())", i, "x" * 40)

    started = time.perf_counter()
    await gather_limited(CONCURRENCY, [lambda i=i: raw_insert(i) for i in range(n)])
    raw_insert_s = time.perf_counter() - started

    # --- delivered/s ---
    started = time.perf_counter()
    await gather_limited(CONCURRENCY, [lambda r=r: messages.deliver(kernel, r.message_id) for r in results])
    delivered_s = time.perf_counter() - started
    await kernel.jobs.idle()
    assert sink.count == n, sink.count

    async def raw_smtp(i: int) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "b@b.test", f"m{i}@b.test", "Hi"
        mail.set_content("Hello")
        await aiosmtplib.send(mail, hostname="127.0.0.1", port=port, start_tls=False)

    started = time.perf_counter()
    await gather_limited(CONCURRENCY, [lambda i=i: raw_smtp(i) for i in range(n)])
    raw_smtp_s = time.perf_counter() - started
    smtp.stop()

    # --- journey steps/s, without and with waiting runs ---
    from scrm_journeys import journeys

    journey = await journeys.create(
        kernel,
        ws,
        JourneyIn(
            name="j",
            definition=Definition(
                trigger=Trigger(kind="event", event_type="bench"), steps=[Action(action="tag_add", tag="t")]
            ),
        ),
    )

    async def due_runs(key: str) -> None:
        at = datetime.now(UTC) - timedelta(seconds=1)
        await conn.executemany(
            "INSERT INTO journeys_run (workspace, journey, version, member_id, entry_key, position, status, due_at, waited, test, detail, entered_at, updated_at) "
            "VALUES ($1, $2, 1, $3, $4, 0, 'active', $5, FALSE, FALSE, '', $5, $5)",
            [(ws.id, journey.id, i, key, at) for i in ids],
        )

    async def steps(key: str) -> float:
        await due_runs(key)
        started = time.perf_counter()
        taken = 0
        while (step := await runner.advance(kernel, concurrency=CONCURRENCY)) > 0:
            taken += step
        assert taken == n, taken
        return n / (time.perf_counter() - started)

    await conn.execute("ANALYZE")
    empty = await steps("a")
    later = datetime.now(UTC) + timedelta(days=1)
    await conn.execute(
        "INSERT INTO journeys_run (workspace, journey, version, member_id, entry_key, position, status, due_at, waited, test, detail, entered_at, updated_at) "
        "SELECT $1, $2, 1, 10000000 + g, 'w', 0, 'waiting', $3, TRUE, FALSE, '', now(), now() FROM generate_series(1, $4) g",
        ws.id,
        journey.id,
        later,
        waiting,
    )
    await conn.execute("ANALYZE")
    full = await steps("b")
    await pool.close()
    await conn.close()

    print(f"members: {n}; concurrency {CONCURRENCY}; PostgreSQL, in-process")
    print(
        f"sends queued/s        {n / queued_s:8.0f}   raw 1-row transactions/s {n / raw_insert_s:8.0f}   ratio {raw_insert_s / queued_s:.2f}"
    )
    print(
        f"delivered/s (SMTP)    {n / delivered_s:8.0f}   raw aiosmtplib sends/s   {n / raw_smtp_s:8.0f}   ratio {raw_smtp_s / delivered_s:.2f}"
    )
    print(
        f"journey steps/s       {full:8.0f}   with {waiting} waiting;  {empty:8.0f} with none   ratio {full / empty:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--waiting", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(main(args.members, args.waiting))
