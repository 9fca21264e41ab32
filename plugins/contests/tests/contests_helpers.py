"""Helpers of the contests' tests (imported by the test modules next to it)."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image
from scrm.testing import problem
from scrm_contests.storage import Storage

BASE = "/api/v1/contests/contests"


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def contest_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Photo contest",
        "submission_closes_at": iso(timedelta(hours=1)),
        "voting_opens_at": iso(timedelta(hours=2)),
        "voting_closes_at": iso(timedelta(hours=3)),
        "rubric": [{"name": "Creativity", "weight": 2, "max": 10}, {"name": "Technique", "weight": 1, "max": 5}],
        "judge_weight": 0.5,
    }
    body.update(overrides)
    return body


def image(fmt: str = "PNG", size: tuple[int, int] = (64, 48), colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


def box(kind: bytes, body: bytes) -> bytes:
    """An MP4 (ISO base media) box."""
    return (8 + len(body)).to_bytes(4, "big") + kind + body


def mp4(payload: int = 1_000, brand: bytes = b"isom", compatible: bytes = b"iso2mp41") -> bytes:
    """A structurally whole MP4: ``ftyp``, ``moov`` and ``payload`` bytes of ``mdat``."""
    ftyp = box(b"ftyp", brand + (512).to_bytes(4, "big") + brand + compatible)
    return ftyp + box(b"moov", box(b"mvhd", bytes(100))) + box(b"mdat", bytes(payload))


def ebml(ident: bytes, body: bytes, *, unknown_size: bool = False) -> bytes:
    """An EBML element with an 8-byte size (or the "unknown" size a live recording writes)."""
    size = b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown_size else b"\x01" + len(body).to_bytes(7, "big")
    return ident + size + body


def webm(payload: int = 1_000, doctype: bytes = b"webm", unknown_size: bool = False) -> bytes:
    """A structurally whole WebM: the EBML header and a Segment holding ``payload`` bytes of Void."""
    header = ebml(b"\x1a\x45\xdf\xa3", ebml(b"\x42\x86", b"\x81\x01") + ebml(b"\x42\x82", doctype))
    return header + ebml(b"\x18\x53\x80\x67", ebml(b"\xec", bytes(payload)), unknown_size=unknown_size)


async def read_all(store: Storage, key: str) -> bytes | None:
    """A stored file's bytes, read as the media route does (None when there is no such file)."""
    size = await store.size(key)
    return None if size is None else b"".join([chunk async for chunk in store.read(key, 0, size)])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def entry(member_id: int, title: str = "My entry", *files: tuple[str, bytes], body: str = "") -> dict[str, Any]:
    return {
        "member_id": member_id,
        "title": title,
        "body": body,
        "media": [{"filename": name, "data": b64(data)} for name, data in files],
    }


async def create(tenant: Any, **overrides: Any) -> dict[str, Any]:
    await tenant.enable("contests")
    response = await tenant.post(BASE, contest_body(**overrides))
    assert response.status_code == 201, response.text
    contest: dict[str, Any] = response.json()
    return contest


async def move(tenant: Any, contest_id: int, phase: str) -> dict[str, Any]:
    response = await tenant.post(f"{BASE}/{contest_id}/phase", {"phase": phase})
    assert response.status_code == 200, response.text
    moved: dict[str, Any] = response.json()
    return moved


async def submitted(tenant: Any, contest_id: int, member_id: int, title: str = "Entry", **kw: Any) -> dict[str, Any]:
    response = await tenant.post(f"{BASE}/{contest_id}/submissions", entry(member_id, title, ("a.png", image()), **kw))
    assert response.status_code == 201, response.text
    sub: dict[str, Any] = response.json()
    return sub


async def voting_contest(
    tenant: Any, entries: int = 2, **overrides: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A contest in its voting phase with ``entries`` approved submissions."""
    contest = await create(tenant, **overrides)
    await move(tenant, contest["id"], "submission")
    subs = []
    for i in range(entries):
        member = await tenant.member(display_name=f"Entrant {i}")
        subs.append(await submitted(tenant, contest["id"], member["id"], f"Entry {i}"))
    await move(tenant, contest["id"], "voting")
    return contest, subs


async def check_ranges(client: Any, url: str, data: bytes) -> None:
    """A signed link to ``data`` answers range requests as RFC 9110 asks: one range is a 206 of those
    bytes, a range past the end a 416 naming the size, anything else (malformed, several ranges) the
    whole file."""
    n = len(data)
    whole = await client.get(url)
    assert (whole.status_code, whole.headers["accept-ranges"], whole.content) == (200, "bytes", data)
    for asked, first, last in [
        ("bytes=0-99", 0, 99),
        (f"bytes={n - 10}-", n - 10, n - 1),
        ("bytes=-10", n - 10, n - 1),
        (f"bytes=5-{n + 100}", 5, n - 1),  # clipped to the end
        (f"bytes=-{n + 100}", 0, n - 1),  # a suffix longer than the file is the file
    ]:
        part = await client.get(url, headers={"Range": asked})
        assert part.status_code == 206, asked
        assert part.headers["content-range"] == f"bytes {first}-{last}/{n}", asked
        assert part.headers["content-length"] == str(last - first + 1), asked
        assert part.content == data[first : last + 1], asked
    for unsatisfiable in (f"bytes={n}-", f"bytes={n + 5}-{n + 10}", "bytes=-0"):
        refused = await client.get(url, headers={"Range": unsatisfiable})
        problem(refused, 416, "contests-range-not-satisfiable")
        assert refused.headers["content-range"] == f"bytes */{n}"
    for ignored in ("bytes=abc", "bytes=9-3", "bytes=-", "items=0-9", "bytes=0-9,20-29", "bytes=0-" + "9" * 5000):
        answer = await client.get(url, headers={"Range": ignored})
        assert (answer.status_code, answer.content) == (200, data), ignored
