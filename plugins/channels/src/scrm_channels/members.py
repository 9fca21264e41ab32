"""The channels plugin's share of data-subject requests and workspace deletion."""

from __future__ import annotations

from typing import Any

import msgspec
import scrm

from scrm_channels.messages import MESSAGE_COLUMNS, _message


async def export(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> dict[str, Any] | None:
    rows = await kernel.sql.fetch(
        f"SELECT {MESSAGE_COLUMNS} FROM channels_message WHERE workspace = {{}} AND member_id = {{}} ORDER BY id",
        ws.id,
        member_id,
    )
    if not rows:
        return None
    return {
        "messages": [
            {**msgspec.to_builtins(_message(r)), "body": r["body"]}  # what was sent to them, in full
            for r in rows
        ]
    }


async def erase(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> None:
    """Unlink the member's messages and drop what identifies them (address, text); the counts stay."""
    await kernel.sql.fetch(
        "UPDATE channels_message SET member_id = NULL, recipient = '', subject = '', body = '', "
        "status = CASE WHEN status IN ('queued', 'scheduled', 'sending') THEN 'cancelled' ELSE status END "
        "WHERE workspace = {} AND member_id = {}",
        ws.id,
        member_id,
    )
    await kernel.sql.fetch("DELETE FROM channels_cap_lock WHERE workspace = {} AND member_id = {}", ws.id, member_id)


async def delete_workspace(kernel: scrm.Kernel, workspace_id: int) -> None:
    for table in (
        "channels_attempt",
        "channels_message",
        "channels_rule",
        "channels_cap_lock",
        "channels_rate",
        "channels_template",
        "channels_provider",
    ):
        await kernel.sql.fetch(f"DELETE FROM {table} WHERE workspace = {{}}", workspace_id)
