"""Erasure as a data-protection officer checks it: after ``DELETE /members/{id}``, with every installed
first-party plugin enabled and holding data about the member, nothing they gave us — email, phone,
name, the brand's id for them, the free text of their events and submissions — is left in any table,
and every hash-chained ledger still verifies."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from conftest import PLUGINS_WITH_OWN_SUITES, Tenant
from scrm.db import all_tables
from scrm.kernel import Kernel
from scrm.piccolo_app import APP_CONFIG
from scrm.services.events import NewEvent

EMAIL = "erase-me.7Q2@example.org"
PHONE = "+8613912345678"
NAME = "Zhang Xiaoerase"
EXTERNAL = "crm-erase-7Q2"
ATTRIBUTE = "Lane of Forgetting 42"
COMMENT = "my kid Lili loves your oat latte, call me at home"
SUBMISSION = "Photo of my balcony garden in Xuhui, taken by me"
KEY = "client-key-erase-7Q2"
NEEDLES = (EMAIL, PHONE, NAME, EXTERNAL, ATTRIBUTE, COMMENT, SUBMISSION, KEY)
#: a 1×1 PNG, for the contest submission's image
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5f1d4a10000000049454e44ae426082"
    )
).decode()


async def dump(kernel: Kernel) -> dict[str, str]:
    """Every table of the core and every plugin, each row as text: what a ``pg_dump --data-only``
    (or a copy of the SQLite file) would show."""
    tables = all_tables([APP_CONFIG, *kernel.plugins.app_configs()])
    text: dict[str, str] = {}
    for table in tables:
        name = table._meta.tablename
        rows = await kernel.db.fetch(f"SELECT * FROM {name}")
        text[name] = "\n".join(repr(dict(row)) for row in rows)
    return text


async def seed_plugins(kernel: Kernel, tenant: Tenant, member_ids: list[int]) -> None:
    ws = await kernel.workspaces.ref(tenant.slug)
    await kernel.plugins.call("scrm_demo", only=ws.enabled_plugins, workspace=ws, member_ids=member_ids, kernel=kernel)


async def test_erasure_leaves_nothing_the_member_gave_in_any_table(kernel: Kernel, tenant: Tenant) -> None:
    for name in PLUGINS_WITH_OWN_SUITES:
        await tenant.enable(name)
    member = await tenant.member(
        external_id=EXTERNAL,
        display_name=NAME,
        identities={"email": EMAIL, "phone": PHONE},
        attributes={"street": ATTRIBUTE},
    )
    mid = member["id"]
    others = [(await tenant.member(external_id=f"other-{i}", display_name=f"Other {i}"))["id"] for i in range(40)]
    event = {"member_id": mid, "type": "comment.created", "properties": {"text": COMMENT}, "idempotency_key": KEY}
    assert (await tenant.post("/api/v1/events", event)).status_code == 201
    granted = await tenant.post(
        "/api/v1/consents", [{"member_id": mid, "purpose": "marketing.email", "status": "granted", "source": "form"}]
    )
    assert granted.status_code == 201, granted.text
    await seed_plugins(kernel, tenant, [mid, *others])
    if "contests" in PLUGINS_WITH_OWN_SUITES:
        at = datetime.now(UTC)
        contest = await tenant.post(
            "/api/v1/contests/contests",
            {
                "name": "Erasure contest",
                "judge_weight": 0,
                "submission_closes_at": (at + timedelta(days=1)).isoformat(),
                "voting_opens_at": (at + timedelta(days=1)).isoformat(),
                "voting_closes_at": (at + timedelta(days=2)).isoformat(),
            },
        )
        assert contest.status_code == 201, contest.text
        cid = contest.json()["id"]
        opened = await tenant.post(f"/api/v1/contests/contests/{cid}/phase", {"phase": "submission"})
        assert opened.status_code == 200, opened.text
        sent = await tenant.post(
            f"/api/v1/contests/contests/{cid}/submissions",
            {
                "member_id": mid,
                "title": "My garden",
                "body": SUBMISSION,
                "media": [{"filename": "garden.png", "data": PNG}],
            },
        )
        assert sent.status_code == 201, sent.text

    if "audit" in PLUGINS_WITH_OWN_SUITES:  # an operator's note on a request may name the person
        noted = await tenant.post(
            "/api/v1/audit/requests", {"kind": "access", "member_id": mid, "note": f"{NAME} called"}
        )
        assert noted.status_code == 201, noted.text

    # a workspace event names no member: erasure is not about it, and leaves it as it was
    ws = await kernel.workspaces.ref(tenant.slug)
    [alert] = await kernel.events.record(ws, [NewEvent(None, "ops.alert", {"chain": "trail"}, source="ops")])

    before = await dump(kernel)
    for needle in NEEDLES:  # the test would prove nothing if the data never got in
        assert any(needle in text for text in before.values()), needle

    erased = await tenant.delete(f"/api/v1/members/{mid}")
    assert erased.status_code == 204, erased.text

    after = await dump(kernel)
    left = {needle: [t for t, text in after.items() if needle in text] for needle in NEEDLES}
    assert not any(left.values()), left
    # the facts stay, without their content: the event is there, its properties are gone
    events = await kernel.db.fetch(
        "SELECT properties FROM scrm_event WHERE workspace = {} AND member = {} AND type = 'comment.created'",
        tenant.id,
        mid,
    )
    assert len(events) == 1
    assert events[0]["properties"] in ("{}", {})
    assert (await tenant.get(f"/api/v1/events/{alert.id}")).json()["properties"] == {"chain": "trail"}
    verified = await tenant.get("/api/v1/consents/verify")
    assert verified.status_code == 200, verified.text
    assert verified.json()["ok"] is True, verified.text


async def test_consent_evidence_holds_no_personal_data(tenant: Tenant) -> None:
    """The ledger is hashed and outlives erasure, so personal data is refused at the door."""
    mid = (await tenant.member(external_id="ev-1"))["id"]
    base: dict[str, Any] = {"member_id": mid, "purpose": "marketing.email", "status": "granted"}
    for evidence, field in (
        ({"email": "someone"}, "evidence"),
        ({"form": "signup", "said": "write to ann@example.com"}, "evidence"),
        ({"from": "203.0.113.9"}, "evidence"),
        ({"note": "call 13800138000"}, "evidence"),
    ):
        response = await tenant.post("/api/v1/consents", [{**base, "evidence": evidence}])
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == f"[0].{field}", response.text
    refused = await tenant.post("/api/v1/consents", [{**base, "source": "ann@example.com"}])
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "[0].source"
    fine = await tenant.post("/api/v1/consents", [{**base, "evidence": {"form": "signup-2026", "checkbox": True}}])
    assert fine.status_code == 201, fine.text
