"""Analytics at scale: ``python -m bench.analytics``.

**Queries.** For each backend, 1,000,000 ``ai_requests`` rows over 30 days (3 tenants,
60 users each with one key and one client, 6 models of which each user uses 2 or 3),
bulk-inserted (``executemany`` in one transaction on SQLite, ``COPY`` on PostgreSQL). The
baseline is the same ``ANALYTICS`` query answered from the raw rows alone (no rollup
yet); then the rollup job catches up once (timed) and the queries are answered from the
hourly rollups plus the raw rows of the open and partial hours. Each figure is the median
of ``--runs`` calls of ``AnalyticsService.usage`` (SQL, merge, percentiles, rows built).

**Maintenance.** Two Bastions side by side on the mock upstream, each on its own SQLite
database preloaded with ``--preload`` rows in the last three closed hours: the baseline
with the analytics extension (and the console, which reads it) disabled, the other
running the rollup job every ``--interval`` seconds (the default is 60 s, so this is a
pessimistic rate). wrk alternates rounds between them; the job's first run rolls the
preloaded hours and every later run re-counts them (the reconcile window), the
steady-state work of a busy hour.
The job's runs and their durations are read from ``core_job_runs``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import sqlite3
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.analytics import AnalyticsConfig, AnalyticsExtension, AnalyticsService
from bastion.domains.core import CoreExtension
from bastion.domains.gateway import GatewayExtension
from bastion.domains.mcp import McpExtension
from bastion.infra.db import create_engine
from bastion.kernel.analytics import Report, Viewer
from bastion.kernel.ledger import MigrationLedger, PlannedMigration
from bench._support import cli, fakes, launch, llm, wrk
from bench._support.launch import create_pg, drop_pg

COLUMNS = (
    "id", "trace_id", "user_id", "tenant_id", "session_id", "client_id", "api_key_id",
    "ingress", "requested_model", "route", "provider", "upstream_model", "streaming",
    "status", "outcome", "input_tokens", "output_tokens", "cache_read_tokens",
    "cache_write_tokens", "cost_microdollars", "latency_ms", "ttfb_ms", "overhead_ms",
    "attempts", "error", "response_findings", "request_sha256", "prompt", "created_at",
)  # fmt: skip
MODELS = (
    ("claude-sonnet-4-5", "anthropic", "claude"),
    ("claude-haiku-4-5", "anthropic", "claude"),
    ("claude-opus-4-1", "anthropic", "claude"),
    ("gpt-4o", "openai", "gpt"),
    ("gpt-4o-mini", "openai", "gpt"),
    ("gemini-2.5-pro", "gemini", "gemini"),
)
QUERIES = (
    ("usage by model, 30 days", {"group_by": "model", "since": "30d"}),
    ("usage by user,model, 30 days", {"group_by": "user,model", "since": "30d"}),
    ("usage by day, 30 days", {"group_by": "day", "since": "30d"}),
    ("usage by model, 24 h", {"group_by": "model", "since": "24h"}),
    ("usage by model, tenant=t1, 7 days", {"group_by": "model", "since": "7d", "tenant": "t1"}),
)


def _people(rng: random.Random) -> list[tuple[str, str, str, str, list[int]]]:
    """(user, tenant, key, client, the models they use) for 60 users."""
    clients = ("claude-code", "sdk", "cowork")
    return [
        (
            f"usr_{n:04d}",
            f"t{n % 3}",
            f"key_{n:04d}",
            clients[n % 3],
            rng.sample(range(len(MODELS)), rng.choice((2, 3))),
        )
        for n in range(60)
    ]


def rows(n: int, start: dt.datetime, end: dt.datetime, seed: int = 15) -> Iterator[tuple[Any, ...]]:
    """``n`` rows in ``COLUMNS`` order, ``created_at`` an aware UTC datetime."""
    rng = random.Random(seed)
    people = _people(rng)
    span = (end - start).total_seconds()
    for i in range(n):
        user, tenant, key, client, models = people[rng.randrange(60)]
        model, provider, route = MODELS[rng.choice(models)]
        roll = rng.random()
        outcome = "success" if roll < 0.9 else ("denied" if roll < 0.95 else "error")
        served = outcome == "success"
        tokens_in = rng.randint(100, 8000) if served else 0
        tokens_out = rng.randint(10, 2000) if served else 0
        yield (
            uuid.UUID(int=rng.getrandbits(128)).hex, f"trace{i}", user, tenant, None, client,
            key, "anthropic", model, route, provider, model, False,
            200 if served else (403 if outcome == "denied" else 502), outcome,
            tokens_in, tokens_out, 0, 0, tokens_in * 3 + tokens_out * 15,
            rng.lognormvariate(6.5, 0.8), None, rng.lognormvariate(-0.7, 0.5),
            1, None, None, None, None,
            start + dt.timedelta(seconds=rng.random() * span),
        )  # fmt: skip


async def migrate(engine: AsyncEngine, analytics: bool = True) -> None:
    extensions = [CoreExtension(), GatewayExtension(), McpExtension()]
    if analytics:
        extensions.append(AnalyticsExtension())
    plan = [PlannedMigration(e.meta.id, m) for e in extensions for m in e.migrations()]
    await MigrationLedger(engine).migrate(plan)


def load_sqlite(path: Path, data: Iterator[tuple[Any, ...]]) -> None:
    def text(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return (*row[:-1], row[-1].isoformat(" ", "microseconds")[:26])

    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        marks = ",".join("?" * len(COLUMNS))
        with conn:
            conn.executemany(
                f"INSERT INTO ai_requests ({','.join(COLUMNS)}) VALUES ({marks})", map(text, data)
            )
    finally:
        conn.close()


async def load_pg(url: str, data: Iterator[tuple[Any, ...]]) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.copy_records_to_table("ai_requests", records=data, columns=list(COLUMNS))
        await conn.execute("ANALYZE ai_requests")
    finally:
        await conn.close()


async def _median_ms(service: AnalyticsService, params: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        query = service.query(Report.USAGE, params)
        await service.usage(query, Viewer.everything())
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def queries(db: str, total: int, runs: int) -> list[list[str]]:
    workdir = Path(__import__("tempfile").mkdtemp(prefix="bench-analytics-"))
    url = await create_pg() if db == "postgresql" else f"sqlite+aiosqlite:///{workdir}/a.db"
    engine = create_engine(url)
    try:
        await migrate(engine)
        now = dt.datetime.now(dt.UTC)
        data = rows(total, now - dt.timedelta(days=30), now - dt.timedelta(seconds=1))
        started = time.perf_counter()
        if db == "postgresql":
            await load_pg(url, data)
        else:
            load_sqlite(workdir / "a.db", data)
        load_s = time.perf_counter() - started
        service = AnalyticsService(engine, AnalyticsConfig())
        baseline = {name: await _median_ms(service, p, max(1, runs // 3)) for name, p in QUERIES}
        started = time.perf_counter()
        result = await service.roll_up()
        rollup_s = time.perf_counter() - started
        async with engine.connect() as conn:
            from sqlalchemy import func, select

            from bastion.domains.analytics._tables import usage_hourly

            rollup_rows = (
                await conn.execute(select(func.count()).select_from(usage_hourly))
            ).scalar_one()
        lines = [
            [
                db,
                name,
                f"{await _median_ms(service, p, runs):,.1f}",
                f"{baseline[name]:,.0f}",
                f"{total:,}",
            ]
            for name, p in QUERIES
        ]
        lines.append(
            [
                db,
                f"rollup catch-up ({result.hours_rolled} hours -> {rollup_rows:,} rollup rows); "
                f"bulk load {load_s:.1f} s",
                f"{rollup_s * 1000:,.0f}",
                "-",
                f"{total:,}",
            ]
        )
        return lines
    finally:
        await engine.dispose()
        if db == "postgresql":
            await drop_pg(url)


def preload(ws: launch.Workspace, count: int, analytics: bool) -> None:
    """Migrate the workspace's database and fill the last three closed hours."""
    engine = create_engine(ws.db_url)

    async def go() -> None:
        await migrate(engine, analytics)
        await engine.dispose()

    asyncio.run(go())
    top = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    load_sqlite(ws.dir / "bastion.db", rows(count, top - dt.timedelta(hours=3), top, seed=2))


