"""Helpers of the contests' tests (imported by the test modules next to it)."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image

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
