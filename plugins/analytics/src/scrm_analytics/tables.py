"""The analytics plugin's tables: rollups kept by event delivery, read by every measure.

``analytics_daily`` holds one number per (workspace, local day, metric, key): members joined, events
by type, orders and GMV, points, entries, ballots, engagement by weekday and hour. Distinct counts
cannot be added up from days, so ``analytics_active`` remembers which members were active in which
day / week / month (an insert that finds the row already there counts nothing) and
``analytics_cohort`` counts a join cohort's members active in each later period (the retention
triangle). ``analytics_member`` holds each member's join day, order count and the days of their first two
orders (buyers and repeat buyers are counted on those days, whatever order events arrive in).
``analytics_applied`` makes a redelivered event count once."""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Date, DoublePrecision, Text, Timestamptz, Varchar
from piccolo.table import Table


class Daily(Table, tablename="analytics_daily"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    day = Date()
    metric = Varchar(length=40)
    key = Varchar(length=100, default="")
    n = DoublePrecision(default=0)


class Active(Table, tablename="analytics_active"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    member_id = BigInt()
    grain = Varchar(length=8)  # day | week | month
    period = Date()  # the period's first day


class Cohort(Table, tablename="analytics_cohort"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    grain = Varchar(length=8)  # week | month
    cohort = Date()  # the join period's first day
    period = Date()  # the active period's first day
    n = BigInt(default=0)


class Member(Table, tablename="analytics_member"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    member_id = BigInt()
    joined = Date()
    orders = BigInt(default=0)
    first_order = Date(null=True, default=None)  # the days of the member's first two orders
    second_order = Date(null=True, default=None)


class Applied(Table, tablename="analytics_applied"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    event_id = BigInt()
    applied_at = Timestamptz()


class Config(Table, tablename="analytics_config"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    settings = Text()
    updated_at = Timestamptz()


class Cost(Table, tablename="analytics_cost"):
    id = BigSerial(primary_key=True)
    workspace = BigInt()
    month = Date()
    amount = DoublePrecision(default=0)


TABLES: list[type[Table]] = [Daily, Active, Cohort, Member, Applied, Config, Cost]
