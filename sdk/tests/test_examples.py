"""The SDK examples in ``examples/`` run against a real server and do what their READMEs say."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import httpx
import scrm_sdk
from scrm.testing import Tenant
from sdk_server import server

__all__ = ["server"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(script: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
    )


def test_agency_setup_makes_two_workspaces_with_keys_that_stay_apart(server: str, operator_key: str) -> None:
    prefix = f"ag{operator_key[-6:].lower().replace('_', 'x').replace('-', 'x')}"
    keys = json.loads(run("agency-setup/setup_agency.py", server, operator_key, "--prefix", prefix).stdout)
    assert sorted(keys) == [f"{prefix}-bikes", f"{prefix}-tea"]
    tea, bikes = (scrm_sdk.Client(server, api_key=keys[f"{prefix}-{name}"]) for name in ("tea", "bikes"))
    with tea, bikes:
        member = tea.members.create_member({"external_id": "t-1"})
        assert bikes.members.list_members().items == []
        try:
            bikes.members.get_member(member.id)
            raise AssertionError("a key reached another workspace")
        except scrm_sdk.NotFound:
            pass
        assert {p.name for p in bikes.plugins.list_plugins() if p.enabled} == {"points", "lottery"}
        try:
            tea.lottery.list_campaigns()
            raise AssertionError("the tea house has no lottery")
        except (scrm_sdk.Forbidden, scrm_sdk.NotFound):  # no lottery scope on its key, no lottery enabled
            pass
    again = json.loads(run("agency-setup/setup_agency.py", server, operator_key, "--prefix", prefix).stdout)
    assert sorted(again) == sorted(keys)  # run twice: the workspaces are reused, new keys made


def write_csvs(folder: Path, members: int, events_per_member: int) -> tuple[Path, Path]:
    members_csv, events_csv = folder / "members.csv", folder / "events.csv"
    with members_csv.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["external_id", "display_name", "tags", "identity.email", "attr.city"])
        for i in range(members):
            out.writerow([f"c-{i}", f"Member {i}", "csv|import", f"m{i}@example.com", "Shanghai"])
    with events_csv.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["external_id", "type", "occurred_at", "key", "amount"])
        for i in range(members):
            for n in range(events_per_member):
                out.writerow([f"c-{i}", "order.paid", f"2026-11-0{n + 1}T10:00:00+08:00", f"o-{i}-{n}", str(10 * n)])
    return members_csv, events_csv


def test_csv_import_resumes_after_an_interruption_without_duplicates(
    server: str, tenant: Tenant, tmp_path: Path
) -> None:
    members_csv, events_csv = write_csvs(tmp_path, members=700, events_per_member=3)
    args = [server, tenant.key, str(members_csv), str(events_csv)]
    stopped = run("sdk-csv-import/import_csv.py", *args, "--stop-after", "3", check=False)
    assert stopped.returncode == 130, stopped.stderr
    progress = json.loads((tmp_path / "events.csv.progress.json").read_text())
    assert progress == {"members": 700, "events": 500}
    (tmp_path / "events.csv.progress.json").write_text(json.dumps({"members": 700, "events": 0}))  # a lost save
    finished = run("sdk-csv-import/import_csv.py", *args)
    assert "imported 700 members and 2100 events" in finished.stdout
    with scrm_sdk.Client(server, api_key=tenant.key) as scrm:
        members = list(scrm.members.iter_list_members(tag=["csv"], limit=200))
        assert len(members) == 700
        events = list(scrm.events.iter_list_events(type="order.paid", limit=500))
        assert len(events) == 2100
        assert len({e.idempotency_key for e in events}) == 2100


def test_the_async_script_enters_1000_members_and_verifies_the_draw(server: str, tenant: Tenant) -> None:
    finished = run("sdk-lottery/lottery_draw.py", server, tenant.key, "--members", "1000", "--concurrency", "40")
    print(finished.stdout.splitlines()[0])  # the time it took, for the record
    assert "1000 entries, drawn and verified" in finished.stdout, finished.stderr
    assert finished.stdout.count(" wins prize ") == 11


def test_the_examples_use_only_the_sdk() -> None:
    for script in EXAMPLES.glob("sdk-*/*.py"):
        text = script.read_text(encoding="utf-8")
        assert "import scrm_sdk" in text
        assert "import scrm\n" not in text
        assert "from scrm " not in text
        assert "from scrm." not in text
    assert httpx  # the scripts talk HTTP only through the SDK
