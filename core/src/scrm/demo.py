"""Demo data: a workspace of made-up coffee-shop members, tags and attributes, their visits and
orders, and the newsletter subscribers' consent to marketing by email. It looks like a living
community: members joined over the last 90 days (more of them lately), each visits at a pace of their
own with a weekly rhythm (busier at the weekend), and some stopped coming.

Seeding goes through the same importer and event log the API uses, so ``scrm demo`` also exercises
them; it is safe to run twice (members are upserted by external id, events carry idempotency keys).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import msgspec

from scrm.problems import NotFound
from scrm.schemas import ConsentIn, MemberRef, WorkspaceCreate
from scrm.services.context import WorkspaceRef
from scrm.services.events import NewEvent
from scrm.services.importer import import_members
from scrm.services.values import now

if TYPE_CHECKING:
    from scrm.kernel import Kernel

DEMO_SLUG = "demo"
DEMO_OPERATOR = "demo"
FIRST = [
    "Li",
    "Wang",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Anna",
    "Ben",
    "Chloé",
    "David",
    "Emma",
    "Felix",
    "Grace",
    "Hiro",
]
LAST = ["Wei", "Fang", "Na", "Min", "Jie", "Smith", "Martin", "Rossi", "Kim", "Sato", "Nguyen", "Silva"]
CITIES = ["Shanghai", "Beijing", "Shenzhen", "Hangzhou", "Chengdu", "Singapore", "Berlin", "Paris"]
TAGS = {
    "lifecycle": ["new", "active", "silent", "churned"],
    "interest": ["espresso", "pour-over", "tea", "pastry", "merch"],
    "tier": ["vip"],
}


def demo_rows(count: int, seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for i in range(1, count + 1):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        tags = [rng.choice(TAGS["lifecycle"]), *rng.sample(TAGS["interest"], rng.randint(0, 2))]
        if rng.random() < 0.08:
            tags.append("vip")
        rows.append(
            {
                "external_id": f"demo-{i:06d}",
                "display_name": name,
                "identities": {"email": f"member{i}@example.com", "phone": f"+86138{i:08d}"},
                "attributes": {
                    "city": rng.choice(CITIES),
                    "visits": rng.randint(0, 80),
                    "newsletter": rng.random() < 0.6,
                },
                "tags": tags,
            }
        )
    return rows


#: how long the demo community has existed: members joined over these days, more of them lately
HISTORY_DAYS = 90
#: visits by weekday, Monday first: a coffee shop is busiest at the weekend
WEEKLY_RHYTHM = (0.7, 0.8, 0.85, 0.95, 1.15, 1.6, 1.45)
#: a member's visits per day (on an average weekday): many drop in now and then, a few come daily
VISIT_RATES = (0.0, 0.03, 0.06, 0.1, 0.15, 0.25, 0.45)
#: the share of members who stopped coming at some point (churn)
CHURN = 0.3


def demo_joined(count: int, seed: int = 7) -> list[float]:
    """How many days ago each of ``count`` members joined, over :data:`HISTORY_DAYS`, more of them
    recently (a community that grows): the member growth chart rises instead of one spike today."""
    rng = random.Random(seed * 31 + 1)
    return [HISTORY_DAYS * (1 - rng.random() ** 0.6) for _ in range(count)]


def demo_events(
    member_ids: list[int], seed: int = 7, joined: list[float] | None = None, today: date | None = None
) -> list[NewEvent]:
    """Check-ins and paid orders from each member's joining day until yesterday, or until the day
    they stopped coming (:data:`CHURN`): each member visits at a pace of their own, more at the
    weekend (:data:`WEEKLY_RHYTHM`), so the events chart shows a week's rhythm and a trend; some
    members never come (they are silent). What happens on a date is drawn from the member and that
    date alone, so seeding again the same day adds nothing (the idempotency keys name the date) and a
    later day adds only the days since."""
    today = today or now().date()
    joined = joined if joined is not None else demo_joined(len(member_ids), seed)
    events = []
    for member_id, days_ago in zip(member_ids, joined, strict=True):
        person = random.Random(seed * 1_000_003 + member_id)
        rate = person.choice(VISIT_RATES)
        stopped = int(person.uniform(0, days_ago)) if person.random() < CHURN else 0
        for back in range(int(days_ago), stopped, -1):
            day = today - timedelta(days=back)
            rng = random.Random((seed * 1_000_003 + member_id) * 1_000_033 + day.toordinal())
            if rng.random() >= rate * WEEKLY_RHYTHM[day.weekday()]:
                continue
            at = datetime.combine(day, time(rng.randint(0, 13), rng.randint(0, 59)), UTC)  # 8:00-21:59 in +8
            properties: dict[str, object]
            if rng.random() < 0.6:
                kind, properties = "checkin", {"store": rng.choice(CITIES)}
            else:
                kind, properties = "order.paid", {"amount": round(rng.uniform(18, 120), 2), "currency": "CNY"}
            events.append(NewEvent(member_id, kind, properties, at, "demo", f"demo-{member_id}-{day.isoformat()}"))
    return events


async def _backdate(kernel: Kernel, ws: WorkspaceRef, member_ids: list[int], joined: list[float]) -> None:
    """The demo members' joining times (:func:`demo_joined`) on their rows and ``member.created``
    events, which the import stamped now."""
    at = now()
    rows = [{"id": m, "created_at": at - timedelta(days=d)} for m, d in zip(member_ids, joined, strict=True)]
    source = kernel.sql.rows([("id", "bigint"), ("created_at", "timestamptz")])
    for start in range(0, len(rows), 1000):
        await kernel.sql.fetch(
            f"UPDATE scrm_member SET created_at = x.created_at, updated_at = x.created_at FROM {source} "
            "WHERE scrm_member.id = x.id AND scrm_member.workspace = {}",
            kernel.sql.encode(rows[start : start + 1000]),
            ws.id,
        )
    await kernel.sql.fetch(
        "UPDATE scrm_event SET occurred_at = (SELECT m.created_at FROM scrm_member m WHERE m.id = scrm_event.member) "
        "WHERE workspace = {} AND type = 'member.created'",
        ws.id,
    )


def demo_consents(rows: list[dict[str, object]], joined: list[float] | None = None) -> list[ConsentIn]:
    """Newsletter subscribers granted marketing by email at sign-up (when they joined, ``joined``
    days ago); regulars (more than 30 visits) followed the shop on WeCom a day later, granting
    marketing there: the lottery's winners are then partly reachable, as in life."""
    at = now()
    grants = []
    for index, row in enumerate(rows):
        signed_up = at - timedelta(days=joined[index]) if joined is not None else None
        attributes: dict[str, object] = row["attributes"]  # type: ignore[assignment]
        if attributes["newsletter"]:
            grants.append(
                ConsentIn(
                    external_id=str(row["external_id"]),
                    purpose="marketing.email",
                    status="granted",
                    source="form:signup",
                    policy_version="2026-01",
                    evidence={"form": "signup", "checkbox": "newsletter"},
                    occurred_at=signed_up,
                )
            )
        if int(attributes["visits"]) > 30:  # type: ignore[call-overload]
            grants.append(
                ConsentIn(
                    external_id=str(row["external_id"]),
                    purpose="marketing.wecom",
                    status="granted",
                    source="wecom:follow",
                    policy_version="2026-01",
                    evidence={"channel": "wecom", "action": "follow"},
                    occurred_at=min(signed_up + timedelta(days=1), at) if signed_up else None,
                )
            )
    return grants


