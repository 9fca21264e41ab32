"""The verifiable draw through the API: it happens once, after entries close; its published
commitment, seed, entry list and winners check out with the verifier (and a changed file does not);
winners are told only through the consent door, and the unreachable ones are listed."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from lottery_helpers import BASE, draw_body, enter_all, iso, members, opened
from scrm import Kernel
from scrm.cli import main as scrm_cli
from scrm.testing import problem
from scrm_lottery import fairness
from scrm_lottery.cli import lottery


async def drawn(tenant: Any, n: int = 30, body: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[int]]:
    campaign = await opened(tenant, body)
    ids = await members(tenant, n)
    await enter_all(tenant, campaign["id"], ids)
    assert (await tenant.post(f"{BASE}/{campaign['id']}/close")).status_code == 200
    response = await tenant.post(f"{BASE}/{campaign['id']}/draw")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result, ids


async def test_the_draw_reveals_a_seed_matching_the_commitment(tenant: Any) -> None:
    result, ids = await drawn(tenant)
    assert hashlib.sha256(bytes.fromhex(result["seed"])).hexdigest() == result["commitment"]
    assert result["entry_count"] == 30
    assert [w["rank"] for w in result["winners"]] == [0, 1, 2]
    assert [w["prize"] for w in result["winners"]] == ["Phone", "Mug", "Mug"]
    assert {w["member_id"] for w in result["winners"]} <= set(ids)
    assert result["entries_hash"] == fairness.entries_hash(sorted(ids))
    campaign = (await tenant.get(f"{BASE}/{result['campaign_id']}")).json()
    assert campaign["state"] == "drawn"
    assert campaign["seed"] == result["seed"]
    assert (await tenant.get(f"{BASE}/{result['campaign_id']}/result")).json() == result


async def test_the_export_verifies_and_a_changed_one_does_not(tenant: Any, tmp_path: Path) -> None:
    result, ids = await drawn(tenant)
    export = await tenant.get(f"{BASE}/{result['campaign_id']}/entries/export")
    assert export.status_code == 200
    bundle = export.json()
    assert bundle["member_ids"] == sorted(ids)
    assert bundle["tickets"] == [1] * 30
    assert bundle["winners"] == [w["member_id"] for w in result["winners"]]
    winners = fairness.verify(
        bundle["commitment"],
        bytes.fromhex(bundle["seed"]),
        bundle["member_ids"],
        bundle["tickets"],
        bundle["quantities"],
        expected_hash=bundle["entries_hash"],
        expected_winners=bundle["winners"],
    )
    assert [w.member_id for w in winners] == bundle["winners"]

    good = tmp_path / "draw.json"
    good.write_text(json.dumps(bundle))
    ran = CliRunner().invoke(lottery, ["verify", str(good)])
    assert ran.exit_code == 0, ran.output
    assert "verified" in ran.output
    ran = CliRunner().invoke(scrm_cli, ["lottery", "verify", str(good)])  # the same through `scrm lottery`
    assert ran.exit_code == 0, ran.output

    for change in (
        {"member_ids": bundle["member_ids"][1:], "tickets": bundle["tickets"][1:]},
        {"seed": "00" * 32},
        {"winners": bundle["winners"][::-1]},
        {"tickets": [2, *bundle["tickets"][1:]]},
    ):
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({**bundle, **change}))
        ran = CliRunner().invoke(lottery, ["verify", str(bad)])
        assert ran.exit_code == 1, (change.keys(), ran.output)
        assert "FAILED" in ran.output
    (tmp_path / "junk.json").write_text("{not json")
    assert CliRunner().invoke(lottery, ["verify", str(tmp_path / "junk.json")]).exit_code == 1


async def test_a_draw_happens_once(tenant: Any) -> None:
    campaign = await opened(tenant)
    await enter_all(tenant, campaign["id"], await members(tenant, 5))
    url = f"{BASE}/{campaign['id']}"
    problem(await tenant.post(f"{url}/draw"), 409, "lottery-not-closed")
    problem(await tenant.get(f"{url}/result"), 409, "lottery-not-drawn")
    problem(await tenant.get(f"{url}/entries/export"), 409, "lottery-not-drawn")
    await tenant.post(f"{url}/close")
    answers = await asyncio.gather(*(tenant.post(f"{url}/draw") for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [200] + [409] * 7
    assert all(a.json()["type"].endswith("lottery-already-drawn") for a in answers if a.status_code == 409)
    winners = (await tenant.get(f"{url}/winners")).json()["items"]
    assert len(winners) == 3
    problem(await tenant.post(f"{url}/cancel"), 409, "lottery-wrong-state")
    problem(await tenant.post(f"{url}/entries", {"member_id": winners[0]["member_id"]}), 409, "lottery-closed")


async def test_an_open_campaign_is_drawn_once_its_window_ends(tenant: Any) -> None:
    campaign = await opened(tenant, draw_body(closes_at=iso(timedelta(seconds=1))))
    await enter_all(tenant, campaign["id"], await members(tenant, 2))
    await asyncio.sleep(1.1)
    response = await tenant.post(f"{BASE}/{campaign['id']}/draw")
    assert response.status_code == 200, response.text
    assert len(response.json()["winners"]) == 2  # three prizes, two entries: everyone wins


async def test_an_empty_draw_has_no_winners(tenant: Any) -> None:
    result, _ = await drawn(tenant, 0)
    assert result["entry_count"] == 0
    assert result["winners"] == []
    assert result["entries_hash"] == hashlib.sha256(b"").hexdigest()


async def test_a_weighted_draw_verifies(tenant: Any, kernel: Kernel) -> None:
    rules = [{"event_type": "live.comment", "tickets": 3}]
    campaign = await opened(tenant, draw_body(entry_mode="tickets", ticket_rules=rules, max_tickets=50))
    ids = await members(tenant, 12)
    await enter_all(tenant, campaign["id"], ids)
    await tenant.post("/api/v1/events", [{"member_id": m, "type": "live.comment"} for m in ids[:4] for _ in range(2)])
    await kernel.jobs.idle()
    await tenant.post(f"{BASE}/{campaign['id']}/close")
    assert (await tenant.post(f"{BASE}/{campaign['id']}/draw")).status_code == 200
    bundle = (await tenant.get(f"{BASE}/{campaign['id']}/entries/export")).json()
    assert sorted(bundle["tickets"]) == [1] * 8 + [7] * 4
    fairness.verify(
        bundle["commitment"],
        bytes.fromhex(bundle["seed"]),
        bundle["member_ids"],
        bundle["tickets"],
        bundle["quantities"],
        expected_hash=bundle["entries_hash"],
        expected_winners=bundle["winners"],
    )


async def test_winners_are_told_only_through_the_consent_door(tenant: Any, kernel: Kernel) -> None:
    campaign = await opened(tenant, draw_body(prizes=[{"name": "Mug", "quantity": 4}]))
    ids = await members(tenant, 4)
    grants = [{"member_id": m, "purpose": "marketing.wecom", "status": "granted", "source": "form"} for m in ids[:2]]
    assert (await tenant.post("/api/v1/consents", grants)).status_code == 201
    await enter_all(tenant, campaign["id"], ids)
    await tenant.post(f"{BASE}/{campaign['id']}/close")
    result = (await tenant.post(f"{BASE}/{campaign['id']}/draw")).json()
    reachable = {w["member_id"] for w in result["winners"] if w["contactable"]}
    assert reachable == set(ids[:2])
    assert {w["member_id"] for w in result["unreachable"]} == set(ids[2:])
    assert {w["reason"] for w in result["unreachable"]} == {"no consent recorded"}
    unreachable = (await tenant.get(f"{BASE}/{campaign['id']}/winners", params={"contactable": "false"})).json()
    assert {w["member_id"] for w in unreachable["items"]} == set(ids[2:])

    async def events(kind: str) -> set[int]:
        listed = (await tenant.get("/api/v1/events", params={"type": kind})).json()["items"]
        return {e["member_id"] for e in listed}

    assert await events("lottery.won") == set(ids)
    assert await events("lottery.notify") == set(ids[:2])

    # consent granted later: asking again reaches that winner, and only once
    grant = {"member_id": ids[2], "purpose": "marketing.wecom", "status": "granted", "source": "form"}
    await tenant.post("/api/v1/consents", grant)
    told = (await tenant.post(f"{BASE}/{campaign['id']}/notify")).json()
    assert told == {"checked": 2, "notified": 1, "unreachable": 1}
    assert (await tenant.post(f"{BASE}/{campaign['id']}/notify")).json()["notified"] == 0
    assert await events("lottery.notify") == set(ids[:3])
