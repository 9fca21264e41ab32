"""Demo data: a workspace of made-up coffee-shop members, tags and attributes, their visits and
orders of the last two months, and the newsletter subscribers' consent to marketing by email.

Seeding goes through the same importer and event log the API uses, so ``scrm demo`` also exercises
them; it is safe to run twice (members are upserted by external id, events carry idempotency keys).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import msgspec

from scrm.problems import NotFound
from scrm.schemas import ConsentIn, MemberRef, WorkspaceCreate
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


def demo_events(member_ids: list[int], seed: int = 7) -> list[NewEvent]:
    """Check-ins and paid orders over the last 60 days; some members have none (they are silent)."""
    rng = random.Random(seed)
    start = now().replace(microsecond=0)
    events = []
    for member_id in member_ids:
        for n in range(rng.choice([0, 0, 1, 2, 3, 5, 8])):
            at = start - timedelta(days=rng.uniform(0, 60))
            properties: dict[str, object]
            if rng.random() < 0.6:
                kind, properties = "checkin", {"store": rng.choice(CITIES)}
            else:
                kind, properties = "order.paid", {"amount": round(rng.uniform(18, 120), 2), "currency": "CNY"}
            events.append(NewEvent(member_id, kind, properties, at, "demo", f"demo-{member_id}-{n}"))
    return events


def demo_consents(rows: list[dict[str, object]]) -> list[ConsentIn]:
    """Newsletter subscribers granted marketing by email at sign-up."""
    return [
        ConsentIn(
            external_id=str(row["external_id"]),
            purpose="marketing.email",
            status="granted",
            source="form:signup",
            policy_version="2026-01",
            evidence={"form": "signup", "checkbox": "newsletter"},
        )
        for row in rows
        if row["attributes"]["newsletter"]  # type: ignore[index]
    ]


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
    events = demo_events(member_ids)
    for start in range(0, len(events), 1000):
        await kernel.events.record(ws, events[start : start + 1000])
    if new:  # the ledger is append-only: a second run must not grant again
        grants = demo_consents(demo_rows(members))
        for start in range(0, len(grants), 1000):
            await kernel.consents.append(ws, grants[start : start + 1000])
    if new:  # plugins with demo data start enabled; one switched off later stays off
        for name in sorted(kernel.plugins.implementers("scrm_demo")):
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
    return Seeded(slug=ws.slug, key=key.key, username=DEMO_OPERATOR, password=password)
