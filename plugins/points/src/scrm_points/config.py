"""A workspace's points settings: expiry, check-in points, streak bonuses and tiers.

Kept in the plugin's own table (``points_config``) behind ``GET/PUT /api/v1/points/settings`` rather
than in the core's free-form plugin settings, so they are typed, validated once on the way in, and
read in the same transaction as the ledger.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
import scrm
from msgspec import Meta

from scrm_points import clock

#: The largest number of points one value may hold (keeps sums far from 64-bit overflow).
MAX_POINTS = 1_000_000_000
Points = Annotated[int, Meta(ge=1, le=MAX_POINTS)]
TierName = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$", description="lowercase letters, digits, _ and -")]


class Tier(msgspec.Struct, forbid_unknown_fields=True):
    """A tier (会员等级): members whose lifetime points reach ``threshold`` hold it (tag ``tier:<name>``)."""

    name: TierName
    threshold: Annotated[int, Meta(ge=0, le=MAX_POINTS)]


class PointsSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The workspace's settings; every field has a default, so ``{}`` is valid."""

    expiry_months: Annotated[
        int, Meta(ge=0, le=120, description="points expire this many months after earned; 0 never")
    ] = 0
    checkin_points: Annotated[int, Meta(ge=0, le=MAX_POINTS, description="points for every daily check-in")] = 10
    streak_bonuses: dict[Annotated[int, Meta(ge=1, le=3660)], Points] = msgspec.field(
        default_factory=dict
    )  # extra points on the check-in that makes a streak of exactly N days: {7: 50, 30: 300}
    tiers: Annotated[list[Tier], Meta(max_length=20)] = msgspec.field(default_factory=list)

    def check(self) -> PointsSettings:
        """Rules a type cannot say: tier names unique, thresholds strictly increasing."""
        errors: list[dict[str, str]] = []
        seen: set[str] = set()
        for index, tier in enumerate(self.tiers):
            if tier.name in seen:
                errors.append(scrm.field_error(f"tiers[{index}].name", "tier names must be unique"))
            seen.add(tier.name)
            if index and tier.threshold <= self.tiers[index - 1].threshold:
                errors.append(
                    scrm.field_error(f"tiers[{index}].threshold", "thresholds must increase from one tier to the next")
                )
        if errors:
            raise scrm.invalid_fields(errors)
        return self

    def tier_for(self, lifetime: int) -> str | None:
        """The highest tier whose threshold ``lifetime`` points reach, or None."""
        reached = None
        for tier in self.tiers:
            if lifetime >= tier.threshold:
                reached = tier.name
        return reached


_decode = msgspec.json.Decoder(PointsSettings)


async def load(sql: scrm.Sql, workspace_id: int) -> PointsSettings:
    rows = await sql.fetch("SELECT settings FROM points_config WHERE workspace = {}", workspace_id)
    return _decode.decode(rows[0]["settings"]) if rows else PointsSettings()


async def save(sql: scrm.Sql, workspace_id: int, settings: PointsSettings) -> PointsSettings:
    at: datetime = clock.now()
    await sql.fetch(
        "INSERT INTO points_config (workspace, settings, updated_at) VALUES ({}, {}, {}) "
        "ON CONFLICT (workspace) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
        workspace_id,
        msgspec.json.encode(settings.check()).decode(),
        at,
    )
    return settings