def maintenance(args: Any) -> list[list[str]]:
    wrk.ensure()
    with (
        launch.Workspace("analytics-base") as base_ws,
        launch.Workspace("analytics-rollup") as roll_ws,
    ):
        mock = base_ws.fake("mock", "llm")
        preload(base_ws, args.preload, analytics=False)
        preload(roll_ws, args.preload, analytics=True)
        base = base_ws.bastion(
            gateway=llm.routes(mock.url), extensions={"disabled": ["analytics", "console"]}
        )
        roll = roll_ws.bastion(
            gateway=llm.routes(mock.url),
            analytics={"rollup_interval_seconds": args.interval},
        )
        targets = {}
        for name, ws, server in (("baseline", base_ws, base), ("rollups", roll_ws, roll)):
            key = launch.credential(ws.profile, "key")
            headers = {**llm.JSON, "x-api-key": key, "x-client-id": "bench"}
            body = fakes.messages_request("claude-bench")
            lua = wrk.script(ws.dir / f"{name}.lua", body, headers)
            targets[name] = (server.url + "/v1/messages", lua)
        _, runs = wrk.rounds(targets, args.rounds, args.duration, args.connections)
        base_ws.stop()
        roll_ws.stop()
        jobs = roll_ws.rows(
            "SELECT outcome, duration_ms FROM core_job_runs WHERE job_name = 'usage-rollup' "
            "ORDER BY id"
        )
    rps = {side: statistics.median(r.rps for r in runs if r.side == side) for side in targets}
    errors = sum(r.errors for r in runs)
    durations = [float(d) for _, d in jobs]
    ok = sum(1 for outcome, _ in jobs if outcome == "success")
    steady = statistics.median(durations[1:]) if len(durations) > 1 else float("nan")
    return [
        ["baseline (analytics disabled) median req/s", f"{rps['baseline']:,.0f}"],
        [f"rollup job every {args.interval:g} s, median req/s", f"{rps['rollups']:,.0f}"],
        [
            "throughput cost of the rollups (target < 5%)",
            f"{1 - rps['rollups'] / rps['baseline']:.1%}",
        ],
        ["errors (non-200 + socket), all rounds", str(errors)],
        ["job runs (succeeded / all)", f"{ok} / {len(jobs)}"],
        ["first run (rolls the preloaded hours), ms", f"{durations[0]:,.0f}" if durations else "-"],
        [f"later runs (re-count {args.preload:,} rows), median ms", f"{steady:,.1f}"],
        ["at the default 60 s interval: share of one core", f"{steady / 60_000:.2%}"],
    ]


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("bench.analytics", __doc__, rounds=3, duration=8, connections=50, runs=7)
    parser.add_argument("--rows", type=int, default=1_000_000, help="ai_requests rows (1M)")
    parser.add_argument("--preload", type=int, default=150_000, help="rows in closed hours")
    parser.add_argument("--interval", type=float, default=5.0, help="job interval, s (5)")
    parser.add_argument("--only", choices=["queries", "maintenance"], default=None, help="one part")
    args = parser.parse_args(argv)
    command = cli.command(parser, argv)
    print(f"`{command}`\n")
    if args.only != "maintenance":
        lines: list[list[str]] = []
        for db in ("sqlite", "postgresql"):
            lines += asyncio.run(queries(db, args.rows, args.runs))
        head = ["db", "query", "median ms (rollups)", "baseline: raw rows only, ms", "rows"]
        print("\n".join(cli.table(head, lines, "llr")), "\n", flush=True)
    if args.only != "queries":
        print("\n".join(cli.table(["measure", "figure"], maintenance(args), "lr")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
