"""The platform scheduler: schedules, recorded runs, the CLI view, one replica per tick."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.core import CoreExtension
from bastion.extension import (
    Cron,
    Extension,
    ExtensionContext,
    ExtensionId,
    ExtensionMeta,
    Interval,
    Job,
    register_extension,
)
from bastion.infra.config import SecretStore, load_profile
from bastion.infra.db import create_engine
from bastion.infra.events import EventBus
from bastion.kernel.ledger import MigrationLedger, PlannedMigration
from bastion.kernel.registration import unregister_extension
from bastion.runtime.boot import boot
from bastion.runtime.errors import BootError
from bastion.runtime.scheduler import (
    JobRun,
    ScheduledJob,
    Scheduler,
    describe,
    next_run,
    parse_schedule,
)
from tests.cli.conftest import Cli, error_of, query
from tests.conftest import create_pg_database, drop_pg_database
from tests.examples.install import examples_installed  # noqa: F401  (autouse)
from tests.support import running_server, write_profile

# -- schedules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "seconds"),
    [
        ("every 30s", 30.0),
        ("every 5m", 300.0),
        ("every 1h", 3600.0),
        ("every 2d", 172800.0),
        ("every 50ms", 0.05),
        ("every 1.5s", 1.5),
        ("  every 10 s  ", 10.0),
    ],
)
def test_interval_lines(line: str, seconds: float) -> None:
    assert parse_schedule(line) == Interval(seconds)


@pytest.mark.parametrize("line", ["*/5 * * * *", "0 3 * * mon-fri", "15 2 1 * *"])
def test_cron_lines(line: str) -> None:
    assert parse_schedule(line) == Cron(line)


def test_objects_pass_through() -> None:
    assert parse_schedule(Interval(2.5)) == Interval(2.5)
    assert parse_schedule(Cron("0 * * * *")) == Cron("0 * * * *")


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("sometimes", "invalid schedule 'sometimes': use 'every 30s' or a cron line"),
        ("every 5 weeks", "invalid schedule 'every 5 weeks': use 'every 30s' or a cron line"),
        ("every -5s", "invalid schedule 'every -5s': use 'every 30s' or a cron line"),
        ("61 * * * *", "invalid schedule '61 * * * *': use 'every 30s' or a cron line"),
        ("", "invalid schedule '': use 'every 30s' or a cron line"),
        ("every 0s", "invalid interval of 0s: it must be positive"),
        (Interval(0), "invalid interval of 0s: it must be positive"),
        (Interval(-1), "invalid interval of -1s: it must be positive"),
        (Cron("not a cron"), "invalid cron expression 'not a cron'"),
    ],
)
def test_invalid_schedules(schedule: str | Interval | Cron, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_schedule(schedule)
    assert str(info.value) == message


def test_next_run_and_describe() -> None:
    at = dt.datetime(2026, 1, 5, 10, 2, 30)
    assert next_run(Interval(90), at) == dt.datetime(2026, 1, 5, 10, 4, 0)
    assert next_run(Cron("*/5 * * * *"), at) == dt.datetime(2026, 1, 5, 10, 5)
    assert next_run(Cron("0 3 * * *"), at) == dt.datetime(2026, 1, 6, 3, 0)
    assert describe(Interval(0.05)) == "every 0.05s"
    assert describe(Interval(3600)) == "every 3600s"
    assert describe(Cron("0 3 * * *")) == "cron 0 3 * * *"


# -- jobs on a running server ---------------------------------------------------------


async def tick(_: ExtensionContext) -> None:
    return None


async def explode(_: ExtensionContext) -> None:
    raise RuntimeError("upstream said no (42)")


class Ticker(Extension):
    meta = ExtensionMeta(id="ticker", version="1", depends_on=("core",))

    def jobs(self) -> Sequence[Job]:
        return [Job("tick", "every 50ms", tick), Job("fail", Interval(0.05), explode)]


@pytest.fixture
def ticker() -> Iterator[type[Ticker]]:
    register_extension(Ticker)
    try:
        yield Ticker
    finally:
        unregister_extension(Ticker)


def runs_of(db_url: str, job: str) -> list[dict[str, object]]:
    columns = ("extension_id", "job_name", "started_at", "duration_ms", "outcome", "error")
    rows = query(
        db_url,
        f"SELECT {', '.join(columns)} FROM core_job_runs "
        "WHERE extension_id = 'ticker' AND job_name = :j ORDER BY id",
        j=job,
    )
    return [dict(zip(columns, row, strict=True)) for row in rows]


def wait_for_runs(db_url: str, job: str, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 10
    while True:
        found = runs_of(db_url, job)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_jobs_run_on_the_server_and_are_recorded(
    ticker: type[Ticker], db_url: str, tmp_path: Path
) -> None:
    profile = write_profile(tmp_path / "profile", db_url)
    with running_server(profile):
        ticks = wait_for_runs(db_url, "tick", 3)
        failures = wait_for_runs(db_url, "fail", 2)
    assert len(ticks) >= 3, ticks
    assert all(r["outcome"] == "success" and r["error"] is None for r in ticks)
    assert all(float(r["duration_ms"]) >= 0 for r in ticks)  # type: ignore[arg-type]
    starts = [r["started_at"] for r in ticks]
    assert starts == sorted(starts)  # type: ignore[type-var]
    assert len(failures) >= 2, failures
    assert {(r["outcome"], r["error"]) for r in failures} == {
        ("error", "RuntimeError: upstream said no (42)")
    }

    cli = Cli(profile)
    jobs = {j["job"]: j for j in json.loads(cli.ok("jobs", "list", "--json"))}
    assert jobs["ticker.tick"]["schedule"] == "every 0.05s"
    assert jobs["ticker.tick"]["last_outcome"] == "success"
    assert jobs["ticker.fail"]["last_outcome"] == "error"
    assert jobs["hello.prune"]["schedule"] == "every 3600s"

    rows = json.loads(cli.ok("jobs", "runs", "--job", "ticker.fail", "--json"))
    assert len(rows) == len(runs_of(db_url, "fail"))
    assert {(r["job"], r["outcome"], r["error"]) for r in rows} == {
        ("ticker.fail", "error", "RuntimeError: upstream said no (42)")
    }
    assert set(rows[0]) == {"job", "started_at", "duration_ms", "outcome", "error"}
    newest_first = [r["started_at"] for r in rows]
    assert newest_first == sorted(newest_first, reverse=True)
    assert len(json.loads(cli.ok("jobs", "runs", "--limit", "2", "--json"))) == 2

    assert cli.ok("jobs", "run", "ticker.fail") == "ticker.fail: error\n"
    assert len(runs_of(db_url, "fail")) == len(rows) + 1
    assert error_of(cli.fails("jobs", "run", "ticker.nope")) == "error: no job 'ticker.nope'"


async def test_a_bad_schedule_stops_boot_naming_the_extension(tmp_path: Path) -> None:
    class Typo(Extension):
        meta = ExtensionMeta(id="typo", version="1")

        def jobs(self) -> Sequence[Job]:
            return [Job("nightly", "every night", tick)]

    # fails before any SQL: the database is never opened
    loaded = load_profile(
        write_profile(tmp_path / "profile", f"sqlite+aiosqlite:///{tmp_path}/x.db")
    )
    with pytest.raises(BootError) as info:
        await boot(loaded, extra=[Typo], migrate=False)
    assert str(info.value) == (
        "boot failed at validate: extension 'typo' job 'nightly': invalid schedule "
        "'every night': use 'every 30s' or a cron line"
    )
    assert info.value.extension_id == "typo"


# -- one replica per tick (PostgreSQL advisory lock) ----------------------------------


async def test_two_schedulers_on_postgresql_run_each_tick_once() -> None:
    url = await create_pg_database()
    engines = [create_engine(url), create_engine(url)]
    try:
        core = [PlannedMigration("core", m) for m in CoreExtension().migrations()]
        await MigrationLedger(engines[0]).migrate(core)

        started = asyncio.Event()
        release = asyncio.Event()
        calls = 0

        async def slow(_: ExtensionContext) -> None:
            nonlocal calls
            calls += 1
            started.set()
            await release.wait()

        job = Job("reindex", "every 1h", slow)

        def replica(engine: AsyncEngine) -> tuple[Scheduler, ScheduledJob]:
            ctx = ExtensionContext(
                extension_id=ExtensionId("lockdemo"),
                config=None,
                engine=engine,
                events=EventBus(),
                secrets=SecretStore({}),
            )
            scheduled = ScheduledJob("lockdemo", job, parse_schedule(job.schedule), ctx)
            return Scheduler([scheduled], engine), scheduled

        (first, first_job), (second, second_job) = replica(engines[0]), replica(engines[1])
        holder = asyncio.create_task(first.run_once(first_job))
        await asyncio.wait_for(started.wait(), 5)
        # the same tick on the other replica, while the first is still running it
        assert await asyncio.wait_for(second.run_once(second_job), 5) is None
        release.set()
        run = await asyncio.wait_for(holder, 5)
        assert isinstance(run, JobRun) and run.outcome == "success"
        assert calls == 1

        # the lock is per tick: once released, the next tick runs anywhere
        later = await asyncio.wait_for(second.run_once(second_job), 5)
        assert isinstance(later, JobRun) and later.outcome == "success"
        assert calls == 2
        async with engines[0].connect() as conn:
            recorded = (
                await conn.execute(
                    text("SELECT count(*) FROM core_job_runs WHERE extension_id = 'lockdemo'")
                )
            ).scalar_one()
        assert recorded == 2
    finally:
        for engine in engines:
            await engine.dispose()
        await drop_pg_database(url)
