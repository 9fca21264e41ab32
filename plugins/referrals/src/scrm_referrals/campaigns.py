"""Campaigns: created, changed, listed, and read (by the hot paths, through a short cache).

A campaign is ``active`` until an operator ends it; it takes codes and joins while active and inside
its window (``starts_at`` … ``ends_at``, either open-ended)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import scrm
from cachetools import TTLCache
from msgspec import UNSET

from scrm_referrals.schemas import ReferralCampaignIn, ReferralCampaignOut, ReferralCampaignPatch, RewardRule

COLUMNS = (
    "id, name, description, state, starts_at, ends_at, inviter_points, inviter_tag, invitee_points, invitee_tag, "
    "levels, second_points, second_tag, daily_cap, total_cap, conversion_event, conversion_days, hold_suspicious, "
    "source_limit, burst_limit, landing_url, lottery_campaign, inviter_tickets, invitee_tickets, second_tickets, "
    "created_at, updated_at"
)
#: the stored columns of the settings (the reward rules are three columns pairs)
SETTINGS = [
    "name",
    "description",
    "starts_at",
    "ends_at",
    "levels",
    "daily_cap",
    "total_cap",
    "conversion_event",
    "conversion_days",
    "hold_suspicious",
    "source_limit",
    "burst_limit",
    "landing_url",
]
#: the columns of a reward rule, ``{role}_{part}``
PARTS = ("points", "tag", "tickets")
ROLES = ("inviter", "invitee", "second")


@dataclass
class Campaign:
    id: int
    workspace: int
    data: ReferralCampaignIn
    state: str
    created_at: datetime
    updated_at: datetime

    def active(self, at: datetime | None = None) -> bool:
        at = at or datetime.now(UTC)
        d = self.data
        return (
            self.state == "active"
            and (d.starts_at is None or d.starts_at <= at)
            and (d.ends_at is None or at < d.ends_at)
        )

    def reward(self, role: str) -> RewardRule:
        """The rule of ``inviter``, ``invitee`` or ``second`` (the inviter's inviter)."""
        return {"inviter": self.data.inviter_reward, "invitee": self.data.invitee_reward}.get(
            role, self.data.second_reward
        )

    def out(self) -> ReferralCampaignOut:
        d = self.data
        return ReferralCampaignOut(
            id=self.id,
            state=self.state,  # type: ignore[arg-type]
            active=self.active(),
            created_at=self.created_at,
            updated_at=self.updated_at,
            **{name: getattr(d, name) for name in SETTINGS},
            inviter_reward=d.inviter_reward,
            invitee_reward=d.invitee_reward,
            second_reward=d.second_reward,
            lottery_campaign_id=d.lottery_campaign_id,
        )


#: Codes with their holder and campaign, reused for a few seconds by this process: the read every join
#: and claim starts with (see :func:`scrm_referrals.codes.find_for_join`). Safe to be a little stale: a
#: code never changes campaign, and the referral's insert re-reads the holder and re-checks the
#: campaign's state and window; other settings changed in another process apply to joins within
#: :data:`CACHE_SECONDS`. A change made here clears it at once.
CACHE_SECONDS = 5.0
FOUND: TTLCache[tuple[int, str], tuple[int, int | None, Campaign]] = TTLCache(maxsize=10_000, ttl=CACHE_SECONDS)


def to_campaign(row: Any, workspace: int) -> Campaign:
    values = {name: row[name] for name in SETTINGS}
    values["starts_at"] = scrm.as_datetime(row["starts_at"])
    values["ends_at"] = scrm.as_datetime(row["ends_at"])
    values["hold_suspicious"] = bool(row["hold_suspicious"])
    for role in ROLES:
        values[f"{role}_reward"] = RewardRule(**{part: row[f"{role}_{part}"] for part in PARTS})
    values["lottery_campaign_id"] = row["lottery_campaign"]
    return Campaign(
        id=row["id"],
        workspace=workspace,
        data=ReferralCampaignIn(**values),
        state=row["state"],
        created_at=scrm.as_datetime(row["created_at"]),
        updated_at=scrm.as_datetime(row["updated_at"]),
    )


def _check(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: ReferralCampaignIn) -> None:
    """What the types cannot say, every field at once: a window that ends before it starts, points
    without the points plugin, tickets without the lottery plugin or a lottery campaign, a
    second-level reward without a second level, a daily cap above the total one."""
    errors = []
    if data.starts_at and data.ends_at and data.ends_at <= data.starts_at:
        errors.append(scrm.field_error("ends_at", "must be later than starts_at"))
    if kernel.service("points", ws) is None:
        for role in ROLES:
            if getattr(data, f"{role}_reward").points:
                errors.append(scrm.field_error(f"{role}_reward.points", "needs the points plugin enabled here"))
    tickets = [role for role in ROLES if getattr(data, f"{role}_reward").tickets]
    if tickets and kernel.service("lottery", ws) is None:
        errors += [
            scrm.field_error(f"{role}_reward.tickets", "needs the lottery plugin enabled here") for role in tickets
        ]
    elif tickets and data.lottery_campaign_id is None:
        errors.append(scrm.field_error("lottery_campaign_id", "is needed to give lottery tickets"))
    if data.levels < 2 and (data.second_reward.points or data.second_reward.tag or data.second_reward.tickets):
        errors.append(scrm.field_error("second_reward", "needs levels 2"))
    if data.daily_cap and data.total_cap and data.daily_cap > data.total_cap:
        errors.append(scrm.field_error("daily_cap", "must not exceed total_cap"))
    if errors:
        raise scrm.invalid_fields(errors)


def _values(data: ReferralCampaignIn) -> list[Any]:
    values: list[Any] = [getattr(data, name) for name in SETTINGS]
    for role in ROLES:
        rule: RewardRule = getattr(data, f"{role}_reward")
        values += [getattr(rule, part) for part in PARTS]
    return [*values, data.lottery_campaign_id]


_STORED = [*SETTINGS, *(f"{role}_{part}" for role in ROLES for part in PARTS), "lottery_campaign"]


async def create(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: ReferralCampaignIn) -> Campaign:
    _check(kernel, ws, data)
    at = datetime.now(UTC)
    row = (
        await kernel.sql.fetch(
            f"INSERT INTO referrals_campaign (workspace, state, created_at, updated_at, {', '.join(_STORED)}) "
            f"VALUES ({{}}, 'active', {{}}, {{}}, {', '.join('{}' for _ in _STORED)}) RETURNING {COLUMNS}",
            ws.id,
            at,
            at,
            *_values(data),
        )
    )[0]
    return to_campaign(row, ws.id)


async def get(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int) -> Campaign:
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM referrals_campaign WHERE id = {{}} AND workspace = {{}}", campaign_id, ws.id
    )
    if not rows:
        raise scrm.NotFound(f"No referral campaign {campaign_id} in this workspace")
    return to_campaign(rows[0], ws.id)


