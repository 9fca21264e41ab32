"""Background jobs: functions and cron jobs from the core and from plugins (hook ``scrm_jobs``).

A thin layer over arq, so the queue can change without touching plugins: plugins declare
:class:`Job` and :class:`Cron` values and enqueue by name through ``kernel.jobs``. With
``SCRM_REDIS_URL`` set, jobs go to Redis and ``scrm worker`` runs them; in the embedded default
(no Redis) the same functions run as tasks inside the server process.

Jobs are at least once: a retry, a worker killed mid-job or a restarted Redis can run a job again or
lose a queued one. Work that must not be lost is recorded in the database first (as the outbox does)
and a cron job sweeps up what a lost job left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import redis.exceptions
from arq import cron as arq_cron
from arq import func as arq_func
from arq.connections import ArqRedis, RedisSettings
from arq.cron import next_cron
from arq.worker import Worker

from scrm.plugins import PluginError
from scrm.problems import ServiceUnavailable

if TYPE_CHECKING:
    from scrm.kernel import Kernel

log = logging.getLogger("scrm.jobs")
JOB_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$")
#: Seconds a worker waits before reconnecting after Redis went away.
RECONNECT_DELAY_S = 1.0
CronField = int | set[int] | None


@dataclass(frozen=True)
class JobContext:
    """What a job function receives first: the kernel, and which run of the job this is."""

    kernel: Kernel
    job_id: str | None = None
    attempt: int = 1


JobFunction = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Job:
    """A function run in the background: ``async def fn(ctx: JobContext, **kwargs)``."""

    name: str
    function: JobFunction
    timeout_s: float = 300.0


@dataclass(frozen=True)
class Cron:
    """A function run on a schedule (``async def fn(ctx: JobContext)``), once per tick across all
    workers. Fields left None match every value, as in cron; ``second`` defaults to 0."""

    name: str
    function: JobFunction
    month: CronField = None
    day: CronField = None
    weekday: CronField = None
    hour: CronField = None
    minute: CronField = None
    second: CronField = 0
    run_at_startup: bool = False
    timeout_s: float = 300.0

    def schedule(self) -> dict[str, CronField]:
        return {
            "month": self.month,
            "day": self.day,
            "weekday": self.weekday,
            "hour": self.hour,
            "minute": self.minute,
            "second": self.second,
        }


class JobError(ValueError):
    """A job was declared or enqueued wrongly; the message says which and why."""


@dataclass
class Jobs:
    """The job registry and queue of one process (``kernel.jobs``)."""

    kernel: Kernel
    registry: dict[str, Job | Cron] = field(default_factory=dict)
    _redis: ArqRedis | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _local_ids: set[str] = field(default_factory=set)

    def register(self, jobs: Iterable[Job | Cron], owner: str) -> None:
        """Add jobs declared by ``owner`` (``scrm`` or a plugin), whose names must start with ``<owner>.``."""
        for job in jobs:
            if not JOB_NAME.match(job.name) or not job.name.startswith(f"{owner}."):
                raise PluginError(f"{owner}: job name {job.name!r} must look like '{owner}.<what>'")
            if job.name in self.registry:
                raise PluginError(f"{owner}: a job named {job.name!r} is already registered")
            self.registry[job.name] = job

    @property
    def uses_redis(self) -> bool:
        return self.kernel.settings.redis_url is not None

    async def start(self) -> None:
        """Open the Redis connection pool (lazily connected, so a Redis outage does not stop the API)."""
        url = self.kernel.settings.redis_url
        if url is not None:
            self._redis = ArqRedis.from_url(url, socket_connect_timeout=1, socket_timeout=2)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop cron loops at once; let running jobs finish for up to ``grace_s`` seconds, then
        cancel them (what they leave undone is found again: the outbox is in the database)."""
        for task in list(self._tasks):
            if task.get_name().startswith("scrm cron"):
                task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace_s)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def enqueue(
        self, name: str, *, job_id: str | None = None, defer_s: float | None = None, **kwargs: Any
    ) -> None:
        """Queue job ``name`` with keyword arguments. A ``job_id`` already queued or running is not
        queued twice. Raises :class:`ServiceUnavailable` (a 503) when Redis cannot be reached."""
        job = self.registry.get(name)
        if not isinstance(job, Job):
            raise JobError(f"no job named {name!r} (registered: {', '.join(sorted(self.registry))})")
        if self._redis is None:
            if self.uses_redis:
                raise ServiceUnavailable("The job queue is not started")
            self._spawn_local(job, job_id, defer_s, kwargs)
            return
        try:
            await self._redis.enqueue_job(name, _job_id=job_id, _defer_by=defer_s, **kwargs)
        except (redis.exceptions.RedisError, OSError) as exc:
            raise ServiceUnavailable(f"The job queue (Redis) is unavailable: {exc}") from exc

    def _spawn_local(self, job: Job, job_id: str | None, defer_s: float | None, kwargs: dict[str, Any]) -> None:
        if job_id is not None:
            if job_id in self._local_ids:
                return
            self._local_ids.add(job_id)

        async def run() -> None:
            try:
                if defer_s:
                    await asyncio.sleep(defer_s)
                await self._call(job, JobContext(self.kernel, job_id), kwargs)
            finally:
                if job_id is not None:
                    self._local_ids.discard(job_id)

        self._track(asyncio.create_task(run(), name=f"scrm job {job.name}"))

    def run_crons_locally(self) -> None:
        """Embedded default: run every cron job inside this process (the app's lifespan calls this)."""
        for job in self.registry.values():
            if isinstance(job, Cron):
                self._track(asyncio.create_task(self._cron_loop(job), name=f"scrm cron {job.name}"))

    async def _cron_loop(self, job: Cron) -> None:
        if job.run_at_startup:
            await self._cron_run(job)
        while True:
            at = datetime.now(UTC)
            due = next_cron(at.replace(tzinfo=None), **job.schedule())  # type: ignore[arg-type]
            await asyncio.sleep(max(0.0, (due - at.replace(tzinfo=None)).total_seconds()))
            await self._cron_run(job)

    async def _cron_run(self, job: Cron) -> None:
        """One run of a cron job, as a task of its own: :meth:`idle` waits for it like for any job
        (a sweeper that claimed rows is work in progress), not for the loop sleeping between runs."""
        run = asyncio.create_task(self._call(job, JobContext(self.kernel), {}), name=f"scrm job {job.name}")
        self._track(run)
        await asyncio.shield(run)

    async def _call(self, job: Job | Cron, ctx: JobContext, kwargs: dict[str, Any]) -> None:
        try:
            await asyncio.wait_for(job.function(ctx, **kwargs), job.timeout_s)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s failed", job.name)

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Wait until no in-process job is running (tests and ``scrm demo`` use it)."""
        while running := [t for t in self._tasks if not t.get_name().startswith("scrm cron")]:
            await asyncio.wait(running)

    # --- the worker -------------------------------------------------------------------------

    async def work(self, *, burst: bool = False, max_jobs: int = 10) -> None:
        """Run an arq worker for every registered job until cancelled (``scrm worker``).

        When Redis goes away the worker is rebuilt and reconnects, rather than exiting: jobs lost
        with Redis are re-created by the cron jobs that sweep the database (the outbox sweeper).
        """
        url = self.kernel.settings.redis_url
        if url is None:
            raise JobError("scrm worker needs SCRM_REDIS_URL; without it, jobs run inside scrm serve")
        functions = [
            arq_func(self._arq_function(job), name=job.name, timeout=job.timeout_s, keep_result=0, max_tries=3)
            for job in self.registry.values()
            if isinstance(job, Job)
        ]
        crons = [
            arq_cron(
                self._arq_function(job),
                name=job.name,
                run_at_startup=job.run_at_startup,
                timeout=job.timeout_s,
                **job.schedule(),  # type: ignore[arg-type]
            )
            for job in self.registry.values()
            if isinstance(job, Cron)
        ]
        while True:
            worker = Worker(
                functions,
                cron_jobs=crons,
                redis_settings=RedisSettings.from_dsn(url),
                burst=burst,
                max_jobs=max_jobs,
                keep_result=0,
                handle_signals=False,
                timezone=UTC,
                ctx={"kernel": self.kernel},
            )
            try:
                await worker.async_run()
                if burst:
                    return
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
                log.warning("lost Redis (%s); reconnecting in %.0f s", exc, RECONNECT_DELAY_S)
            finally:
                await _close_quietly(worker)
            await asyncio.sleep(RECONNECT_DELAY_S)

    def _arq_function(self, job: Job | Cron) -> Any:
        async def run(ctx: dict[str, Any], **kwargs: Any) -> None:
            await job.function(JobContext(ctx["kernel"], ctx.get("job_id"), ctx.get("job_try", 1)), **kwargs)

        run.__qualname__ = job.name
        return run


async def _close_quietly(worker: Worker) -> None:
    with contextlib.suppress(redis.exceptions.RedisError, OSError):
        await worker.close()
