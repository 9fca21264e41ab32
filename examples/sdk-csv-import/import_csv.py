"""Import members and their events from CSV files with the scrm SDK, with a progress bar, resuming
safely after an interruption.

    python import_csv.py http://127.0.0.1:8000 API_KEY members.csv events.csv

``members.csv`` is in the server's import format (a header row with ``external_id``, and columns such
as ``display_name``, ``tags``, ``identity.email``, ``attr.city``); ``events.csv`` has the columns
``external_id``, ``type``, ``occurred_at`` (RFC 3339 with a zone) and ``key`` (unique per event: an
order number, say), and any other column becomes a property of the event.

Interrupted (Ctrl-C, a lost connection, a crash), run the same command again: it goes on from the
last batch it knows was stored (``<events.csv>.progress.json`` says which). Nothing is written twice
either way — members are upserted by ``external_id``, and each event carries an idempotency key made
from its ``key`` column, so a batch sent again after a lost answer only finds duplicates.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import scrm_sdk
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

MEMBER_BATCH = 500
EVENT_BATCH = 500  # the API takes up to 1,000 events a request
EVENT_COLUMNS = {"external_id", "type", "occurred_at", "key"}


class Checkpoint:
    """How many data rows of each file are known to be stored, kept in a JSON file next to the events
    file and replaced atomically, so a crash leaves the old or the new state, never half of one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: dict[str, int] = json.loads(path.read_text()) if path.exists() else {}

    def get(self, name: str) -> int:
        return self.done.get(name, 0)

    def advance(self, name: str, rows: int) -> None:
        self.done[name] = rows
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(self.done))
        os.replace(partial, self.path)


def batches(rows: list[dict[str, str]], size: int, start: int) -> Iterator[tuple[int, list[dict[str, str]]]]:
    """The rows after ``start``, ``size`` at a time, with the count of rows done after each batch."""
    for begin in range(start, len(rows), size):
        chunk = rows[begin : begin + size]
        yield begin + len(chunk), chunk


def as_csv(header: list[str], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def as_event(row: dict[str, str]) -> dict[str, Any]:
    properties = {k: v for k, v in row.items() if k not in EVENT_COLUMNS and v != ""}
    return {
        "external_id": row["external_id"],
        "type": row["type"],
        "occurred_at": row["occurred_at"],
        "properties": properties,
        "source": "csv-import",
        "idempotency_key": f"csv-{row['key']}",  # the same row, the same key: stored once
    }


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def run(url: str, key: str, members_csv: Path, events_csv: Path, stop_after: int | None = None) -> dict[str, int]:
    """Import both files; ``stop_after`` batches, stop as an interruption would (for trying resumption)."""
    checkpoint = Checkpoint(events_csv.with_name(events_csv.name + ".progress.json"))
    member_header, members = read(members_csv)
    _, events = read(events_csv)
    sent = 0
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with scrm_sdk.Client(url, api_key=key, timeout=60) as api, Progress(*columns) as progress:
        task = progress.add_task("members", total=len(members), completed=checkpoint.get("members"))
        for done, chunk in batches(members, MEMBER_BATCH, checkpoint.get("members")):
            result = api.members.import_members(as_csv(member_header, chunk), content_type="text/csv")
            if result.failed_rows:
                raise SystemExit(f"members.csv: {result.failed_rows} bad row(s): {result.errors}")
            checkpoint.advance("members", done)
            progress.update(task, completed=done)
            sent += 1
            if stop_after is not None and sent >= stop_after:
                raise KeyboardInterrupt
        task = progress.add_task("events", total=len(events), completed=checkpoint.get("events"))
        for done, chunk in batches(events, EVENT_BATCH, checkpoint.get("events")):
            api.events.record_events([as_event(row) for row in chunk])
            checkpoint.advance("events", done)
            progress.update(task, completed=done)
            sent += 1
            if stop_after is not None and sent >= stop_after:
                raise KeyboardInterrupt
    return {"members": len(members), "events": len(events)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("key")
    parser.add_argument("members_csv", type=Path)
    parser.add_argument("events_csv", type=Path)
    parser.add_argument("--stop-after", type=int, help="stop after this many batches, as if interrupted")
    args = parser.parse_args()
    try:
        totals = run(args.url, args.key, args.members_csv, args.events_csv, args.stop_after)
    except KeyboardInterrupt:
        print("interrupted: run the same command again to go on", file=sys.stderr)
        raise SystemExit(130) from None
    print(f"imported {totals['members']} members and {totals['events']} events")


if __name__ == "__main__":
    main()
