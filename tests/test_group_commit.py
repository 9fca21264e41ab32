"""Group commit (``scrm.GroupCommit``): concurrent single writes share batches, and each still gets its
own answer. First the facility alone (fake writers, any engine), then the core's single-event POST
under concurrency: its own id, ``created`` or ``duplicate``, its own 422 for its own bad member — the
same answers as one request at a time. (On SQLite the POST takes the simple path, and the same
answers are checked; the batches formed are checked on PostgreSQL.)"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import scrm
from conftest import Tenant, problem
from scrm.kernel import Kernel
from scrm.services import events as events_service
from scrm.services import members as members_service
from scrm.testing import BACKEND

API = "/api/v1"


# --- the facility -------------------------------------------------------------------------------


@dataclass
class FakeDb:
    dialect_name: str = "postgres"
    open_transaction: bool = False

    @property
    def dialect(self) -> Any:
        return type("D", (), {"name": self.dialect_name})()

    def in_transaction(self) -> bool:
        return self.open_transaction

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield


@dataclass
class FakeKernel:
    db: FakeDb


@dataclass(frozen=True)
class Item:
    lane: int
    value: int
    key: str | None = None


class Writer:
    """Writes items, remembering each batch; values below 0 are refused by the batch (None) and
    raise on their own; a batch holding 13 fails as a whole."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.ones: list[int] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def batch(self, kernel: Any, items: Sequence[Item]) -> list[int | None]:
        self.batches.append([i.value for i in items])
        await self.gate.wait()
        if any(i.value == 13 for i in items) and len(items) > 1:
            raise RuntimeError("the batch fails as a whole")
        return [None if i.value < 0 else i.value * 10 for i in items]

    async def one(self, kernel: Any, item: Item) -> int:
        self.ones.append(item.value)
        if item.value < 0:
            raise ValueError(f"refused {item.value}")
        return item.value * 10


def group(writer: Writer, **options: Any) -> scrm.GroupCommit[Item, int]:
    return scrm.GroupCommit(
        "test.items", writer.batch, writer.one, lane=lambda i: i.lane, conflict=lambda i: i.key, **options
    )


async def test_a_lone_write_is_a_batch_of_one_at_once() -> None:
    writer = Writer()
    kernel: Any = FakeKernel(FakeDb())
    assert await group(writer).submit(kernel, Item(1, 4)) == 40
    assert writer.batches == [[4]]
    assert writer.ones == []


async def test_writes_arriving_while_batches_run_share_the_next_one() -> None:
    writer = Writer()
    writer.gate.clear()
    kernel: Any = FakeKernel(FakeDb())
    commit = group(writer, in_flight=1, max_batch=5)
    tasks = [asyncio.ensure_future(commit.submit(kernel, Item(1, n))) for n in range(1, 12)]
    await asyncio.sleep(0.01)
    assert writer.batches == [[1]]  # the first started alone; the rest wait for it
    writer.gate.set()
    assert await asyncio.gather(*tasks) == [n * 10 for n in range(1, 12)]
    assert writer.batches == [[1], [2, 3, 4, 5, 6], [7, 8, 9, 10, 11]]


async def test_each_item_gets_its_own_answer_when_refused_or_when_the_batch_fails() -> None:
    writer = Writer()
    writer.gate.clear()
    kernel: Any = FakeKernel(FakeDb())
    commit = group(writer, in_flight=1)
    first = asyncio.ensure_future(commit.submit(kernel, Item(1, 1)))
    await asyncio.sleep(0)
    refused = [asyncio.ensure_future(commit.submit(kernel, Item(1, n))) for n in (2, -3, 4)]
    await asyncio.sleep(0)
    writer.gate.set()
    assert await first == 10
    answers = await asyncio.gather(*refused, return_exceptions=True)
    assert answers[0] == 20
    assert answers[2] == 40
    assert isinstance(answers[1], ValueError)
    assert writer.ones == [-3]  # only the refused one was written again

    failing = await asyncio.gather(*(commit.submit(kernel, Item(1, n)) for n in (12, 13, -14)), return_exceptions=True)
    assert failing[:2] == [120, 130]
    assert isinstance(failing[2], ValueError)
    assert writer.batches[-2:] == [[12], [13, -14]]
    assert writer.ones[-2:] == [13, -14]  # the failed batch: each on its own


