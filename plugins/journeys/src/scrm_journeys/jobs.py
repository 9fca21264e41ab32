"""The journeys plugin's jobs: ``journeys.tick`` (every 5 seconds: take the due runs' steps; any number
of workers may run it), ``journeys.advance`` (the same, queued at once when members enter) and
``journeys.dates`` (hourly: members whose date attribute falls today enter ``date``-triggered journeys)."""

from __future__ import annotations

import scrm

from scrm_journeys import runner


async def advance(ctx: scrm.JobContext) -> None:
    while await runner.advance(ctx.kernel) >= runner.BATCH:
        pass


async def dates(ctx: scrm.JobContext) -> None:
    await runner.dates(ctx.kernel)


JOBS: list[scrm.Job | scrm.Cron] = [
    scrm.Job("journeys.advance", advance, timeout_s=600),
    # every 5 seconds, not every second: arq queues a cron run a second ahead, and a cron due every
    # second would keep a job always queued (a burst worker would never finish)
    scrm.Cron("journeys.tick", advance, second=set(range(0, 60, 5)), timeout_s=600),
    scrm.Cron("journeys.dates", dates, minute=7, timeout_s=3600),
]
