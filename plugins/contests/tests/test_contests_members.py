"""Data-subject hooks (export with submissions and files, erasure deleting files from storage too),
deleting a workspace, and the demo seed."""

from __future__ import annotations

from typing import Any

from contests_helpers import BASE, voting_contest
from scrm import Kernel
from scrm_contests import demo, storage
from scrm_contests.storage import LocalStorage


async def _keys(kernel: Kernel, ws_id: int) -> list[str]:
    rows = await kernel.sql.fetch("SELECT storage_key, thumb_key FROM contests_media WHERE workspace = {}", ws_id)
    return [k for r in rows for k in (r["storage_key"], r["thumb_key"])]


async def test_export_and_erasure(kernel: Kernel, tenant: Any, client: Any) -> None:
    contest, subs = await voting_contest(tenant, 2)
    author = subs[0]["member_id"]
    voter = await tenant.member(display_name="Voter")
    await tenant.post(f"{BASE}/{contest['id']}/submissions/{subs[0]['id']}/votes", {"member_id": voter["id"]})
    await tenant.post(f"{BASE}/{contest['id']}/submissions/{subs[1]['id']}/votes", {"member_id": author})
    exported = (await tenant.get(f"/api/v1/members/{author}/export")).json()["plugins"]["contests"]
    [mine] = exported["submissions"]
    assert mine["id"] == subs[0]["id"]
    assert mine["media"][0]["sha256"] == subs[0]["media"][0]["sha256"]
    assert (await client.get(mine["media"][0]["url"])).status_code == 200  # the export's links work
    assert [v["submission_id"] for v in exported["votes"]] == [subs[1]["id"]]

    store = storage.of(kernel)
    assert isinstance(store, LocalStorage)
    keys = await _keys(kernel, tenant.id)
    theirs = [k for k in keys if (await store.size(k)) is not None]
    assert len(theirs) == 4  # two files and two thumbnails
    assert (await tenant.delete(f"/api/v1/members/{author}")).status_code in (200, 204)
    left = await _keys(kernel, tenant.id)
    assert len(left) == 2
    for key in set(keys) - set(left):
        assert await store.size(key) is None, "an erased member's file is still in storage"
    other = (await tenant.get(f"{BASE}/{contest['id']}/submissions/{subs[1]['id']}")).json()
    assert other["votes"] == 0  # the erased member's vote is gone with them


async def test_deleting_the_workspace_deletes_its_files(kernel: Kernel, tenant: Any) -> None:
    await voting_contest(tenant, 1)
    keys = await _keys(kernel, tenant.id)
    await kernel.workspaces.delete(tenant.slug)
    for key in keys:
        assert await storage.of(kernel).size(key) is None
    assert await kernel.sql.fetch("SELECT id FROM contests_contest WHERE workspace = {}", tenant.id) == []


async def test_the_demo_seed(kernel: Kernel, tenant: Any) -> None:
    await tenant.enable("contests")
    ids = [(await tenant.member(display_name=f"D{i}"))["id"] for i in range(30)]
    ws = await kernel.workspaces.ref(tenant.id)
    await demo.seed(kernel, ws, ids)
    await demo.seed(kernel, ws, ids)  # once
    [contest] = (await tenant.get(BASE)).json()["items"]
    assert contest["phase"] == "voting"
    pending = (await tenant.get(f"{BASE}/{contest['id']}/submissions", params={"status": "pending"})).json()["items"]
    assert len(pending) == 1
    approved = (await tenant.get(f"{BASE}/{contest['id']}/submissions", params={"status": "approved"})).json()["items"]
    assert len(approved) == 11
    assert sum(s["votes"] for s in approved) == 18
