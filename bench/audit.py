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
from bench._support import cli
from bench._support.launch import create_pg, drop_pg

SUSTAINED_ROWS = 200_000
PRODUCERS = 50
CALLS = 100_000
Clocks = tuple[float, float, float]  # wall, process CPU, this (the event loop's) thread's CPU


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


@asynccontextmanager
async def migrated(backend: str) -> AsyncIterator[AsyncEngine]:
    """A migrated core schema in a temporary SQLite file or a throwaway PostgreSQL database."""
    with tempfile.TemporaryDirectory() as directory:
        pg = backend == "postgresql"
        url = await create_pg() if pg else f"sqlite+aiosqlite:///{directory}/bench.db"
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                for migration in migrations_from_package("bastion.domains.core"):
                    for statement in migration.statements(engine.dialect.name):
                        await conn.exec_driver_sql(statement)
            yield engine
        finally:
            await engine.dispose()
            if pg:
                await drop_pg(url)


def clocks() -> Clocks:
    return time.perf_counter(), time.process_time(), time.thread_time()


def per_row(began: Clocks) -> Clocks:
    """Rows per second since ``began``, and µs of process and event-loop CPU per row."""
    now = clocks()
    return (
        SUSTAINED_ROWS / (now[0] - began[0]),
        (now[1] - began[1]) / SUSTAINED_ROWS * 1e6,
        (now[2] - began[2]) / SUSTAINED_ROWS * 1e6,
    )


async def sustained(engine: AsyncEngine, spill: Path, journal: bool) -> Clocks:
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
    run = per_row(began)
    await writer.close()
    return run


async def direct_inserts(engine: AsyncEngine) -> Clocks:
    rows = [{**decision(n), "id": new_row_id()} for n in range(SUSTAINED_ROWS)]
    began = clocks()
    for offset in range(0, SUSTAINED_ROWS, 500):
        async with engine.begin() as conn:
            await conn.execute(insert(governance_decisions), rows[offset : offset + 500])
    return per_row(began)


async def call_cost(call: Callable[[GovernanceDecisionRow], Awaitable[object] | None]) -> str:
    """Median / p99 µs of single calls; the consumer runs between rounds of 1,000 calls."""
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
    samples.sort()
    return f"{statistics.median(samples):.2f} / {samples[int(len(samples) * 0.99)]:.2f}"


async def caller_costs(engine: AsyncEngine, spill: Path, journal: bool) -> dict[str, str]:
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


async def backend_rows(backend: str) -> list[list[str]]:
    async with migrated(backend) as engine:
        with tempfile.TemporaryDirectory() as spill_dir:
            spill = Path(spill_dir) / "spill.jsonl"
            # Off and on alternate, twice each; each figure is the better run.
            runs: dict[bool, list[Clocks]] = {True: [], False: []}
            for journal in (False, True, True, False):
                runs[journal].append(await sustained(engine, spill, journal))
            on, off = (max(runs[journal]) for journal in (True, False))
            costs, costs_off = [await caller_costs(engine, spill, j) for j in (True, False)]
        base = await direct_inserts(engine)
    calls = (
        ("submit µs, median / p99 (baseline: Queue.put_nowait)", "submit"),
        ("write µs (awaited: one loop turn with the journal), median / p99", "write"),
        ("AuditTrail.record_decision µs, median / p99", "record_decision"),
    )
    sustained_label = (
        f"rows/s sustained, {PRODUCERS} producers (baseline: executemany, 500 per transaction)"
    )
    return [
        [sustained_label, *(f"{r[0]:,.0f}" for r in (on, off, base))],
        [
            "CPU µs per row, process / event-loop thread",
            *(f"{r[1]:.1f} / {r[2]:.1f}" for r in (on, off, base)),
        ],
        *(
            [label, costs[k], costs_off[k], costs["put_nowait"] if k == "submit" else ""]
            for label, k in calls
        ),
    ]


async def run() -> list[list[str]]:
    rows = []
    for backend in ("sqlite", "postgresql"):
        try:
            rows += [[backend, *row] for row in await backend_rows(backend)]
        except (OSError, asyncpg.PostgresError) as exc:
            rows.append([backend, f"unavailable ({type(exc).__name__})", "", "", ""])
    return rows


def main(argv: list[str] | None = None) -> int:
    cli.parser("bench.audit", __doc__).parse_args(argv)
    measure = f"measure ({SUSTAINED_ROWS:,} rows; {CALLS:,} calls)"
    head = ["backend", measure, "AuditWriter", "journal off", "baseline"]
    print("\n".join(cli.table(head, asyncio.run(run()), "llr")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
