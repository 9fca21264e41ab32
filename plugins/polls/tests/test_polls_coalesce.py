"""Group commit on PostgreSQL: ballots cast at once share a transaction (their voters read by it, in
one statement), a batch that fails as a whole is written again ballot by ballot (each getting its own
answer), and two ballots of one member never share a batch. (On SQLite ballots are written one at a time: nothing to test.)"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from polls_helpers import BASE, answers, members, opened, survey
from scrm import Kernel
from scrm.testing import BACKEND
from scrm_polls import store, tally

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="group commit is PostgreSQL's")


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every batch written (store.write_postgres watched)."""
    sizes: list[int] = []
    write = store.write_postgres

    async def watched(kernel: Kernel, casts: list[store.Cast]) -> list[int | None]:
        sizes.append(len(casts))
        return await write(kernel, casts)

    monkeypatch.setattr(store, "write_postgres", watched)
    return sizes


async def test_ballots_cast_at_once_share_transactions(tenant: Any, kernel: Kernel, batches: list[int]) -> None:
    poll = await opened(tenant)
    ids = await members(tenant, 40, tags=["vip"])
    url = f"{BASE}/{poll['id']}/ballots"
    replies = await asyncio.gather(
        *(tenant.post(url, {"member_id": m, "answers": answers(poll, single=m % 3)}) for m in ids)
    )
    assert [r.status_code for r in replies] == [201] * 40
    assert sum(batches) == 40
    assert max(batches) > 1, batches
    assert len({r.json()["id"] for r in replies}) == 40
    ws = await kernel.workspaces.ref(tenant.slug)
    assert await tally.read(kernel, ws, poll["id"]) == await tally.aggregate(kernel, ws, poll["id"])
    tags = await kernel.sql.fetch("SELECT COUNT(*) AS n FROM polls_ballot_tag WHERE poll = {}", poll["id"])
    assert tags[0]["n"] == 40


async def test_a_failed_batch_is_written_ballot_by_ballot(
    tenant: Any, kernel: Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    poll = await opened(tenant)
    ids = await members(tenant, 12)
    write = store.write_postgres
    failed: list[int] = []

    async def flaky(kernel: Kernel, casts: list[store.Cast]) -> list[int | None]:
        if len(casts) > 1:
            failed.append(len(casts))
            raise RuntimeError("a batch fails as a whole")
        return await write(kernel, casts)

    monkeypatch.setattr(store, "write_postgres", flaky)
    url = f"{BASE}/{poll['id']}/ballots"
    bodies = [{"member_id": m, "answers": answers(poll)} for m in ids] + [
        {"member_id": ids[0], "answers": answers(poll)}
    ]
    replies = await asyncio.gather(*(tenant.post(url, body) for body in bodies))
    assert failed, "no batch was formed"
    assert sorted(r.status_code for r in replies) == [201] * 12 + [409]
    assert (await tenant.get(f"{BASE}/{poll['id']}/results")).json()["ballots"] == 12


async def test_the_batch_reads_its_voters_and_each_keeps_its_own_answer(
    tenant: Any, other: Any, kernel: Kernel, batches: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Voters unknown, of another workspace, not eligible, or named twice (by id and by external id) in
    the same batches as fit ones: each request gets what it would alone, and a fit voter is read only
    by the batch (``kernel.members.lookup``), never on their own (``kernel.members.get``)."""
    poll = await opened(tenant, survey(tags_required=["vip"]))
    fit = [await tenant.member(display_name=f"Fit {i}", external_id=f"fit-{i}", tags=["vip"]) for i in range(20)]
    plain = await members(tenant, 5)
    stranger = await other.member(display_name="Stranger", tags=["vip"])
    read_alone: list[int] = []
    get = kernel.members.get

    async def counted(ws: Any, member_id: int) -> Any:
        read_alone.append(member_id)
        return await get(ws, member_id)

    monkeypatch.setattr(kernel.members, "get", counted)
    url = f"{BASE}/{poll['id']}/ballots"
    bodies = (
        [{"member_id": m["id"]} for m in fit]
        + [{"external_id": fit[0]["external_id"]}, {"external_id": "nobody"}, {"member_id": stranger["id"]}]
        + [{"member_id": m} for m in plain]
    )
    replies = await asyncio.gather(*(tenant.post(url, {**body, "answers": answers(poll)}) for body in bodies))
    statuses = [r.status_code for r in replies]
    assert statuses[1:20] + statuses[21:] == [201] * 19 + [422, 422] + [403] * 5, statuses
    assert sorted([statuses[0], statuses[20]]) == [201, 409], statuses  # fit[0] named twice: one ballot
    assert sorted(r.json()["member_id"] for r in replies[:21] if r.status_code == 201) == [m["id"] for m in fit]
    assert max(batches) > 1, batches
    assert not set(read_alone) & {m["id"] for m in fit[1:]}, read_alone
    assert (await tenant.get(f"{BASE}/{poll['id']}/results")).json()["ballots"] == 20