async def test_conflicting_items_and_other_lanes_never_share_a_batch() -> None:
    writer = Writer()
    writer.gate.clear()
    kernel: Any = FakeKernel(FakeDb())
    commit = group(writer, in_flight=1)
    first = asyncio.ensure_future(commit.submit(kernel, Item(1, 1, key="k")))
    await asyncio.sleep(0)
    rest = [
        asyncio.ensure_future(commit.submit(kernel, item))
        for item in (Item(1, 2, key="k"), Item(1, 3, key="j"), Item(2, 4), Item(1, 5, key="k"))
    ]
    await asyncio.sleep(0.01)
    assert writer.batches == [[1], [4]]  # the other lane started at once; "k" waits for the first
    writer.gate.set()
    assert [await first, *await asyncio.gather(*rest)] == [10, 20, 30, 40, 50]
    assert writer.batches[2:] == [[2, 3], [5]]


@pytest.mark.parametrize("db", [FakeDb("sqlite"), FakeDb("postgres", open_transaction=True)])
async def test_sqlite_and_an_open_transaction_take_the_simple_path(db: FakeDb) -> None:
    writer = Writer()
    assert await group(writer).submit(FakeKernel(db), Item(1, 7)) == 70  # type: ignore[arg-type]
    assert writer.batches == []
    assert writer.ones == [7]


def test_sizes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        group(Writer(), in_flight=0)