async def listing(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, cursor: str | None, limit: int
) -> scrm.Page[ReferralCampaignOut]:
    """Campaigns, newest first."""
    before = kernel.cursors.decode("referrals", cursor)
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM referrals_campaign WHERE workspace = {{}} AND id < {{}} ORDER BY id DESC LIMIT {{}}",
        ws.id,
        before or scrm.MAX_ID,
        limit + 1,
    )
    found = [to_campaign(r, ws.id) for r in rows]
    return kernel.cursors.page("referrals", [c.out() for c in found], [c.id for c in found], limit)


async def update(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int, patch: ReferralCampaignPatch
) -> Campaign:
    """Change settings (the rules apply to conversions from now on; rewards paid stay as paid)."""
    async with kernel.db.transaction():
        campaign = await get(kernel, ws, campaign_id)
        changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not UNSET}
        state = changes.pop("state", campaign.state)
        merged = msgspec.structs.replace(campaign.data, **changes)
        _check(kernel, ws, merged)
        await kernel.sql.fetch(
            f"UPDATE referrals_campaign SET state = {{}}, updated_at = {{}}, "
            f"{', '.join(f'{name} = {{}}' for name in _STORED)} WHERE id = {{}} AND workspace = {{}}",
            state,
            datetime.now(UTC),
            *_values(merged),
            campaign_id,
            ws.id,
        )
        FOUND.clear()
        return await get(kernel, ws, campaign_id)


async def many(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_ids: set[int]) -> dict[int, Campaign]:
    """Campaigns by id (those of this workspace)."""
    if not campaign_ids:
        return {}
    condition, ids = kernel.sql.any_of("id", sorted(campaign_ids))
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM referrals_campaign WHERE workspace = {{}} AND {condition}", ws.id, ids
    )
    return {r["id"]: to_campaign(r, ws.id) for r in rows}
