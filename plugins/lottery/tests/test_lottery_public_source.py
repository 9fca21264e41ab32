"""A public randomness source: named at creation or opening and covered by the commitment, its value
supplied at the draw (a 422 naming ``public_value`` when missing or malformed), mixed into the seed,
exported, and required by the verifier, which refuses a wrong one."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lottery_helpers import BASE, create, draw_body, enter_all, members, opened, wheel_body
from scrm.testing import problem
from scrm_lottery import fairness
from scrm_lottery.cli import lottery

DRAND = {"description": "drand quicknet, after entries close", "drand_round": 13500000}
RANDOMNESS = "A1" * 32  # a round's randomness as someone might paste it (drawn in lowercase)
LOTTERY = {"description": "双色球 2026140, the numbers as printed: 03 07 12 19 25 31 + 09"}


async def closed(tenant: Any, body: dict[str, Any], n: int = 20) -> tuple[dict[str, Any], list[int]]:
    campaign = await opened(tenant, body)
    ids = await members(tenant, n)
    await enter_all(tenant, campaign["id"], ids)
    assert (await tenant.post(f"{BASE}/{campaign['id']}/close")).status_code == 200
    return campaign, ids


def field_of(response: Any) -> str:
    body = problem(response, 422, "validation-error")
    fields: list[str] = [e["field"] for e in body["errors"]]
    assert len(fields) == 1, body
    return fields[0]


async def test_a_drand_source_is_committed_at_opening_and_mixed_into_the_draw(tenant: Any, tmp_path: Path) -> None:
    campaign, ids = await closed(tenant, draw_body(public_source=DRAND))
    assert campaign["public_source"] == DRAND
    url = f"{BASE}/{campaign['id']}/draw"

    # without the value, or with a malformed one, nothing is drawn
    assert field_of(await tenant.post(url)) == "public_value"
    assert field_of(await tenant.post(url, {})) == "public_value"
    assert field_of(await tenant.post(url, {"public_value": "ab" * 31})) == "public_value"  # too short
    assert field_of(await tenant.post(url, {"public_value": "zz" * 32})) == "public_value"  # not hex
    assert (await tenant.get(f"{BASE}/{campaign['id']}")).json()["state"] == "closed"

    response = await tenant.post(url, {"public_value": RANDOMNESS})
    assert response.status_code == 200, response.text
    result = response.json()
    value = RANDOMNESS.lower()
    assert result["public_source"] == DRAND
    assert result["public_value"] == value
    seed = bytes.fromhex(result["seed"])
    source = f"drand round 13500000: {DRAND['description']}"
    assert result["commitment"] == hashlib.sha256(seed + source.encode()).hexdigest() == campaign["commitment"]
    mixed = hmac.new(seed, value.encode(), hashlib.sha256).digest()
    expected = fairness.draw(mixed, sorted(ids), None, [1, 2])
    assert [w["member_id"] for w in result["winners"]] == [w.member_id for w in expected]
    assert expected != fairness.draw(seed, sorted(ids), None, [1, 2])  # the value changed the winners

    bundle = (await tenant.get(f"{BASE}/{campaign['id']}/entries/export")).json()
    assert bundle["public_source"] == DRAND
    assert bundle["public_value"] == value
    arguments = (bundle["commitment"], seed, bundle["member_ids"], bundle["tickets"], bundle["quantities"])
    winners = fairness.verify(*arguments, expected_winners=bundle["winners"], source=source, value=value)
    assert [w.member_id for w in winners] == bundle["winners"]
    with pytest.raises(fairness.VerificationError):  # a wrong value gives other winners
        fairness.verify(*arguments, expected_winners=bundle["winners"], source=source, value="b2" * 32)
    with pytest.raises(fairness.VerificationError):  # the value is required
        fairness.verify(*arguments, expected_winners=bundle["winners"], source=source)
    with pytest.raises(fairness.VerificationError):  # the source is part of the commitment
        fairness.verify(*arguments, expected_winners=bundle["winners"], source="drand round 1: x", value=value)

    export = tmp_path / "draw.json"
    export.write_text(json.dumps(bundle))
    ran = CliRunner().invoke(lottery, ["verify", str(export), "--public-value", RANDOMNESS])
    assert ran.exit_code == 0, ran.output
    assert source in ran.output
    ran = CliRunner().invoke(lottery, ["verify", str(export)])  # the file's own value, flagged as such
    assert ran.exit_code == 0, ran.output
    assert "from the file" in ran.output
    ran = CliRunner().invoke(lottery, ["verify", str(export), "--public-value", "b2" * 32])
    assert ran.exit_code == 1
    assert "FAILED" in ran.output
    assert "public value" in ran.output
    ran = CliRunner().invoke(lottery, ["verify", str(export), "--public-value", "not hex"])
    assert ran.exit_code == 1
    assert "--public-value" in ran.output
    # a file whose value was changed no longer gives its winners
    export.write_text(json.dumps(bundle | {"public_value": "b2" * 32}))
    assert CliRunner().invoke(lottery, ["verify", str(export)]).exit_code == 1


async def test_a_published_value_is_named_when_opening_and_used_exactly(tenant: Any) -> None:
    await tenant.enable("lottery")
    draft = await create(tenant)
    assert draft["public_source"] is None
    response = await tenant.post(f"{BASE}/{draft['id']}/open", {"public_source": LOTTERY})
    assert response.status_code == 200, response.text
    campaign = response.json()
    assert campaign["public_source"] == {**LOTTERY, "drand_round": None}
    # locked once open: the operator cannot swap the source after seeing the entries
    changed = await tenant.patch(f"{BASE}/{campaign['id']}", {"public_source": DRAND})
    problem(changed, 409, "lottery-campaign-locked")
    await enter_all(tenant, campaign["id"], await members(tenant, 5))
    await tenant.post(f"{BASE}/{campaign['id']}/close")
    url = f"{BASE}/{campaign['id']}/draw"
    assert field_of(await tenant.post(url, {"public_value": " 03 07 12 19 25 31 + 09"})) == "public_value"
    assert field_of(await tenant.post(url, {"public_value": ""})) == "public_value"
    result = (await tenant.post(url, {"public_value": "03 07 12 19 25 31 + 09"})).json()
    assert result["public_value"] == "03 07 12 19 25 31 + 09"
    seed = bytes.fromhex(result["seed"])
    assert result["commitment"] == fairness.commitment(seed, LOTTERY["description"])


async def test_a_source_set_on_the_draft_is_the_one_committed_unless_opening_names_another(tenant: Any) -> None:
    await tenant.enable("lottery")
    draft = await create(tenant, draw_body(public_source=LOTTERY))
    assert (await tenant.patch(f"{BASE}/{draft['id']}", {"public_source": DRAND})).status_code == 200
    campaign = (await tenant.post(f"{BASE}/{draft['id']}/open")).json()
    assert campaign["public_source"] == DRAND
    other = await create(tenant, draw_body(public_source=LOTTERY))
    campaign = (await tenant.post(f"{BASE}/{other['id']}/open", {"public_source": DRAND})).json()
    assert campaign["public_source"] == DRAND


async def test_a_value_for_a_campaign_without_a_source_and_a_source_for_a_wheel_are_refused(tenant: Any) -> None:
    campaign, _ = await closed(tenant, draw_body(), n=3)
    assert field_of(await tenant.post(f"{BASE}/{campaign['id']}/draw", {"public_value": "x"})) == "public_value"
    assert (await tenant.post(f"{BASE}/{campaign['id']}/draw", {})).status_code == 200  # an empty body is no value
    assert field_of(await tenant.post(BASE, wheel_body(public_source=LOTTERY))) == "public_source"
    wheel = await create(tenant, wheel_body())
    assert field_of(await tenant.post(f"{BASE}/{wheel['id']}/open", {"public_source": LOTTERY})) == "public_source"
    bad = await tenant.post(BASE, draw_body(public_source={"description": "x", "drand_round": 0}))
    problem(bad, 422, "validation-error")


def test_without_a_source_the_draw_seed_and_commitment_are_the_seed_s() -> None:
    seed = bytes(range(32))
    assert fairness.draw_seed(seed, None) == seed
    assert fairness.commitment(seed) == fairness.commitment(seed, None) == hashlib.sha256(seed).hexdigest()
    assert fairness.public_value("AB" * 32, drand=True) == "ab" * 32
    for bad in ("ab" * 33, "g" * 64, " " + "a" * 63):
        with pytest.raises(ValueError, match="64 hexadecimal digits"):
            fairness.public_value(bad, drand=True)
    assert fairness.public_value("07 12 + 09", drand=False) == "07 12 + 09"
    with pytest.raises(ValueError, match="exactly as published"):
        fairness.public_value("07 12 + 09\n", drand=False)
