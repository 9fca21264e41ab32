"""Group commit on PostgreSQL: ballots cast at once share a transaction, a batch that fails as a
whole is written again ballot by ballot (each getting its own answer), and two ballots of one member
never share a batch. (On SQLite ballots are written one at a time: nothing to test.)"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from polls_helpers import BASE, answers, members, opened
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
