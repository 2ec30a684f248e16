"""The platform scheduler: runs extension jobs on interval or cron schedules.

Every run is recorded in ``core_job_runs`` (job, start, duration, outcome). With several
replicas on PostgreSQL, a transaction-scoped advisory lock per job means no two replicas
run a job at the same time: one that finds the lock taken skips that tick. The lock does
not make a tick exactly-once (a replica whose timer fires after the holder finished runs
it again), so within one ``bastion serve --workers N`` only worker 0 starts a scheduler
(``Platform.run_jobs``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import structlog
from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.kernel.contract import Cron, ExtensionContext, Interval, Job
from bastion.kernel.jobs import JobRunView, JobView

log = structlog.get_logger("bastion.scheduler")

_metadata = MetaData()
job_runs = Table(
    "core_job_runs",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("extension_id", String(128), nullable=False),
    Column("job_name", String(128), nullable=False),
    Column("started_at", DateTime(timezone=False), nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("error", Text),
)

_EVERY = re.compile(r"^every\s+(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _valid_cron(expression: str) -> bool:
    # croniter (with dateutil's time zones, ~75 ms) is imported only by a profile that has
    # a cron job: a command booting interval jobs alone does not pay for it.
    from croniter import croniter

    return bool(croniter.is_valid(expression))


def parse_schedule(schedule: Interval | Cron | str) -> Interval | Cron:
    """``"every 30s"`` -> Interval(30); a five-field line -> Cron; objects pass through."""
    if isinstance(schedule, Interval | Cron):
        if isinstance(schedule, Cron) and not _valid_cron(schedule.expression):
            raise ValueError(f"invalid cron expression {schedule.expression!r}")
        if isinstance(schedule, Interval) and not schedule.seconds > 0:
            raise ValueError(f"invalid interval of {schedule.seconds:g}s: it must be positive")
        return schedule
    match = _EVERY.match(schedule.strip())
    if match:
        # A zero interval would make the job loop spin without pause.
        return parse_schedule(Interval(float(match[1]) * _UNIT_SECONDS[match[2]]))
    if _valid_cron(schedule):
        return Cron(schedule)
    raise ValueError(f"invalid schedule {schedule!r}: use 'every 30s' or a cron line")


def describe(schedule: Interval | Cron) -> str:
    if isinstance(schedule, Interval):
        return f"every {schedule.seconds:g}s"
    return f"cron {schedule.expression}"


def next_run(schedule: Interval | Cron, after: dt.datetime) -> dt.datetime:
    if isinstance(schedule, Interval):
        return after + dt.timedelta(seconds=schedule.seconds)
    from croniter import croniter

    result: dt.datetime = croniter(schedule.expression, after).get_next(dt.datetime)
    return result


@dataclass(slots=True)
class ScheduledJob:
    extension_id: str
    job: Job
    schedule: Interval | Cron
    ctx: ExtensionContext
    last_outcome: str | None = field(default=None)

    @property
    def key(self) -> str:
        return f"{self.extension_id}.{self.job.name}"


@dataclass(frozen=True, slots=True)
class JobRun:
    extension_id: str
    job_name: str
    started_at: dt.datetime
    duration_ms: float
    outcome: str
    error: str | None


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Scheduler:
    def __init__(
        self,
        jobs: Sequence[ScheduledJob],
        engine: AsyncEngine,
        *,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.jobs = list(jobs)
        self._engine = engine
        self._clock = clock
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for scheduled in self.jobs:
            self._tasks.append(asyncio.create_task(self._loop(scheduled), name=scheduled.key))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _loop(self, scheduled: ScheduledJob) -> None:
        due = next_run(scheduled.schedule, self._clock())
        while True:
            await asyncio.sleep(max(0.0, (due - self._clock()).total_seconds()))
            await self.run_once(scheduled)
            due = next_run(scheduled.schedule, max(due, self._clock()))

    async def run_once(self, scheduled: ScheduledJob) -> JobRun | None:
        """Run a job now and record the run; None if another replica holds this tick."""
        if self._engine.dialect.name == "postgresql":
            async with self._engine.connect() as conn:
                lock = int.from_bytes(hashlib.sha256(scheduled.key.encode()).digest()[:8], "big")
                lock -= 1 << 63 if lock >= 1 << 63 else 0
                got = (
                    await conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": lock})
                ).scalar()
                if not got:
                    return None
                run = await self._execute(scheduled)
                await conn.rollback()
                return run
        return await self._execute(scheduled)

    async def _execute(self, scheduled: ScheduledJob) -> JobRun:
        started_at = self._clock()
        t0 = time.perf_counter()
        outcome, error = "success", None
        try:
            await scheduled.job.func(scheduled.ctx)
        except Exception as exc:
            outcome, error = "error", f"{type(exc).__name__}: {exc}"
            log.error("job failed", job=scheduled.key, error=error)
        run = JobRun(
            scheduled.extension_id,
            scheduled.job.name,
            started_at,
            (time.perf_counter() - t0) * 1000,
            outcome,
            error,
        )
        scheduled.last_outcome = outcome
        await record_run(self._engine, run)
        return run


async def record_run(engine: AsyncEngine, run: JobRun) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            job_runs.insert().values(
                extension_id=run.extension_id,
                job_name=run.job_name,
                started_at=run.started_at,
                duration_ms=run.duration_ms,
                outcome=run.outcome,
                error=run.error,
            )
        )


async def recent_runs(engine: AsyncEngine, limit: int = 50, job: str | None = None) -> list[JobRun]:
    query = (
        select(job_runs).order_by(job_runs.c.started_at.desc(), job_runs.c.id.desc()).limit(limit)
    )
    if job is not None:
        ext, _, name = job.rpartition(".")
        query = query.where(job_runs.c.job_name == name)
        if ext:
            query = query.where(job_runs.c.extension_id == ext)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [
        JobRun(
            r["extension_id"],
            r["job_name"],
            r["started_at"],
            r["duration_ms"],
            r["outcome"],
            r["error"],
        )
        for r in rows
    ]


class SchedulerJobs:
    """Implements ``JobBook`` for one scheduler (the ``JOBS`` platform service)."""

    def __init__(self, scheduler: Scheduler, engine: AsyncEngine) -> None:
        self._scheduler = scheduler
        self._engine = engine

    def jobs(self) -> list[JobView]:
        return [
            JobView(j.key, j.extension_id, j.job.name, describe(j.schedule))
            for j in self._scheduler.jobs
        ]

    async def runs(self, *, job: str | None = None, limit: int = 50) -> list[JobRunView]:
        return [
            JobRunView(
                f"{r.extension_id}.{r.job_name}",
                _aware(r.started_at),
                r.duration_ms,
                r.outcome,
                r.error,
            )
            for r in await recent_runs(self._engine, limit=limit, job=job)
        ]

    async def last_runs(self) -> dict[str, JobRunView]:
        query = select(
            job_runs.c.extension_id, job_runs.c.job_name, func.max(job_runs.c.id)
        ).group_by(job_runs.c.extension_id, job_runs.c.job_name)
        async with self._engine.connect() as conn:
            ids = [row[2] for row in await conn.execute(query)]
            if not ids:
                return {}
            rows = (
                (await conn.execute(select(job_runs).where(job_runs.c.id.in_(ids))))
                .mappings()
                .all()
            )
        last = {}
        for r in rows:
            key = f"{r['extension_id']}.{r['job_name']}"
            last[key] = JobRunView(
                key, _aware(r["started_at"]), r["duration_ms"], r["outcome"], r["error"]
            )
        return last


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
