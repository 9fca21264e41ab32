"""Storage backends: the local directory and an S3-compatible bucket (moto's server, started by the
test on a free loopback port), each through the same contract (whole and ranged reads, in chunks), and
a submission stored in S3 end to end (served in ranges through its signed link, deleted with the
member)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from contests_helpers import BASE, check_ranges, create, entry, image, move, read_all
from moto.server import ThreadedMotoServer
from scrm import Kernel
from scrm_contests import storage
from scrm_contests.storage import CHUNK, LocalStorage, S3Storage, Storage


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _bucket(endpoint: str, name: str, monkeypatch: pytest.MonkeyPatch) -> S3Storage:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    return S3Storage(name, prefix="scrm/", client=client)


async def _contract(store: Storage) -> None:
    assert await store.size("1/2/missing") is None
    await store.put("1/2/abc", b"\x89PNG data", "image/png")
    assert await store.size("1/2/abc") == 9
    assert await read_all(store, "1/2/abc") == b"\x89PNG data"
    assert [chunk async for chunk in store.read("1/2/abc", 5, 4)] == [b"data"]
    await store.put("1/2/abc", b"replaced", "image/png")
    assert await read_all(store, "1/2/abc") == b"replaced"
    big = bytes(range(256)) * 1024
    await store.put("1/2/big", big, "video/mp4")
    chunks = [chunk async for chunk in store.read("1/2/big", 1000, 3 * CHUNK)]
    assert b"".join(chunks) == big[1000 : 1000 + 3 * CHUNK]
    assert len(chunks) >= 3
    assert max(map(len, chunks)) <= CHUNK
    await store.delete(["1/2/abc", "1/2/big", "1/2/never-there"])
    assert await store.size("1/2/abc") is None


async def test_local_storage(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    await _contract(store)
    with pytest.raises(ValueError, match="leaves"):
        await store.put("../escape", b"x", "text/plain")


async def test_s3_storage(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    await _contract(_bucket(s3_endpoint, "contract", monkeypatch))


def test_the_environment_chooses(tmp_path: Path) -> None:
    assert isinstance(storage.from_env({}, tmp_path), LocalStorage)
    with pytest.raises(RuntimeError, match="BUCKET"):
        storage.from_env({"SCRM_CONTESTS_STORAGE": "s3"}, tmp_path)
    with pytest.raises(RuntimeError, match="local or s3"):
        storage.from_env({"SCRM_CONTESTS_STORAGE": "ftp"}, tmp_path)


async def test_a_submission_in_s3(
    kernel: Kernel, tenant: Any, client: Any, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = storage.of(kernel)
    bucket = _bucket(s3_endpoint, "submissions", monkeypatch)
    storage.use(kernel, bucket)
    try:
        contest = await create(tenant)
        await move(tenant, contest["id"], "submission")
        member = await tenant.member(display_name="Ann")
        png = image("PNG", (300, 200), "green")
        sub = (
            await tenant.post(f"{BASE}/{contest['id']}/submissions", entry(member["id"], "S3", ("g.png", png)))
        ).json()
        await check_ranges(client, sub["media"][0]["url"], png)  # ranged GetObjects
        listed = bucket.client.list_objects_v2(Bucket="submissions")["Contents"]
        assert len(listed) == 2
        assert all(o["Key"].startswith(f"scrm/{tenant.id}/{contest['id']}/") for o in listed)
        assert (await tenant.delete(f"/api/v1/members/{member['id']}")).status_code in (200, 204)
        assert bucket.client.list_objects_v2(Bucket="submissions").get("KeyCount") == 0
    finally:
        storage.use(kernel, before)
