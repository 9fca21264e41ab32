"""The webhooks plugin's settings in a workspace (hook ``scrm_settings_schema``): checked by the core
wherever they are set, stored with their defaults filled in."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import msgspec
import scrm


class WebhooksSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    #: how long a delivery is retried before it is marked failed (Standard Webhooks senders use a day)
    retry_hours: Annotated[int, msgspec.Meta(ge=1, le=72)] = 24


async def retry_for(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> timedelta:
    """How long this workspace's deliveries are retried."""
    stored = (await kernel.workspaces.plugin(ws, "webhooks")).settings
    return timedelta(hours=msgspec.convert(stored, WebhooksSettings).retry_hours)
