"""The channels plugin's public service: ``kernel.service("channels", ws)``.

Other plugins send through it without importing this package (describe it with a ``Protocol`` of
your own)::

    channels = kernel.service("channels", ws)
    if channels is not None:
        result = await channels.send(ws, member_id, "marketing.email", "lottery-winner",
                                     {"prize": "Mug"}, reference=f"lottery:{winner_id}")
        # result.status: queued | scheduled | refused | (a duplicate's status); result.reason

``send`` never raises for a member the door refuses (that is a ``refused`` result, counted); it raises
the plugin's problems (404 member or template, 409 held template or no provider, 422 bad purpose or
data) for what an operator must fix.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import scrm

from scrm_channels import messages
from scrm_channels.schemas import SendOut


class ChannelsService:
    def __init__(self, kernel: scrm.Kernel) -> None:
        self.kernel = kernel

    async def send(
        self,
        ws: scrm.WorkspaceRef,
        member_id: int,
        purpose: str,
        template: str,
        data: dict[str, Any] | None = None,
        reference: str | None = None,
    ) -> SendOut:
        """Send ``template`` to a member for ``purpose`` (idempotent per member, template and
        ``reference``). Joins the caller's transaction when there is one: the message is stored with
        the caller's writes and delivered after they commit."""
        return await messages.send(self.kernel, ws, member_id, purpose, template, data, reference)

    async def has_template(self, ws: scrm.WorkspaceRef, name: str) -> bool:
        rows = await self.kernel.sql.fetch(
            "SELECT 1 AS found FROM channels_template WHERE workspace = {} AND name = {} LIMIT 1", ws.id, name
        )
        return bool(rows)

    async def contacts(self, ws: scrm.WorkspaceRef, since: datetime, until: datetime) -> list[scrm.Contact]:
        """The messages sent to members in ``[since, until)``, as contacts to check against the
        consent ledger (``kernel.consents.without_consent``: what the audit report does). Messages of
        erased members are left out: their link to the member is gone."""
        rows = await self.kernel.sql.fetch(
            "SELECT member_id, purpose, sent_at FROM channels_message WHERE workspace = {} AND status = 'sent' "
            "AND member_id IS NOT NULL AND sent_at >= {} AND sent_at < {} ORDER BY id",
            ws.id,
            since,
            until,
        )
        return [scrm.Contact(int(r["member_id"]), r["purpose"], scrm.as_datetime(r["sent_at"])) for r in rows]