async def _ndjson(rows: list[dict[str, object]]) -> AsyncIterator[bytes]:
    for start in range(0, len(rows), 500):
        yield b"".join(msgspec.json.encode(r) + b"\n" for r in rows[start : start + 500])


@dataclass(frozen=True)
class Seeded:
    """What ``scrm demo`` prints: the workspace, a new API key and the console sign-in."""

    slug: str
    key: str
    username: str
    password: str
    members: int  # in the workspace now (a re-run with another --members adds to the earlier ones)
    plugins: list[str]  # the plugins installed here (what the console's plugins page lists)


async def seed(kernel: Kernel, members: int = 1000) -> Seeded:
    """Create (or refresh) the demo workspace, an all-scopes API key and its console owner ``demo``
    (whose password is new on every run: it is printed, never stored in clear)."""
    try:
        await kernel.workspaces.get(DEMO_SLUG)
        new = False
    except NotFound:
        await kernel.workspaces.create(
            WorkspaceCreate(slug=DEMO_SLUG, name="Demo Coffee Club", time_zone="Asia/Shanghai")
        )
        new = True
    ws = await kernel.workspaces.ref(DEMO_SLUG)
    await import_members(kernel, ws, "ndjson", _ndjson(demo_rows(members)))
    for group, names in TAGS.items():
        for name in names:
            await kernel.db.fetch(
                "UPDATE scrm_tag SET group_name = {} WHERE workspace = {} AND name = {}", group, ws.id, name
            )
    refs = [MemberRef(external_id=str(row["external_id"])) for row in demo_rows(members)]
    member_ids = await kernel.members.resolve(ws, refs) if refs else []
    joined = demo_joined(len(member_ids))
    if new:  # a community that grew over 90 days, not one that all joined today
        await _backdate(kernel, ws, member_ids, joined)
    events = demo_events(member_ids, joined=joined)
    for start in range(0, len(events), 1000):
        await kernel.events.record(ws, events[start : start + 1000])
    if new:  # the ledger is append-only: a second run must not grant again
        grants = demo_consents(demo_rows(members), joined)
        for start in range(0, len(grants), 1000):
            await kernel.consents.append(ws, grants[start : start + 1000])
    if new:  # every installed plugin starts enabled (those with demo data seed it; analytics and segments
        # build from the events above); one switched off later stays off
        for name in sorted(kernel.plugins.plugins):
            await kernel.workspaces.set_plugin(ws, name, True, None)
        ws = await kernel.workspaces.ref(DEMO_SLUG)
    await kernel.plugins.call("scrm_demo", only=ws.enabled_plugins, workspace=ws, member_ids=member_ids, kernel=kernel)
    key = await kernel.keys.create(ws, ["*"], "demo")
    password = secrets.token_urlsafe(9)
    try:
        operator = await kernel.operators.by_username(DEMO_OPERATOR)
        await kernel.operators.set_password(operator.id, password)
    except NotFound:
        operator = await kernel.operators.create(DEMO_OPERATOR, password, display_name="Demo Owner")
    await kernel.operators.grant(operator.id, ws, "owner")
    counted = await kernel.db.fetch(
        "SELECT COUNT(*) AS n FROM scrm_member WHERE workspace = {} AND status <> 'erased'", ws.id
    )
    installed = sorted(kernel.plugins.plugins)
    return Seeded(ws.slug, key.key, DEMO_OPERATOR, password, int(counted[0]["n"]), installed)
