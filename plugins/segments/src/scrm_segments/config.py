"""A workspace's segments settings: the lifecycle's N and M, and the RFM score thresholds.

Kept in ``segments_config`` behind ``GET/PUT /api/v1/segments/settings``, typed and checked once on
the way in; every field has a default, so a workspace that never saved settings has them all."""

from __future__ import annotations

import itertools
from typing import Annotated

import msgspec
import scrm

from scrm_segments import clock

Days = Annotated[int, msgspec.Meta(ge=1, le=3650)]
Thresholds = Annotated[list[float], msgspec.Meta(min_length=4, max_length=4)]


class SegmentsSettings(msgspec.Struct, forbid_unknown_fields=True):
    """``n_days``: a member is *new* for N days after joining, *silent* after N days without
    engagement; ``m_days``: *churned* after M days (M > N). RFM scores are 1–5 by four ascending
    thresholds each: ``recency_days`` (days since the last order: at most the first gives 5),
    ``frequency`` (orders: at least the last gives 5) and ``monetary`` (their total); a member with no
    order scores 0."""

    n_days: Days = 30
    m_days: Days = 90
    recency_days: Thresholds = msgspec.field(default_factory=lambda: [7.0, 30.0, 90.0, 180.0])
    frequency: Thresholds = msgspec.field(default_factory=lambda: [2.0, 3.0, 5.0, 10.0])
    monetary: Thresholds = msgspec.field(default_factory=lambda: [100.0, 300.0, 1000.0, 3000.0])

    def check(self) -> SegmentsSettings:
        errors = []
        if self.m_days <= self.n_days:
            errors.append(scrm.field_error("m_days", "must be more than n_days"))
        for name in ("recency_days", "frequency", "monetary"):
            values = getattr(self, name)
            if any(b <= a for a, b in itertools.pairwise(values)) or values[0] < 0:
                errors.append(scrm.field_error(name, "four ascending, non-negative numbers"))
        if errors:
            raise scrm.ValidationFailed(f"{len(errors)} setting(s) are not valid", errors=errors)
        return self


_decode = msgspec.json.Decoder(SegmentsSettings)


async def load(kernel: scrm.Kernel, workspace_id: int) -> SegmentsSettings:
    rows = await kernel.sql.fetch("SELECT settings FROM segments_config WHERE workspace = {}", workspace_id)
    return _decode.decode(rows[0]["settings"]) if rows else SegmentsSettings()


async def save(kernel: scrm.Kernel, workspace_id: int, settings: SegmentsSettings) -> SegmentsSettings:
    settings.check()
    await kernel.sql.fetch(
        "INSERT INTO segments_config (workspace, settings, updated_at) VALUES ({}, {}, {}) "
        "ON CONFLICT (workspace) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
        workspace_id,
        msgspec.json.encode(settings).decode(),
        clock.now(),
    )
    return settings
