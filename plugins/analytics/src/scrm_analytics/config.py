"""A workspace's analytics settings: the composite index's weights and targets, the lifetime used
for private-domain value. Kept in ``analytics_config`` behind ``GET/PUT /api/v1/analytics/settings``."""

from __future__ import annotations

from typing import Annotated

import msgspec
import scrm

from scrm_analytics import periods

Weight = Annotated[float, msgspec.Meta(ge=0, le=1)]
Positive = Annotated[float, msgspec.Meta(gt=0, le=1e9)]


class Weights(msgspec.Struct, forbid_unknown_fields=True):
    """PRODUCT §7's weights; they need not add up to 1 (the index divides by the weights used)."""

    daily_interactions: Weight = 0.18
    reusable_content: Weight = 0.12
    nps: Weight = 0.15
    k: Weight = 0.15
    gmv_share: Weight = 0.20
    cost_per_member: Weight = 0.20


class AnalyticsSettings(msgspec.Struct, forbid_unknown_fields=True):
    """``interactions_target``: engagement events per member per day that scores 1 (more is capped);
    ``k_target``: the K that scores 1; ``cost_target``: the cost per member that scores 0 (lower is
    better, 0 cost scores 1); ``lifetime``: how many repurchase cycles a member's lifetime holds, for
    private-domain value."""

    weights: Weights = msgspec.field(default_factory=Weights)
    interactions_target: Positive = 0.5
    k_target: Positive = 1.0
    cost_target: Positive = 10.0
    lifetime: Positive = 3.0


_decode = msgspec.json.Decoder(AnalyticsSettings)


async def load(kernel: scrm.Kernel, workspace_id: int) -> AnalyticsSettings:
    rows = await kernel.sql.fetch("SELECT settings FROM analytics_config WHERE workspace = {}", workspace_id)
    return _decode.decode(rows[0]["settings"]) if rows else AnalyticsSettings()


async def save(kernel: scrm.Kernel, workspace_id: int, settings: AnalyticsSettings) -> AnalyticsSettings:
    await kernel.sql.fetch(
        "INSERT INTO analytics_config (workspace, settings, updated_at) VALUES ({}, {}, {}) "
        "ON CONFLICT (workspace) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
        workspace_id,
        msgspec.json.encode(settings).decode(),
        periods.now(),
    )
    return settings
