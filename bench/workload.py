"""The rows every benchmark uses: the same members go to scrm's import and to raw COPY, the same
events to ``POST /api/v1/events`` and to raw COPY."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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


# --- events -------------------------------------------------------------------------------------

EVENT_TYPES = ("page.view", "checkin", "order.paid", "coupon.used")
EVENT_COPY_COLUMNS = (
    "workspace",
    "member",
    "type",
    "properties",
    "occurred_at",
    "recorded_at",
    "source",
    "idempotency_key",
)


@dataclass(frozen=True)
class EventWorkload:
    """Events ``0 .. n-1`` about the members with ids ``low .. high``: the same rows go to
    ``POST /api/v1/events`` (as JSON arrays) and to raw COPY.

    Event ``i`` has a member spread over the range, one of a few types, two small properties, an
    ``occurred_at`` ``i`` milliseconds after ``base`` and the idempotency key ``<key_prefix>-<i>``.
    """

    low: int
    high: int
    base: datetime  # occurred_at of event 0; the load must end within MAX_CLOCK_SKEW of now
    key_prefix: str = "e"  # a different prefix for each load into the same workspace

    def member(self, i: int) -> int:
        return self.low + (i * 7919) % (self.high - self.low + 1)

    def row(self, i: int) -> dict[str, Any]:
        return {
            "member_id": self.member(i),
            "type": EVENT_TYPES[i % len(EVENT_TYPES)],
            "properties": {"page": f"/p/{i % 100}", "n": i % 10},
            "occurred_at": self.base + timedelta(milliseconds=i),
            "idempotency_key": f"{self.key_prefix}-{i:08d}",
        }

    def body(self, first: int, count: int) -> bytes:
        """A ``POST /api/v1/events`` body: the JSON array of events ``first .. first+count-1``."""
        return _encode([self.row(i) for i in range(first, first + count)])

    def copy_records(self, workspace_id: int, first: int, count: int) -> list[tuple[Any, ...]]:
        """The same events as :meth:`body`, as records for ``COPY`` (columns :data:`EVENT_COPY_COLUMNS`)."""
        at = datetime.now(UTC)
        records = []
        for i in range(first, first + count):
            row = self.row(i)
            records.append(
                (
                    workspace_id,
                    row["member_id"],
                    row["type"],
                    _encode(row["properties"]).decode(),
                    row["occurred_at"],
                    at,
                    "api",
                    row["idempotency_key"],
                )
            )
        return records
