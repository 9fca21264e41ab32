"""Upgrading: the refusals channels counted in its own table move into the core's counters, and the
table goes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import scrm
from scrm import Kernel
from scrm_channels.migrations.channels_2026_12_10t09_00_00_000000 import move_refusals


async def test_refusals_counted_before_move_into_the_cores_counters(kernel: Kernel, tenant: Any) -> None:
    await kernel.db.fetch(
        "CREATE TABLE channels_refusal (id BIGINT, workspace BIGINT, member_id BIGINT, purpose VARCHAR(100), "
        "template VARCHAR(100), reason VARCHAR(200), at TIMESTAMP WITH TIME ZONE)"
    )
    at = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    for i, reason in enumerate(["consent withdrawn", "consent withdrawn", "no email identity"]):
        await kernel.db.fetch(
            "INSERT INTO channels_refusal VALUES ({}, {}, NULL, 'marketing.email', 'hello', {}, {})",
            i,
            tenant.id,
            reason,
            at,
        )
    ws = await kernel.workspaces.ref(tenant.id)
    await kernel.consents.refusals.count(ws, "marketing.email", "consent withdrawn")  # today's: kept apart
    await move_refusals()
    since = datetime(2026, 11, 30, tzinfo=UTC)
    assert await kernel.consents.refusals.totals(ws, since, since) == [
        scrm.RefusalCount("marketing.email", "", "consent withdrawn", 2),
        scrm.RefusalCount("marketing.email", "", "no email identity", 1),
    ]
    assert sum(r.count for r in await kernel.consents.refusals.totals(ws)) == 4
    await move_refusals()  # the table is gone: nothing moves twice
    assert sum(r.count for r in await kernel.consents.refusals.totals(ws)) == 4
