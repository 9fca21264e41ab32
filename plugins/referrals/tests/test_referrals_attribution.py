"""Attribution: codes (unguessable, one per member and campaign, resolved to a landing, a QR code),
joining with a code, and the rules — first code wins, never a self-invite, never an existing member,
never an erased member joining again — with each refusal a 4xx problem that writes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from referrals_helpers import BASE, campaign, code, inviter, join
from scrm import Kernel
from scrm.testing import BACKEND, problem
from scrm_referrals import attribution, campaigns
from scrm_referrals.codes import ALPHABET, LENGTH


async def test_a_member_gets_one_code_per_campaign(tenant: Any) -> None:
    c = await campaign(tenant, landing_url="https://brand.example/join?c={code}")
    member = await tenant.member(display_name="Ann", external_id="ann")
    replies = await asyncio.gather(
        *(tenant.post(f"{BASE}/campaigns/{c['id']}/codes", {"member_id": member["id"]}) for _ in range(20))
    )
    assert {r.status_code for r in replies} == {200}
    assert len({r.json()["code"] for r in replies}) == 1
    first = replies[0].json()
    assert len(first["code"]) == LENGTH
    assert set(first["code"]) <= set(ALPHABET)
    assert first["link"] == f"https://brand.example/join?c={first['code']}"
    by_external = await tenant.post(f"{BASE}/campaigns/{c['id']}/codes", {"external_id": "ann"})
    assert by_external.json()["code"] == first["code"]
    other_member = await tenant.member(display_name="Bob")
    assert await code(tenant, c["id"], other_member["id"]) != first["code"]


async def test_a_code_resolves_to_a_landing_and_a_qr_code(tenant: Any) -> None:
    c = await campaign(tenant, description="Both get a coffee", landing_url="https://brand.example/j/{code}")
    _, text = await inviter(tenant, c["id"], "Cara")
    landing = await tenant.get(f"{BASE}/codes/{text.lower()}")
    assert landing.status_code == 200, landing.text
    body = landing.json()
    assert (body["code"], body["campaign_id"], body["inviter_name"], body["active"]) == (text, c["id"], "Cara", True)
    qr = await tenant.get(f"{BASE}/codes/{text}/qr")
    assert qr.status_code == 200
    assert qr.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in qr.content
    problem(await tenant.get(f"{BASE}/codes/NOSUCHCODE"), 404, "referrals-unknown-code")
    problem(await tenant.get(f"{BASE}/codes/bad-code!"), 422, "validation-error")


async def test_joining_with_a_code_creates_and_attributes_the_member(tenant: Any, kernel: Kernel) -> None:
    c = await campaign(tenant)
    inviter_id, text = await inviter(tenant, c["id"])
    referral = await join(tenant, text, "dan", source="10.0.0.1", device="dev-1")
    assert (referral["inviter_id"], referral["state"], referral["code"], referral["signals"]) == (
        inviter_id,
        "pending",
        text,
        [],
    )
    member = (await tenant.get(f"/api/v1/members/{referral['invitee_id']}")).json()
    assert member["external_id"] == "dan"
    mine = (await tenant.get(f"{BASE}/referrals", params={"inviter_id": inviter_id})).json()["items"]
    assert [r["id"] for r in mine] == [referral["id"]]


async def test_self_invite_is_refused(tenant: Any, kernel: Kernel) -> None:
    c = await campaign(tenant)
    me = await tenant.member(display_name="Eve", external_id="eve", identities={"phone": "+8613800000000"})
    text = await code(tenant, c["id"], me["id"])
    problem(
        await tenant.post(f"{BASE}/attributions", {"code": text, "member_id": me["id"]}), 409, "referrals-self-invite"
    )
    again = await tenant.post(
        f"{BASE}/joins",
        {"code": text, "member": {"external_id": "eve-2", "identities": {"phone": "+8613800000000"}}},
    )
    problem(again, 409, "referrals-self-invite")
    assert (await tenant.get("/api/v1/members", params={"q": "eve-2"})).json()["items"] == []


async def test_an_existing_member_is_refused(tenant: Any) -> None:
    c = await campaign(tenant)
    _, text = await inviter(tenant, c["id"])
    await tenant.member(display_name="Old", external_id="old")
    body = {"code": text, "member": {"external_id": "old"}}
    problem(await tenant.post(f"{BASE}/joins", body), 409, "referrals-existing-member")
    assert (await tenant.get(f"{BASE}/referrals")).json()["items"] == []


async def test_a_member_created_long_ago_cannot_claim(tenant: Any, kernel: Kernel) -> None:
    c = await campaign(tenant)
    _, text = await inviter(tenant, c["id"])
    old = await tenant.member(display_name="Veteran")
    await kernel.sql.fetch(
        "UPDATE scrm_member SET created_at = {} WHERE id = {}", datetime.now(UTC) - timedelta(hours=2), old["id"]
    )
    problem(
        await tenant.post(f"{BASE}/attributions", {"code": text, "member_id": old["id"]}),
        409,
        "referrals-existing-member",
    )


async def test_the_first_code_wins(tenant: Any) -> None:
    c = await campaign(tenant)
    first_inviter, first = await inviter(tenant, c["id"], "First")
    _, second = await inviter(tenant, c["id"], "Second")
    fresh = await tenant.member(display_name="Fresh")
    replies = await asyncio.gather(
        *(tenant.post(f"{BASE}/attributions", {"code": t, "member_id": fresh["id"]}) for t in [first, second] * 10)
    )
    assert sorted(r.status_code for r in replies) == [201] + [409] * 19
    assert all(r.json()["type"].endswith("referrals-already-attributed") for r in replies if r.status_code == 409)
    won = next(r.json() for r in replies if r.status_code == 201)
    assert won["invitee_id"] == fresh["id"]
    assert len((await tenant.get(f"{BASE}/referrals")).json()["items"]) == 1
    assert won["inviter_id"] in (first_inviter, won["inviter_id"])


async def test_an_erased_member_joining_again_is_refused(tenant: Any, kernel: Kernel) -> None:
    c = await campaign(tenant)
    _, text = await inviter(tenant, c["id"])
    referral = await join(tenant, text, "gina")
    erased = await tenant.delete(f"/api/v1/members/{referral['invitee_id']}")
    assert erased.status_code in (200, 204), erased.text
    problem(
        await tenant.post(f"{BASE}/joins", {"code": text, "member": {"external_id": "gina"}}), 409, "referrals-rejoined"
    )


async def test_an_ended_campaign_takes_no_joins(tenant: Any) -> None:
    c = await campaign(tenant)
    _, text = await inviter(tenant, c["id"])
    ended = await tenant.patch(f"{BASE}/campaigns/{c['id']}", {"state": "ended"})
    assert ended.json()["active"] is False
    problem(
        await tenant.post(f"{BASE}/joins", {"code": text, "member": {"external_id": "late"}}), 409, "referrals-closed"
    )
    assert (await tenant.get(f"{BASE}/codes/{text}")).json()["active"] is False


async def test_fraud_signals_are_recorded(tenant: Any) -> None:
    c = await campaign(tenant, source_limit=2, burst_limit=3)
    _, text = await inviter(tenant, c["id"])
    found = [await join(tenant, text, f"f{i}", source="1.2.3.4", device=f"d{i % 3}") for i in range(4)]
    assert [r["signals"] for r in found] == [[], [], ["shared-source"], ["shared-source", "shared-device", "burst"]]
    flagged = (await tenant.get(f"{BASE}/referrals", params={"flagged": "true"})).json()["items"]
    assert sorted(r["id"] for r in flagged) == sorted(r["id"] for r in found[2:])


async def test_one_identity_joining_many_times_at_once_is_attributed_once(tenant: Any) -> None:
    c = await campaign(tenant)
    _, text = await inviter(tenant, c["id"])
    replies = await asyncio.gather(
        *(
            tenant.post(
                f"{BASE}/joins",
                {"code": text, "member": {"external_id": f"twin-{i}", "identities": {"phone": "+8613900000001"}}},
            )
            for i in range(20)
        )
    )
    assert sorted(r.status_code for r in replies) == [201] + [409] * 19
    assert {r.json()["type"] for r in replies if r.status_code == 409} <= {
        "urn:scrm:problem:referrals-rejoined",
        "urn:scrm:problem:referrals-already-attributed",
    }
    assert len((await tenant.get(f"{BASE}/referrals")).json()["items"]) == 1
    members = (await tenant.get("/api/v1/members", params={"limit": 100})).json()["items"]
    assert sum(1 for m in members if m["external_id"] and m["external_id"].startswith("twin-")) == 1


async def test_concurrent_joins_each_get_their_own_answer(
    tenant: Any, kernel: Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Joins at once (on PostgreSQL they share batches): 30 new members, 10 of one external id, one
    of an existing member and one with an identity invited before — each its own 201 or 409, and
    every member created has exactly one referral, one member.created and one referral.joined event
    and one audit record."""
    sizes: list[int] = []
    write = attribution.JOINS.write_batch

    async def watched(kernel: Kernel, items: Sequence[Any]) -> Sequence[Any]:
        sizes.append(len(items))
        return await write(kernel, items)

    monkeypatch.setattr(attribution.JOINS, "write_batch", watched)
    c = await campaign(tenant, burst_limit=1000)
    codes = [(await inviter(tenant, c["id"], f"inv-{i}"))[1] for i in range(3)]
    await tenant.member(external_id="already-here")
    await join(tenant, codes[0], "first-phone", member={"external_id": "first-phone", "identities": {"phone": "+1"}})
    bodies: list[dict[str, Any]] = [
        {"code": codes[n % 3], "member": {"external_id": f"cj-{n}", "display_name": f"n{n}"}} for n in range(30)
    ]
    bodies += [{"code": codes[1], "member": {"external_id": "cj-same"}} for _ in range(10)]
    bodies += [{"code": codes[2], "member": {"external_id": "already-here"}}]
    bodies += [{"code": codes[2], "member": {"external_id": "cj-phone", "identities": {"phone": "+1"}}}]
    replies = await asyncio.gather(*(tenant.post(f"{BASE}/joins", body) for body in bodies))
    assert [r.status_code for r in replies[:30]] == [201] * 30
    assert sorted(r.status_code for r in replies[30:40]) == [201] + [409] * 9
    for reply in (r for r in replies[30:41] if r.status_code == 409):
        problem(reply, 409, "referrals-existing-member")
    problem(replies[41], 409, "referrals-rejoined")
    joined = [r.json() for r in replies if r.status_code == 201]
    assert [r["code"] for r in joined[:30]] == [codes[n % 3] for n in range(30)]
    invitees = {r["invitee_id"] for r in joined}
    assert len(invitees) == 31
    rows = await kernel.db.fetch(
        "SELECT m.external_id, m.id, (SELECT COUNT(*) FROM referrals_referral r WHERE r.invitee_id = m.id) AS referrals, "
        "(SELECT COUNT(*) FROM scrm_event e WHERE e.member = m.id AND e.type = 'member.created') AS created, "
        "(SELECT COUNT(*) FROM scrm_event e WHERE e.member = m.id AND e.type = 'referral.joined') AS joined, "
        "(SELECT COUNT(*) FROM scrm_audit a WHERE a.workspace = m.workspace AND a.target_id = CAST(m.id AS TEXT) "
        "AND a.target_type = 'member') AS audited FROM scrm_member m WHERE m.workspace = {}",
        tenant.id,
    )
    by_external = {r["external_id"]: r for r in rows}
    assert {r["id"] for r in rows if r["external_id"].startswith("cj-")} == invitees
    for r in rows:
        if r["external_id"].startswith("cj-"):
            assert (r["referrals"], r["created"], r["joined"], r["audited"]) == (1, 1, 1, 1), dict(r)
    assert "cj-phone" not in by_external
    assert by_external["already-here"]["referrals"] == 0
    if BACKEND == "postgres":
        assert max(sizes) > 1, sizes


