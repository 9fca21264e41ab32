"""The analytics API's bodies. A measure that needs a plugin not enabled in the workspace (K needs
referrals, NPS polls, the lifecycle segments) is ``null`` with its name in ``not_available``."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec

Amount = Annotated[float, msgspec.Meta(ge=0, le=1e12)]


class CostIn(msgspec.Struct, forbid_unknown_fields=True):
    """The operating cost of a month (staff, tools, gifts…), for cost per member."""

    amount: Amount


class CostOut(msgspec.Struct):
    month: date
    amount: float


class Figures(msgspec.Struct):
    """The measures of one period (PRODUCT §7), from the rollups only."""

    start: date
    end: date
    members: int  # at the end of the period: joined minus erased, by then (from the rollups)
    joined: int
    active: int  # members with an engagement event in the period
    active_ratio: float | None
    events: int
    orders: int
    gmv: float
    average_order_value: float | None
    repurchase_rate: float | None  # members with 2+ orders ÷ members with 1+, by the period's end
    gmv_share: float | None  # community orders' GMV ÷ all GMV
    cost: float | None
    cost_per_member: float | None
    private_domain_value: float | None
    k: float | None
    nps: float | None
    points_issued: float
    points_redeemed: float
    entries: int
    ballots: int
    index: float | None  # the composite index, 0–100
    not_available: list[str]


class Summary(msgspec.Struct):
    """A period's figures beside those of the period compared with: ``previous`` is the period just
    before unless the request chose another (``compare``); either way of the same length."""

    period: str
    current: Figures
    previous: Figures
    lifecycle: dict[str, int] | None


class TrendPoint(msgspec.Struct):
    day: date
    joined: int
    active: int
    events: int
    orders: int
    gmv: float


class Heatmap(msgspec.Struct):
    """Engagement events by weekday (0 = Monday) and local hour: ``counts[weekday][hour]``; the best
    send time is the busiest cell."""

    start: date
    end: date
    counts: list[list[int]]
    best_weekday: int | None
    best_hour: int | None


class CohortRow(msgspec.Struct):
    cohort: date
    size: int
    retained: list[float]  # share of the cohort active in its period 0, 1, 2, … (up to now)


class Retention(msgspec.Struct):
    grain: str
    cohorts: list[CohortRow]
