"""Audit writer throughput and caller cost: ``python -m bench.audit``.

For each backend: rows/s sustained by the batched writer (default settings, 50 producer
tasks, timed until ``flush()`` returns, i.e. every row committed), the CPU time that run
costs this process per row (``process_time``: every thread, the aiosqlite worker's
SQLite work included; and ``thread_time`` of the event-loop thread alone: what competes
with request handling for the GIL), and the caller-side cost of ``AuditWriter.submit``
and ``AuditTrail.record_decision`` (median and p99 of single calls, timer overhead
included).

Baselines, on the same engine and rows: a plain SQLAlchemy ``executemany`` INSERT of
500 rows per transaction from one task (no queue, no conflict handling, no RETURNING),
and a bare ``asyncio.Queue.put_nowait``. Set ``BASTION_BENCH_PG`` to use another
PostgreSQL server (default ``postgresql://postgres@127.0.0.1:5432/postgres``).
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.infra.audit import (
    AuditTrail,
    AuditWriter,
    GovernanceDecisionRow,
    governance_decisions,
    new_row_id,
)
from bastion.infra.db import create_engine
from bastion.kernel.migration import migrations_from_package
from bench._support.launch import create_pg, drop_pg

SUSTAINED_ROWS = 200_000
PRODUCERS = 50
CALLS = 100_000


def decision(n: int) -> GovernanceDecisionRow:
    return {
        "trace_id": secrets.token_hex(16),
        "session_id": "sess_1",
        "user_id": f"usr_{n % 1000}",
        "tenant_id": "acme",
        "client_id": "claude-code",
        "tier": "user",
        "target_type": "llm",
        "target_name": "claude-sonnet",
        "decision": "allow",
        "trace": [
            {"stage": "scope", "outcome": "allow", "duration_us": 3},
            {"stage": "secret_scan", "outcome": "allow", "duration_us": 41},
            {"stage": "blocklist", "outcome": "allow", "duration_us": 6},
            {"stage": "rate_limit", "outcome": "allow", "duration_us": 2},
        ],
        "duration_us": 52,
        "created_at": datetime.now(UTC),
    }


async def migrate(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for migration in migrations_from_package("bastion.domains.core"):
            for statement in migration.statements(engine.dialect.name):
                await conn.exec_driver_sql(statement)


@asynccontextmanager
async def sqlite_engine() -> AsyncIterator[AsyncEngine]:
    with tempfile.TemporaryDirectory() as directory:
        engine = create_engine(f"sqlite+aiosqlite:///{directory}/bench.db")
        try:
            yield engine
        finally:
            await engine.dispose()


@asynccontextmanager
async def postgres_engine() -> AsyncIterator[AsyncEngine]:
    url = await create_pg()
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_pg(url)


@dataclass
class Run:
    rows_per_s: float
    cpu_us: float
    """Process CPU per row, all threads."""
    loop_us: float
    """CPU per row of the event-loop thread."""

    @classmethod
    def measure(cls, began: tuple[float, float, float]) -> Run:
        wall, cpu, loop = time.perf_counter(), time.process_time(), time.thread_time()
        return cls(
            SUSTAINED_ROWS / (wall - began[0]),
            (cpu - began[1]) / SUSTAINED_ROWS * 1e6,
            (loop - began[2]) / SUSTAINED_ROWS * 1e6,
        )


def clocks() -> tuple[float, float, float]:
    return time.perf_counter(), time.process_time(), time.thread_time()


async def sustained(engine: AsyncEngine, spill: Path, *, journal: bool) -> Run:
    rows = [decision(n) for n in range(SUSTAINED_ROWS)]
    per_producer = SUSTAINED_ROWS // PRODUCERS
    writer = AuditWriter(engine, spill_path=spill, journal=journal)
    await writer.start()

    async def produce(offset: int) -> None:
        for row in rows[offset : offset + per_producer]:
            await writer.write(governance_decisions, row)

    began = clocks()
    await asyncio.gather(*(produce(p * per_producer) for p in range(PRODUCERS)))
    await writer.flush()
    run = Run.measure(began)
    await writer.close()
    return run


async def direct_inserts(engine: AsyncEngine) -> Run:
    rows = [{**decision(n), "id": new_row_id()} for n in range(SUSTAINED_ROWS)]
    statement = insert(governance_decisions)
    began = clocks()
    for offset in range(0, SUSTAINED_ROWS, 500):
        async with engine.begin() as conn:
            await conn.execute(statement, rows[offset : offset + 500])
    return Run.measure(began)


async def call_cost(
    call: Callable[[GovernanceDecisionRow], Awaitable[object] | None],
) -> list[float]:
    """Single-call timings in µs; the consumer runs between rounds of 1,000 calls."""
    rows = [decision(n) for n in range(CALLS)]
    samples: list[float] = []
    for start in range(0, CALLS, 1000):
        for row in rows[start : start + 1000]:
            began = time.perf_counter_ns()
            pending = call(row)
            if pending is not None:
                await pending
            samples.append((time.perf_counter_ns() - began) / 1000)
        await asyncio.sleep(0)
    return samples


async def caller_costs(
    engine: AsyncEngine, spill: Path, *, journal: bool
) -> dict[str, list[float]]:
    writer = AuditWriter(engine, spill_path=spill, queue_max=CALLS * 2, journal=journal)
    await writer.start()
    costs = {"submit": await call_cost(lambda row: writer.submit(governance_decisions, row))}
    await writer.flush()
    costs["write"] = await call_cost(lambda row: writer.write(governance_decisions, row))
    await writer.flush()
    trail = AuditTrail(writer)
    costs["record_decision"] = await call_cost(lambda row: trail.record_decision(row))
    await writer.close()
    queue: asyncio.Queue[tuple[Table, GovernanceDecisionRow]] = asyncio.Queue(CALLS * 2)
    costs["put_nowait"] = await call_cost(lambda row: queue.put_nowait((governance_decisions, row)))
    return costs


def median_p99(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"{statistics.median(ordered):.2f} / {ordered[int(len(ordered) * 0.99)]:.2f}"


async def run() -> str:
    lines = [
        f"| backend | measure ({SUSTAINED_ROWS:,} rows; {CALLS:,} calls) | AuditWriter "
        "| journal off | baseline |",
        "|---|---|---:|---:|---:|",
    ]
    for backend, factory in (("sqlite", sqlite_engine), ("postgresql", postgres_engine)):
        try:
            async with factory() as engine:
                await migrate(engine)
                with tempfile.TemporaryDirectory() as spill_dir:
                    spill = Path(spill_dir) / "spill.jsonl"
                    # Off and on alternate, twice each; each figure is the better run.
                    runs: dict[bool, list[Run]] = {True: [], False: []}
                    for journal in (False, True, True, False):
                        runs[journal].append(await sustained(engine, spill, journal=journal))
                    rate = max(runs[True], key=lambda r: r.rows_per_s)
                    off = max(runs[False], key=lambda r: r.rows_per_s)
                    costs = await caller_costs(engine, spill, journal=True)
                    costs_off = await caller_costs(engine, spill, journal=False)
                direct = await direct_inserts(engine)
        except (OSError, asyncpg.PostgresError) as exc:
            lines.append(f"| {backend} | unavailable ({type(exc).__name__}) | | | |")
            continue
        lines += [
            f"| {backend} | rows/s sustained, {PRODUCERS} producers "
            f"(baseline: executemany, 500 per transaction) | {rate.rows_per_s:,.0f} "
            f"| {off.rows_per_s:,.0f} | {direct.rows_per_s:,.0f} |",
            f"| {backend} | CPU µs per row, process / event-loop thread "
            f"| {rate.cpu_us:.1f} / {rate.loop_us:.1f} | {off.cpu_us:.1f} / {off.loop_us:.1f} "
            f"| {direct.cpu_us:.1f} / {direct.loop_us:.1f} |",
            f"| {backend} | submit µs, median / p99 (baseline: Queue.put_nowait) "
            f"| {median_p99(costs['submit'])} | {median_p99(costs_off['submit'])} "
            f"| {median_p99(costs['put_nowait'])} |",
            f"| {backend} | write µs (awaited: one loop turn with the journal), median / p99 "
            f"| {median_p99(costs['write'])} | {median_p99(costs_off['write'])} | |",
            f"| {backend} | AuditTrail.record_decision µs, median / p99 "
            f"| {median_p99(costs['record_decision'])} "
            f"| {median_p99(costs_off['record_decision'])} | |",
        ]
    return "\n".join(lines)


def main() -> None:
    print(asyncio.run(run()))


if __name__ == "__main__":
    main()
