"""What the audit trail costs a write, on PostgreSQL, measured with and without it in the same run.

    uv run python bench/audit.py              # 6 rounds of 150 requests per figure
    uv run python bench/audit.py --rounds 2   # quicker

Single ``POST /api/v1/members`` and single ``POST /api/v1/points/checkins`` (each a member not yet
checked in today), one at a time, in-process (httpx's ASGI transport: no network and no HTTP server,
so the trail's share of a request is as large as it can look). Rounds alternate: with the trail, then
without it (its before-commit hook taken off ``kernel.db``), so both see the same machine load; the
figures are the medians of per-request latency over all rounds, and the ratio without/with.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust); makes a database ``bench_audit_<random>``
and drops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
from scrm import create_app
from scrm.kernel import Kernel
from scrm.schemas import WorkspaceCreate
from scrm.settings import Settings

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


async def measure(rounds: int, per_round: int) -> dict[str, dict[str, float]]:
    name = f"bench_audit_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        with tempfile.TemporaryDirectory() as data:
            settings = Settings.from_env(
                {
                    "SCRM_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}",
                    "SCRM_DATA_DIR": str(Path(data)),
                    "SCRM_SECRET_KEY": "bench-" + "x" * 40,
                    "SCRM_PLUGINS": "points",
                    "SCRM_LOG_LEVEL": "WARNING",
                }
            )
            kernel = Kernel(settings)
            await kernel.migrate()
            await kernel.start()
            try:
                return await _run(kernel, rounds, per_round)
            finally:
                await kernel.stop()
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


async def _run(kernel: Kernel, rounds: int, per_round: int) -> dict[str, dict[str, float]]:
    ws = await kernel.workspaces.create(WorkspaceCreate(slug="bench", name="Bench"))
    ref = await kernel.workspaces.ref("bench")
    await kernel.workspaces.set_plugin(ref, "points", True, None)
    key = (await kernel.keys.create(await kernel.workspaces.ref("bench"), ["*"], "bench")).key
    app = create_app(kernel=kernel, configure_logs=False)
    headers = {"Authorization": f"Bearer {key}"}
    hook = kernel.audit.before_commit
    times: dict[tuple[str, bool], list[float]] = {}
    counter = 0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        # members to check in: one per check-in request, made beforehand
        needed = rounds * 2 * per_round
        made = [
            (await client.post("/api/v1/members", json={"external_id": f"c-{i}"}, headers=headers)).json()["id"]
            for i in range(needed + 20)
        ]
        for warm in made[needed:]:  # warm both paths up
            await client.post("/api/v1/points/checkins", json={"member_id": warm}, headers=headers)
        members = iter(made[:needed])
        for round_ in range(rounds):
            for audited in (round_ % 2 == 0, round_ % 2 == 1):  # alternate which goes first
                hooks = [h for h in kernel.db.before_commit_hooks if h != hook]
                kernel.db.before_commit_hooks[:] = [*hooks, hook] if audited else hooks
                for _ in range(per_round):
                    counter += 1
                    start = time.perf_counter()
                    response = await client.post(
                        "/api/v1/members", json={"external_id": f"m-{counter}"}, headers=headers
                    )
                    times.setdefault(("POST /members", audited), []).append(time.perf_counter() - start)
                    assert response.status_code == 201, response.text
                    start = time.perf_counter()
                    response = await client.post(
                        "/api/v1/points/checkins", json={"member_id": next(members)}, headers=headers
                    )
                    times.setdefault(("POST /points/checkins", audited), []).append(time.perf_counter() - start)
                    assert response.status_code in (200, 201), response.text
        if hook not in kernel.db.before_commit_hooks:
            kernel.db.before_commit_hooks.append(hook)
    records = await kernel.db.fetch("SELECT count(*) AS n FROM scrm_audit WHERE workspace = {}", ws.id)
    verified = await kernel.audit.verify(ws.id)
    assert verified.ok, verified
    result: dict[str, dict[str, float]] = {}
    for figure in ("POST /members", "POST /points/checkins"):
        with_trail = statistics.median(times[(figure, True)]) * 1000
        without = statistics.median(times[(figure, False)]) * 1000
        result[figure] = {"with_ms": with_trail, "without_ms": without, "cost": with_trail / without - 1}
    result["trail"] = {"records": float(records[0]["n"])}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--per-round", type=int, default=150)
    args = parser.parse_args()
    result = asyncio.run(measure(args.rounds, args.per_round))
    print(f"audit trail cost, PostgreSQL, in-process, {args.rounds} rounds x {args.per_round} requests")
    for figure in ("POST /members", "POST /points/checkins"):
        r = result[figure]
        print(
            f"{figure:24} with {r['with_ms']:.2f} ms  without {r['without_ms']:.2f} ms (median)  "
            f"cost {r['cost'] * 100:+.1f} %  (target <= +10 %)"
        )
    print(f"trail records written and verified: {int(result['trail']['records'])}")


if __name__ == "__main__":
    main()
