"""Signed links serve files streamed, in ranges (RFC 9110), so a video player can seek and Safari
plays videos: 206 for one range, 416 past the end, the whole file otherwise; an ETag for
``If-None-Match`` and ``If-Range``; HEAD; the links' security headers on every answer. The local
store reads a small range of a large file without holding the file in memory."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path
from typing import Any

from contests_helpers import BASE, check_ranges, create, entry, move, mp4
from scrm.testing import problem
from scrm_contests.storage import CHUNK, LocalStorage


async def _video(tenant: Any) -> tuple[str, bytes]:
    """The signed link of a video entry, and the video."""
    contest = await create(tenant, allow_video=True)
    await move(tenant, contest["id"], "submission")
    member = await tenant.member(display_name="Ann")
    clip = mp4(5_000)
    sent = await tenant.post(f"{BASE}/{contest['id']}/submissions", entry(member["id"], "Clip", ("clip.mp4", clip)))
    assert sent.status_code == 201, sent.text
    url: str = sent.json()["media"][0]["url"]
    return url, clip


async def test_a_video_is_served_in_ranges(tenant: Any, client: Any) -> None:
    url, clip = await _video(tenant)
    await check_ranges(client, url, clip)


async def test_headers_validators_and_head(tenant: Any, client: Any) -> None:
    url, clip = await _video(tenant)
    whole = await client.get(url)
    tag = whole.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', tag), tag  # strong, and not the storage key
    assert {k: whole.headers[k] for k in ("content-type", "content-length", "cache-control")} == {
        "content-type": "video/mp4",
        "content-length": str(len(clip)),
        "cache-control": "private, max-age=3600",
    }
    assert (whole.headers["x-content-type-options"], whole.headers["content-disposition"]) == ("nosniff", "inline")
    assert whole.headers.get_list("content-type") == ["video/mp4"]

    cached = await client.get(url, headers={"If-None-Match": f'W/"other", {tag}'})
    assert (cached.status_code, cached.content, cached.headers["etag"]) == (304, b"", tag)
    assert (await client.get(url, headers={"If-None-Match": '"other"'})).status_code == 200

    same = await client.get(url, headers={"Range": "bytes=0-9", "If-Range": tag})
    assert (same.status_code, same.content) == (206, clip[:10])
    changed = await client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"older"'})
    assert (changed.status_code, changed.content) == (200, clip)

    head = await client.head(url, headers={"Range": "bytes=10-19"})
    assert (head.status_code, head.content) == (206, b"")
    assert (head.headers["content-length"], head.headers["content-range"]) == ("10", f"bytes 10-19/{len(clip)}")
    assert (head.headers["accept-ranges"], head.headers["etag"], head.headers["content-type"]) == (
        "bytes",
        tag,
        "video/mp4",
    )

    forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    problem(await client.get(forged, headers={"Range": "bytes=0-9"}), 404, "not-found")
    assert (await client.head(forged)).status_code == 404


async def test_the_local_store_reads_a_range_without_the_file(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    big = bytes(range(256)) * 80_000  # 20 MB
    await store.put("1/2/big", big, "video/mp4")
    tracemalloc.start()
    try:
        tiny = [chunk async for chunk in store.read("1/2/big", 12_345_678, 100)]
        streamed = 0
        async for chunk in store.read("1/2/big", 0, len(big)):
            assert len(chunk) <= CHUNK
            streamed += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert tiny == [big[12_345_678:12_345_778]]
    assert streamed == len(big)
    assert peak < 1_000_000, f"reading held {peak} bytes at once"
