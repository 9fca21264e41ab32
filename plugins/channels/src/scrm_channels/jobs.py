"""The channels plugin's jobs: ``channels.deliver`` (one message) and ``channels.sweep`` (every five
seconds: what is due, and what a lost job or a dead worker left)."""

from __future__ import annotations

import scrm

from scrm_channels import messages


async def deliver(ctx: scrm.JobContext, message_id: int) -> None:
    await messages.deliver(ctx.kernel, message_id)


async def sweep(ctx: scrm.JobContext) -> None:
    await messages.sweep(ctx.kernel)


JOBS: list[scrm.Job | scrm.Cron] = [
    scrm.Job("channels.deliver", deliver, timeout_s=120),
    scrm.Cron("channels.sweep", sweep, second=set(range(0, 60, 5))),
]
