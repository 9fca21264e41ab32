"""Background jobs in the embedded default (tasks in this process): declaring, queueing, de-duplicating
by job id, cron schedules, and what the loader refuses. Jobs on Redis are in test_worker.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import scrm
from conftest import Tenant
from litestar.testing import AsyncTestClient
from scrm.jobs import JobError, Jobs
from scrm.kernel import Kernel
from scrm.plugins import PluginError
from scrm.settings import Settings
from scrm_testplugin.tables import Welcome


async def test_a_plugin_job_runs_in_process_with_its_arguments(tenant: Tenant, kernel: Kernel) -> None:
    assert "testplugin.welcome_later" in kernel.jobs.registry
    await kernel.jobs.enqueue("testplugin.welcome_later", job_id="w-1", workspace_id=tenant.id, member_id=7)
    await kernel.jobs.idle()
    rows = await Welcome.select(Welcome.member_id, Welcome.message).where(Welcome.workspace == tenant.id)
    assert rows == [{"member_id": 7, "message": "Welcome (job w-1)"}]


async def test_a_job_id_queued_or_running_is_not_queued_again(kernel: Kernel) -> None:
    jobs = Jobs(kernel)
    started: list[int] = []
    release = asyncio.Event()

    async def slow(ctx: scrm.JobContext, n: int) -> None:
        started.append(n)
        await release.wait()

    jobs.register([scrm.Job("t.slow", slow)], owner="t")
    await jobs.enqueue("t.slow", job_id="same", n=1)
    await jobs.enqueue("t.slow", job_id="same", n=2)
    await jobs.enqueue("t.slow", n=3)  # no id: always queued
    await asyncio.sleep(0.05)
    release.set()
    await jobs.idle()
    assert sorted(started) == [1, 3]
    await jobs.enqueue("t.slow", job_id="same", n=4)  # finished: may run again
    await jobs.idle()
    assert sorted(started) == [1, 3, 4]
    await jobs.stop()


async def test_a_failing_job_is_logged_and_others_go_on(kernel: Kernel, caplog: pytest.LogCaptureFixture) -> None:
    jobs = Jobs(kernel)
    done: list[str] = []

    async def boom(ctx: scrm.JobContext) -> None:
        raise RuntimeError("boom")

    async def fine(ctx: scrm.JobContext) -> None:
        done.append("fine")

    jobs.register([scrm.Job("t.boom", boom), scrm.Job("t.fine", fine)], owner="t")
    await jobs.enqueue("t.boom")
    await jobs.enqueue("t.fine")
    await jobs.idle()
    assert done == ["fine"]
    assert any("job t.boom failed" in r.getMessage() for r in caplog.records)
    await jobs.stop()


async def test_cron_jobs_run_on_schedule_in_process(kernel: Kernel) -> None:
    jobs = Jobs(kernel)
    ticks: list[Any] = []

    async def tick(ctx: scrm.JobContext) -> None:
        ticks.append(ctx.kernel)

    jobs.register([scrm.Cron("t.tick", tick, second=None, run_at_startup=True)], owner="t")
    jobs.run_crons_locally()
    await asyncio.sleep(2.3)
    await jobs.stop()
    assert len(ticks) >= 3  # at startup, then every second
    assert set(ticks) == {kernel}


@pytest.mark.parametrize("run_crons", [True, False])
async def test_an_app_runs_the_cron_jobs_unless_told_another_process_does(
    kernel: Kernel, settings: Settings, run_crons: bool
) -> None:
    """A second app on the same database (``run_crons=False``) must not sweep the first one's outbox."""
    second = Kernel(settings)
    app = scrm.create_app(kernel=second, configure_logs=False, run_crons=run_crons)
    try:
        async with AsyncTestClient(app) as client:
            assert (await client.get("/readyz")).status_code == 200
            crons = {t.get_name() for t in second.jobs._tasks if t.get_name().startswith("scrm cron")}
    finally:
        kernel.bind_tables()  # the second kernel had taken piccolo's tables over
    assert ("scrm cron scrm.sweep_outbox" in crons) is run_crons


async def test_unknown_job_names_are_refused(kernel: Kernel) -> None:
    with pytest.raises(JobError, match=r"no job named 'nosuch\.job'"):
        await kernel.jobs.enqueue("nosuch.job")


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ([scrm.Job("other.job", lambda ctx: None)], "must look like 't.<what>'"),
        ([scrm.Job("t", lambda ctx: None)], "must look like 't.<what>'"),
        ([scrm.Job("t.Bad-Name", lambda ctx: None)], "must look like"),
        ([scrm.Job("t.twice", lambda ctx: None), scrm.Cron("t.twice", lambda ctx: None)], "already registered"),
    ],
)
def test_the_loader_refuses_bad_job_declarations(kernel: Kernel, declared: list[Any], message: str) -> None:
    with pytest.raises(PluginError, match=message):
        Jobs(kernel).register(declared, owner="t")


def test_the_core_jobs_are_registered(kernel: Kernel) -> None:
    assert isinstance(kernel.jobs.registry["scrm.deliver_events"], scrm.Job)
    sweeper = kernel.jobs.registry["scrm.sweep_outbox"]
    assert isinstance(sweeper, scrm.Cron)
    assert sweeper.run_at_startup