# --- the single-event POST ------------------------------------------------------------------------


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every batch of single events written."""
    sizes: list[int] = []
    write = events_service.SINGLE_EVENTS.write_batch

    async def watched(kernel: Kernel, items: Sequence[Any]) -> Sequence[Any]:
        sizes.append(len(items))
        return await write(kernel, items)

    monkeypatch.setattr(events_service.SINGLE_EVENTS, "write_batch", watched)
    return sizes


async def test_concurrent_single_posts_get_their_own_answers(
    tenant: Tenant, other: Tenant, kernel: Kernel, batches: list[int]
) -> None:
    members = [(await tenant.member())["id"] for _ in range(5)]
    stranger = (await other.member())["id"]
    bodies: list[dict[str, Any]] = [
        {"member_id": members[n % 5], "type": "visit", "idempotency_key": f"gc-{n}"} for n in range(40)
    ]
    bodies += [dict(bodies[3])]  # a duplicate
    bodies += [{"member_id": stranger, "type": "visit", "idempotency_key": "gc-stranger"}]  # not here: a 422
    bodies += [{"member_id": members[1], "type": "visit"}]  # no key: always new
    replies = await asyncio.gather(*(tenant.post(f"{API}/events", body) for body in bodies))
    statuses = [r.status_code for r in replies]
    assert sorted(statuses[:41]) == [200] + [201] * 40  # gc-3 twice: one stored, one its duplicate
    assert statuses[41] == 422
    assert [e["field"] for e in replies[41].json()["errors"]] == ["member_id"]
    assert statuses[42] == 201
    ids = [r.json()["id"] for r in replies[:40]] + [replies[42].json()["id"]]
    assert len(set(ids)) == 41
    assert replies[40].json()["id"] == replies[3].json()["id"]
    assert {replies[3].json()["status"], replies[40].json()["status"]} == {"created", "duplicate"}
    rows = await kernel.db.fetch(
        "SELECT id, member, idempotency_key FROM scrm_event WHERE workspace = {} AND type = 'visit'", tenant.id
    )
    assert sorted(r["id"] for r in rows) == sorted(ids)
    by_id = {r["id"]: r for r in rows}
    for body, reply in zip(bodies[:40], replies[:40], strict=True):
        assert by_id[reply.json()["id"]]["member"] == body["member_id"]
        assert by_id[reply.json()["id"]]["idempotency_key"] == body["idempotency_key"]
    if BACKEND == "postgres":
        assert sum(batches) >= 43, batches
        assert max(batches) > 1, batches


async def test_racing_single_posts_of_one_key_store_it_once(tenant: Tenant, kernel: Kernel) -> None:
    member = (await tenant.member())["id"]
    body = {"member_id": member, "type": "vote", "idempotency_key": "gc-once"}
    replies = await asyncio.gather(*(tenant.post(f"{API}/events", body) for _ in range(30)))
    assert sorted(r.status_code for r in replies) == [200] * 29 + [201]
    assert len({r.json()["id"] for r in replies}) == 1
    rows = await kernel.db.fetch(
        "SELECT COUNT(*) AS n FROM scrm_event WHERE workspace = {} AND idempotency_key = 'gc-once'", tenant.id
    )
    assert rows[0]["n"] == 1


async def test_a_batch_appends_one_audit_record_per_request_to_one_sound_chain(
    tenant: Tenant, kernel: Kernel, batches: list[int]
) -> None:
    """A batch's records of one workspace are appended together on PostgreSQL (the head locked once,
    the links hashed in Python): every request has its record, in one unbroken chain."""
    member = (await tenant.member())["id"]
    replies = await asyncio.gather(
        *(
            tenant.post(f"{API}/events", {"member_id": member, "type": "visit", "idempotency_key": f"a-{n}"})
            for n in range(40)
        )
    )
    assert all(r.status_code == 201 for r in replies)
    trail = (await tenant.get(f"{API}/audit", params={"limit": "200"})).json()["items"]
    assert sum(1 for r in trail if r["action"] == "recordEvents") == 40
    assert sorted(r["seq"] for r in trail) == list(range(1, len(trail) + 1))
    report = (await tenant.get(f"{API}/audit/verify")).json()
    assert report["ok"] is True, report
    if BACKEND == "postgres":
        assert max(batches) > 1, batches


async def test_a_batch_written_in_one_statement_records_each_written_request_once(
    tenant: Tenant, other: Tenant, batches: list[int]
) -> None:
    """Once this process has appended to a workspace's chain, a batch of single events appends its
    records in the statement that writes the events (no transaction). A batch refused for one
    request's member writes nothing, records nothing: each of its requests is then written, and
    recorded, once on its own — the refused one not at all."""
    members = [(await tenant.member())["id"] for _ in range(3)]
    first = await tenant.post(f"{API}/events", {"member_id": members[0], "type": "visit", "idempotency_key": "o-0"})
    assert first.status_code == 201  # the chain's head exists now, and this process has seen it
    bodies: list[dict[str, Any]] = [
        {"member_id": members[n % 3], "type": "visit", "idempotency_key": f"o-{n}"} for n in range(1, 21)
    ]
    bodies.insert(7, {"member_id": (await other.member())["id"], "type": "visit", "idempotency_key": "o-x"})
    replies = await asyncio.gather(*(tenant.post(f"{API}/events", body) for body in bodies))
    assert sorted(r.status_code for r in replies) == [201] * 20 + [422]
    trail = (await tenant.get(f"{API}/audit", params={"limit": "200"})).json()["items"]
    assert sum(1 for r in trail if r["action"] == "recordEvents") == 21
    assert sorted(r["seq"] for r in trail) == list(range(1, len(trail) + 1))
    report = (await tenant.get(f"{API}/audit/verify")).json()
    assert report["ok"] is True, report
    if BACKEND == "postgres":
        assert max(batches) > 1, batches


async def test_a_task_started_during_a_batch_records_none_of_its_requests(
    tenant: Tenant, kernel: Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task started while a batch is written (the outbox's delivery job, run in-process after the
    batch's commit when there is no Redis) inherits the batch's context variables; its own
    transactions must not record the batch's requests again."""
    started: list[asyncio.Task[None]] = []
    write = events_service.SINGLE_EVENTS.write_batch

    async def job() -> None:
        async with kernel.db.transaction():
            await kernel.db.fetch("SELECT 1 AS one")

    async def spawning(kernel: Kernel, items: Sequence[Any]) -> Sequence[Any]:
        written = await write(kernel, items)  # one statement, no transaction: committed now
        started.append(asyncio.create_task(job()))
        return written

    monkeypatch.setattr(events_service.SINGLE_EVENTS, "write_batch", spawning)
    member = (await tenant.member())["id"]
    replies = await asyncio.gather(
        *(
            tenant.post(f"{API}/events", {"member_id": member, "type": "visit", "idempotency_key": f"t-{n}"})
            for n in range(8)
        )
    )
    assert all(r.status_code == 201 for r in replies)
    await asyncio.gather(*started)
    trail = (await tenant.get(f"{API}/audit", params={"limit": "200"})).json()["items"]
    assert sum(1 for r in trail if r["action"] == "recordEvents") == 8
    if BACKEND == "postgres":
        assert started, "no batch was written"


# --- member creation ------------------------------------------------------------------------------


