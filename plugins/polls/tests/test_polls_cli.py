"""``scrm polls results ID --workspace W [--csv]``: the command's body runs on the test's kernel (its
``scrm.with_kernel`` replaced by one handing over the session's kernel, the command run in a thread
so the event loop stays free)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import scrm
from click.testing import CliRunner
from polls_helpers import members, opened, vote
from scrm import Kernel
from scrm_polls.cli import polls


async def run(kernel: Kernel, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    loop = asyncio.get_running_loop()

    def with_kernel(fn: Callable[[Kernel], Awaitable[Any]]) -> Any:
        return asyncio.run_coroutine_threadsafe(fn(kernel), loop).result()

    monkeypatch.setattr(scrm, "with_kernel", with_kernel)
    return await asyncio.to_thread(CliRunner().invoke, polls, list(args))


async def test_results_on_the_terminal_and_as_csv(tenant: Any, kernel: Kernel, monkeypatch: pytest.MonkeyPatch) -> None:
    poll = await opened(tenant)
    for i, member_id in enumerate(await members(tenant, 4)):
        await vote(tenant, poll, member_id, single=i % 2, nps=10 if i else 0)
    shown = await run(kernel, monkeypatch, "results", str(poll["id"]), "--workspace", tenant.slug)
    assert shown.exit_code == 0, shown.output
    assert f"poll {poll['id']} (open): 4 ballot(s)" in shown.output
    assert "Latte: 2 (50%)" in shown.output
    assert "NPS 50 (promoters 75%, passives 0%, detractors 25%)" in shown.output
    exported = await run(kernel, monkeypatch, "results", str(poll["id"]), "--workspace", tenant.slug, "--csv")
    assert exported.exit_code == 0, exported.output
    rows = list(csv.reader(io.StringIO(exported.output)))
    assert rows[0] == ["question", "kind", "title", "answer", "count", "percent"]
    assert ["4", "nps", "Recommend us?", "nps", "50.0", ""] in rows


async def test_an_unknown_poll_is_one_line(tenant: Any, kernel: Kernel, monkeypatch: pytest.MonkeyPatch) -> None:
    await tenant.enable("polls")
    missing = await run(kernel, monkeypatch, "results", "999999", "--workspace", tenant.slug)
    assert missing.exit_code != 0
    bad = await run(kernel, monkeypatch, "results", "0", "--workspace", tenant.slug)
    assert bad.exit_code == 2
