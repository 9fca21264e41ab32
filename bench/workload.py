"""The member rows every benchmark uses: the same rows go to scrm's import and to raw COPY."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

CITIES = ("Paris", "Lyon", "Berlin", "Madrid", "Lisbon", "Rome", "Vienna", "Oslo")
CHUNK_BYTES = 256 * 1024
_encode = msgspec.json.Encoder().encode


def member_row(i: int) -> dict[str, Any]:
    """Member number ``i`` as an import row (the NDJSON shape of ``POST /api/v1/members/import``)."""
    return {
        "external_id": f"m-{i:07d}",
        "display_name": f"Name {i}",
        "identities": {"email": f"m{i}@example.com"},
        "attributes": {"city": CITIES[i % len(CITIES)], "visits": i % 50},
    }


def write_ndjson(path: Path, first: int, count: int) -> int:
    """Write members ``first .. first+count-1`` to ``path``, one JSON object per line; returns bytes."""
    with path.open("wb") as out:
        for start in range(first, first + count, 10_000):
            stop = min(start + 10_000, first + count)
            out.write(b"".join(_encode(member_row(i)) + b"\n" for i in range(start, stop)))
        return out.tell()


def stream_file(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """A request body read from ``path`` as it is sent, so the client never holds the whole file."""
    with path.open("rb") as source:
        while chunk := source.read(chunk_bytes):
            yield chunk


COPY_COLUMNS = (
    "workspace",
    "external_id",
    "display_name",
    "status",
    "identities",
    "attributes",
    "created_at",
    "updated_at",
)


def copy_records(workspace_id: int, first: int, count: int) -> list[tuple[Any, ...]]:
    """The same members as :func:`write_ndjson`, as records for ``COPY`` (columns :data:`COPY_COLUMNS`)."""
    at = datetime.now(UTC)
    records = []
    for i in range(first, first + count):
        row = member_row(i)
        records.append(
            (
                workspace_id,
                row["external_id"],
                row["display_name"],
                "active",
                _encode(row["identities"]).decode(),
                _encode(row["attributes"]).decode(),
                at,
                at,
            )
        )
    return records