@pytest.fixture
def member_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every batch of member creations written."""
    sizes: list[int] = []
    write = members_service.CREATIONS.write_batch

    async def watched(kernel: Kernel, items: Sequence[Any]) -> Sequence[Any]:
        sizes.append(len(items))
        return await write(kernel, items)

    monkeypatch.setattr(members_service.CREATIONS, "write_batch", watched)
    return sizes


async def created_facts(kernel: Kernel, workspace_id: int) -> tuple[dict[int, int], dict[str, int]]:
    """Per member of the workspace: its member.created events; per target id: its createMember records."""
    events = await kernel.db.fetch(
        "SELECT m.id, COUNT(e.id) AS n FROM scrm_member m LEFT JOIN scrm_event e ON e.member = m.id "
        "AND e.workspace = m.workspace AND e.type = 'member.created' WHERE m.workspace = {} GROUP BY m.id",
        workspace_id,
    )
    audit = await kernel.db.fetch(
        "SELECT target_id, COUNT(*) AS n FROM scrm_audit WHERE workspace = {} AND action = 'createMember' "
        "GROUP BY target_id",
        workspace_id,
    )
    return {r["id"]: r["n"] for r in events}, {r["target_id"]: r["n"] for r in audit}


async def test_concurrent_member_creations_get_their_own_answers(
    tenant: Tenant, other: Tenant, kernel: Kernel, member_batches: list[int]
) -> None:
    """60 creations at once, 20 of them of one external id, one of an external id taken before, one
    too big, and some in another workspace: each its own 201, 409 or 422; every member created has
    exactly one member.created event and one audit record naming it, in its own workspace."""
    taken = await tenant.member(external_id="gc-taken")
    bodies: list[dict[str, Any]] = [
        {"external_id": f"gc-{n}", "display_name": f"n{n}", "tags": ["gc"] if n % 3 == 0 else []} for n in range(36)
    ]
    bodies += [{"external_id": "gc-same", "display_name": f"same {n}"} for n in range(20)]
    bodies += [{"external_id": "gc-taken"}, {"external_id": "gc-big", "attributes": {"a": "x" * 20_000}}]
    bodies += [{"display_name": "no external id"}, {"display_name": "no external id"}]
    mine = [tenant.post(f"{API}/members", body) for body in bodies]
    theirs = [other.post(f"{API}/members", {"external_id": f"gc-{n}"}) for n in range(10)]
    replies = await asyncio.gather(*mine, *theirs)
    statuses = [r.status_code for r in replies]
    assert statuses[:36] == [201] * 36
    assert sorted(statuses[36:56]) == [201] + [409] * 19
    assert statuses[56:] == [409, 422, 201, 201] + [201] * 10
    for reply in [replies[56], *(r for r in replies[36:56] if r.status_code == 409)]:
        assert problem(reply, 409, "conflict")["errors"][0]["field"] == "external_id"
    created = [r.json() for r in replies[:36]]
    assert [m["external_id"] for m in created] == [f"gc-{n}" for n in range(36)]
    assert all(m["tags"] == (["gc"] if n % 3 == 0 else []) for n, m in enumerate(created))
    for member in created[:4]:  # what the 201 said is what is stored
        assert (await tenant.get(f"{API}/members/{member['id']}")).json() == member
    same = [r.json() for r in replies[36:56] if r.status_code == 201]
    assert same[0]["display_name"] == (await tenant.get(f"{API}/members/{same[0]['id']}")).json()["display_name"]

    ids = {m["id"] for m in created} | {same[0]["id"], replies[58].json()["id"], replies[59].json()["id"]}
    events, audit = await created_facts(kernel, tenant.id)
    assert events == {**dict.fromkeys(ids, 1), taken["id"]: 1}
    assert audit == {str(i): 1 for i in (*ids, taken["id"])}
    theirs_ids = {r.json()["id"] for r in replies[60:]}
    events, audit = await created_facts(kernel, other.id)
    assert events == dict.fromkeys(theirs_ids, 1)
    assert audit == {str(i): 1 for i in theirs_ids}
    tagged = await kernel.db.fetch(
        "SELECT e.properties FROM scrm_event e WHERE e.workspace = {} AND e.member = {} AND e.type = 'member.created'",
        tenant.id,
        created[0]["id"],
    )
    assert '"gc"' in str(tagged[0]["properties"])
    report = (await tenant.get(f"{API}/audit/verify")).json()
    assert report["ok"] is True, report
    if BACKEND == "postgres":
        assert max(member_batches) > 1, member_batches


async def test_a_failed_member_batch_writes_each_creation_once_on_its_own(
    tenant: Tenant, kernel: Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that fails after writing (rolled back) leaves nothing: each creation is then written
    on its own, once, with its event and its audit record."""
    failed: list[int] = []
    write = members_service.CREATIONS.write_batch

    async def written(kernel: Kernel, items: Sequence[Any]) -> Sequence[Any]:
        results = await write(kernel, items)
        if len(items) > 1:
            failed.append(len(items))
            raise RuntimeError("the batch fails after writing")
        return results

    monkeypatch.setattr(members_service.CREATIONS, "write_batch", written)
    replies = await asyncio.gather(*(tenant.post(f"{API}/members", {"external_id": f"f-{n}"}) for n in range(30)))
    assert [r.status_code for r in replies] == [201] * 30
    ids = {r.json()["id"] for r in replies}
    events, audit = await created_facts(kernel, tenant.id)
    assert events == dict.fromkeys(ids, 1)
    assert audit == {str(i): 1 for i in ids}
    if BACKEND == "postgres":
        assert failed, "no batch of more than one formed"
