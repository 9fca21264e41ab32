"""The core's delivery with and without holding every member a batch names (PostgreSQL).

``Members.mark_active`` locks, in id order, every member a delivered batch names — not only those
whose ``last_active_at`` moves — so that an erasure cannot commit between a plugin handler's read of
the member and the delivery's commit. This times the delivery of the two kinds of batch it touches
(the core's own delivery alone, or with ``--plugins`` enabled: the lock is taken only when a
plugin handles the delivery), with ``mark_active`` as it is and as it was at
git revision ``--before``, in turns, ``--rounds`` times:

* ``created``: 10 batches of 500 new members' ``member.created`` (an import): before, no lock;
* ``engaged``: 10 batches of 500 check-ins of those members: locked before as well.

Prints each case's median delivery time per variant (ms) and the median of each round's ratio
(now over before; a round's two deliveries see about the same load).

    uv run python bench/delivery_members.py --rounds 7 --before 4179bd1^
    uv run python bench/delivery_members.py --rounds 7 --before 4179bd1^ --plugins segments
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from types import MethodType, ModuleType
from typing import Any

import scrm
from harness import create_database, drop_database, pg_dsn
from scrm.kernel import Kernel
from scrm.schemas import MemberCreate, WorkspaceCreate
from scrm.settings import Settings

BATCHES = 10
SIZE = 500


def mark_active_at(rev: str) -> Callable[..., Any]:
    """``Members.mark_active`` as it was at git revision ``rev``."""
    path = "core/src/scrm/services/members.py"
    text = subprocess.run(["git", "show", f"{rev}:{path}"], check=True, capture_output=True, text=True).stdout
    module = ModuleType(f"members_at_{rev.replace('^', '_')}")
    module.__dict__["__package__"] = "scrm.services"  # its relative imports resolve against the current package
    sys.modules[module.__name__] = module
    exec(compile(text, f"{rev}:{path}", "exec"), module.__dict__)  # noqa: S102 - our own file at an older commit
    method: Callable[..., Any] = module.Members.mark_active
    return method


async def drained(kernel: Kernel) -> float:
    start = time.perf_counter()
    while await kernel.outbox.drain():
        pass
    return time.perf_counter() - start


async def round_of(kernel: Kernel, ws: scrm.WorkspaceRef, tag: str) -> dict[str, float]:
    """Deliver ``BATCHES`` batches of new members, then as many batches of their check-ins."""
    ids: list[int] = []
    for b in range(BATCHES):
        made = await kernel.members.create_many(
            ws, [MemberCreate(external_id=f"{tag}-{b}-{i}", display_name=f"M {i}") for i in range(SIZE)]
        )
        ids += [m.id for m in made if m is not None]
    created = await drained(kernel)
    for b in range(BATCHES):
        async with kernel.db.transaction():
            await kernel.events.record(ws, [scrm.NewEvent(m, "checkin") for m in ids[b * SIZE : (b + 1) * SIZE]])
    return {"created": created, "engaged": await drained(kernel)}


async def main(rounds: int, before: str, plugins: list[str]) -> dict[str, Any]:
    name = await create_database()
    try:
        kernel = Kernel(
            Settings.from_env(
                {
                    "SCRM_DATABASE_URL": pg_dsn(name),
                    "SCRM_SECRET_KEY": "bench-" + "x" * 40,
                    "SCRM_DATA_DIR": tempfile.mkdtemp(),
                }
            )
        )
        await kernel.migrate()
        await kernel.db.start()

        async def deliver_here() -> None:  # no delivery jobs: this script drains the outbox itself, and times it
            return None

        kernel.outbox.kick = deliver_here  # type: ignore[method-assign]
        try:
            await kernel.workspaces.create(WorkspaceCreate(slug="delivery", name="delivery"))
            ws = await kernel.workspaces.ref("delivery")
            for plugin in plugins:
                await kernel.workspaces.set_plugin(ws, plugin, True, None)
            kernel.forget_cached()
            ws = await kernel.workspaces.ref("delivery")
            old = MethodType(mark_active_at(before), kernel.members)

            async def then(w: scrm.WorkspaceRef, events: Any, *, hold: bool = True) -> None:
                await old(w, events)  # it knew no ``hold``

            variants = {"now": kernel.members.mark_active, "before": then}
            await round_of(kernel, ws, "warm")
            await kernel.db.fetch("ANALYZE")
            times: dict[tuple[str, str], list[float]] = {}
            for r in range(rounds):
                for label, method in variants.items():
                    kernel.members.mark_active = method  # type: ignore[method-assign]
                    for case, seconds in (await round_of(kernel, ws, f"{label}{r}")).items():
                        times.setdefault((case, label), []).append(seconds)
            result: dict[str, Any] = {}
            for case in ("created", "engaged"):
                for label in variants:
                    result[f"{case}, {label} ms"] = round(statistics.median(times[case, label]) * 1000)
                ratios = [n / b for n, b in zip(times[case, "now"], times[case, "before"], strict=True)]
                result[f"{case}, now/before, median of rounds"] = round(statistics.median(ratios), 2)
            return result
        finally:
            await kernel.db.stop()
    finally:
        await drop_database(name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", default="4179bd1^", help="git revision of the mark_active to compare with")
    parser.add_argument("--plugins", default="", help="comma-separated plugins to enable in the workspace")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.rounds, args.before, [p for p in args.plugins.split(",") if p]))))