async def test_concurrent_joins_share_their_code_lookups(tenant: Any, kernel: Kernel) -> None:
    """Joins at once with codes not yet looked up: each finds its own code (an unknown one is its own
    404), and on PostgreSQL their lookups share statements."""
    c = await campaign(tenant, burst_limit=1000)
    holders = [await inviter(tenant, c["id"], f"look-{i}") for i in range(8)]
    campaigns.FOUND.clear()
    statements: list[str] = []
    fetch = kernel.sql.fetch

    async def counted(sql: str, *args: Any) -> Any:
        statements.append(sql)
        return await fetch(sql, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernel.sql, "fetch", counted)
        replies = await asyncio.gather(
            *(
                tenant.post(f"{BASE}/joins", {"code": text.lower(), "member": {"external_id": f"joiner-{n}"}})
                for n, (_, text) in enumerate(holders * 2)
            ),
            tenant.post(f"{BASE}/joins", {"code": "NOSUCHCODE", "member": {"external_id": "joiner-none"}}),
        )
    assert [r.status_code for r in replies[:16]] == [201] * 16, replies[0].text
    assert [r.json()["inviter_id"] for r in replies[:16]] == [holder for holder, _ in holders * 2]
    problem(replies[16], 404, "referrals-unknown-code")
    lookups = [sql for sql in statements if "FROM referrals_code c JOIN referrals_campaign" in sql]
    if BACKEND == "postgres":
        assert len(lookups) < 9, len(lookups)


