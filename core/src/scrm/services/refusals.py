"""What the consent door refused, counted: the evidence behind "no one was contacted without consent".

Every refusal of :meth:`~scrm.services.consents.Consents.can_contact` — and every one a sender that
asks :meth:`~scrm.services.consents.Consents.decide` reports with :meth:`Refusals.count` — adds one
to a counter per workspace, UTC day, purpose, channel and reason (``scrm_contact_refusal``). A counter
is one upserted row, not a row per attempt: a send path refusing a whole audience costs one small
statement per refusal, the table grows with the days and reasons, not with the traffic, and racing
refusals add up exactly (``INSERT … ON CONFLICT … DO UPDATE SET refused = refused + 1`` is atomic on
both engines). Counters hold no member: nothing to erase, nothing personal to keep.
"""

from __future__ import annotations

import builtins
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scrm.schemas import RefusalCount
from scrm.services.context import WorkspaceRef
from scrm.services.values import now

if TYPE_CHECKING:
    from scrm.kernel import Kernel

#: how long a channel's and a reason's name may be (longer ones are cut)
CHANNEL_LENGTH = 32
REASON_LENGTH = 200


def day_of(at: datetime) -> str:
    """The counter's day: the UTC date, as ISO text (compared as text on both engines)."""
    return at.astimezone(UTC).date().isoformat()


class Refusals:
    """Count refused contact attempts and read the counts (``kernel.consents.refusals``)."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    async def count(self, ws: WorkspaceRef, purpose: str, reason: str, *, channel: str = "") -> None:
        """Count one refused attempt to contact a member of ``ws`` for ``purpose``. Joins the caller's
        transaction when it has one."""
        await self.k.db.fetch(
            "INSERT INTO scrm_contact_refusal (workspace, day, purpose, channel, reason, refused) "
            "VALUES ({}, {}, {}, {}, {}, 1) ON CONFLICT (workspace, day, purpose, channel, reason) "
            "DO UPDATE SET refused = scrm_contact_refusal.refused + 1",
            ws.id,
            day_of(now()),
            purpose,
            channel[:CHANNEL_LENGTH],
            reason[:REASON_LENGTH],
        )

    async def totals(
        self, ws: WorkspaceRef, since: datetime | None = None, until: datetime | None = None
    ) -> builtins.list[RefusalCount]:
        """The refusals counted on the UTC days from ``since``'s to ``until``'s (both included; all
        days when omitted), summed per purpose, channel and reason."""
        where, args = "", []
        if since is not None:
            where += " AND day >= {}"
            args.append(day_of(since))
        if until is not None:
            where += " AND day <= {}"
            args.append(day_of(until))
        rows = await self.k.db.fetch(
            "SELECT purpose, channel, reason, SUM(refused) AS n FROM scrm_contact_refusal "
            f"WHERE workspace = {{}}{where} GROUP BY purpose, channel, reason ORDER BY purpose, channel, reason",
            ws.id,
            *args,
        )
        return [RefusalCount(r["purpose"], r["channel"], r["reason"], int(r["n"])) for r in rows]