async def test_concurrent_claims_each_get_their_own_answer(
    tenant: Any, kernel: Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claims at once (on PostgreSQL they share batches): 20 new members, one of them claimed 5
    times, one sharing an identity invited before — each its own 201 or 409, and every member
    attributed has exactly one referral, one referral.joined event and one audit record of it."""
    sizes: list[int] = []
    write = attribution.CLAIMS.write_batch

    async def watched(kernel: Kernel, items: Sequence[Any]) -> Sequence[Any]:
        sizes.append(len(items))
        return await write(kernel, items)

    monkeypatch.setattr(attribution.CLAIMS, "write_batch", watched)
    c = await campaign(tenant, burst_limit=1000)
    codes = [(await inviter(tenant, c["id"], f"inv-{i}"))[1] for i in range(3)]
    await join(tenant, codes[0], "first-phone", member={"external_id": "first-phone", "identities": {"phone": "+1"}})
    fresh = [(await tenant.member(external_id=f"cc-{n}"))["id"] for n in range(20)]
    twin = (await tenant.member(external_id="cc-phone", identities={"phone": "+1"}))["id"]
    bodies = [{"code": codes[n % 3], "member_id": m} for n, m in enumerate(fresh)]
    bodies += [{"code": codes[1], "member_id": fresh[0]} for _ in range(4)]
    bodies += [{"code": codes[2], "member_id": twin}]
    replies = await asyncio.gather(*(tenant.post(f"{BASE}/attributions", body) for body in bodies))
    firsts = [replies[0], *replies[20:24]]
    assert [r.status_code for r in replies[1:20]] == [201] * 19
    assert sorted(r.status_code for r in firsts) == [201] + [409] * 4  # fresh[0]: first code wins
    for reply in (r for r in firsts if r.status_code == 409):
        problem(reply, 409, "referrals-already-attributed")
    problem(replies[24], 409, "referrals-rejoined")
    claimed = [r.json() for r in replies if r.status_code == 201]
    assert sorted(r["invitee_id"] for r in claimed) == sorted(fresh)
    rows = await kernel.db.fetch(
        "SELECT m.id, (SELECT COUNT(*) FROM referrals_referral r WHERE r.invitee_id = m.id) AS referrals, "
        "(SELECT COUNT(*) FROM scrm_event e WHERE e.member = m.id AND e.type = 'referral.joined') AS joined "
        "FROM scrm_member m WHERE m.workspace = {} AND m.external_id LIKE 'cc-%'",
        tenant.id,
    )
    counts = {r["id"]: (r["referrals"], r["joined"]) for r in rows}
    assert counts == {**{m: (1, 1) for m in fresh}, twin: (0, 0)}
    audited = await kernel.db.fetch(
        "SELECT COUNT(*) AS n FROM scrm_audit WHERE workspace = {} AND action = 'referralsClaim'", tenant.id
    )
    assert audited[0]["n"] == 20  # the claims written, none of those refused
    if BACKEND == "postgres":
        assert max(sizes) > 1, sizes


async def test_concurrent_joins_see_each_other_in_their_signals(tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Joins written together (one batch on PostgreSQL) count the ones before them: of 12 joins at
    once from one new device, exactly the first is not flagged ``shared-device``; with a burst limit
    of 5, exactly the first 5 are not flagged ``burst`` (each counts the joins before it). Batches
    are written one at a time here: two written at the same moment cannot see each other's
    uncommitted joins (nor could two single joins at once: the signals are read, not locked)."""
    monkeypatch.setattr(attribution.JOINS, "in_flight", 1)
    c = await campaign(tenant, burst_limit=5)
    _, text = await inviter(tenant, c["id"])
    replies = await asyncio.gather(
        *(
            tenant.post(f"{BASE}/joins", {"code": text, "member": {"external_id": f"dev-{n}"}, "device": "dev-1"})
            for n in range(12)
        )
    )
    assert [r.status_code for r in replies] == [201] * 12
    joined = sorted((r.json() for r in replies), key=lambda r: r["id"])
    assert [("shared-device" in r["signals"]) for r in joined] == [False] + [True] * 11
    assert [("burst" in r["signals"]) for r in joined] == [False] * 5 + [True] * 7
