"""Every decision is written exactly once: 10,000 concurrent decisions become 10,000
``governance_decisions`` rows on each backend, and decisions made while PostgreSQL is
unreachable are spilled and replayed on recovery, none lost and none duplicated."""

from __future__ import annotations

import asyncio
import random
import string
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bastion.infra.audit import governance_decisions
from bastion.infra.config import load_profile
from bastion.infra.db import create_engine
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.governance import GOVERNANCE
from bastion.kernel.ids import RoleName, SessionId, TenantId, TraceId, UserId
from bastion.kernel.policy import PolicyContext, PolicyTarget, TargetType
from bastion.kernel.tiers import Tier
from bastion.runtime.boot import boot
from bastion.runtime.platform import Platform
from tests.conftest import create_pg_database, drop_pg_database
from tests.infra.audit._support import TcpProxy
from tests.support import write_profile

SCOPES = frozenset({"llm:invoke", "mcp:call", "agents:read", "agents:invoke"})
RNG = random.Random(99)
AWS_KEY = (
    "AK" + "IA" + "".join(RNG.choice(string.ascii_uppercase + string.digits) for _ in "x" * 16)
)
TOOL = PolicyTarget(TargetType.TOOL, server="github", tool="create_issue")
PROMPT = PolicyTarget(TargetType.PROMPT)
PROMPT_TEXT = "Please review the attached diff and point out anything risky. " * 8


def _context(trace: str, n: int) -> PolicyContext:
    who = RequestContext(
        trace_id=TraceId(trace),
        tier=Tier.USER,
        auth_method=AuthMethod.JWT,
        user_id=UserId(f"usr_{n % 50}"),
        tenant_id=TenantId("acme"),
        role=RoleName("user"),
        scopes=SCOPES,
        session_id=SessionId(f"sess-{n % 7}"),
    )
    if n % 10 == 0:  # one in ten carries a secret and is denied
        return PolicyContext(who, TOOL, {"body": f"key {AWS_KEY}"})
    if n % 2:
        return PolicyContext(who, TOOL, {"title": "flaky test", "labels": ["ci"]})
    return PolicyContext(who, PROMPT, PROMPT_TEXT)


async def _booted(profile: Path) -> Platform:
    platform = await boot(load_profile(profile))
    await platform.start(jobs=False)
    return platform


async def _counts(db_url: str) -> tuple[int, int, int]:
    """(rows, distinct trace ids, denies) in governance_decisions."""
    engine = create_engine(db_url)
    t = governance_decisions
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        func.count(),
                        func.count(t.c.trace_id.distinct()),
                        func.count().filter(t.c.decision == "deny"),
                    ).select_from(t)
                )
            ).one()
            return int(row[0]), int(row[1]), int(row[2])
    finally:
        await engine.dispose()


async def _drive(platform: Platform, prefix: str, total: int, workers: int = 200) -> int:
    """``total`` decisions from ``workers`` concurrent tasks; returns the denies."""
    engine = platform.service(GOVERNANCE).engine
    per_worker = total // workers
    assert per_worker * workers == total
    denies = 0

    async def worker(w: int) -> None:
        nonlocal denies
        for i in range(per_worker):
            n = w * per_worker + i
            decision = await engine.evaluate(_context(f"{prefix}-{n}", n))
            denies += not decision.allowed
            if i % 10 == 0:
                await asyncio.sleep(0)

    await asyncio.gather(*(worker(w) for w in range(workers)))
    return denies


async def test_ten_thousand_concurrent_decisions_make_ten_thousand_rows(
    db_url: str, tmp_path: Path
) -> None:
    profile = write_profile(
        tmp_path / "profile",
        db_url,
        {
            # The full default chain; limits high enough that 50 users never hit them.
            "rate_limits": {"requests_per_second": 100_000},
            "governance": {
                "quota": {
                    "rules": [{"subject": "user", "window": "1h", "limits": {"requests": 10**9}}]
                }
            },
        },
    )
    platform = await _booted(profile)
    try:
        started = time.perf_counter()
        denies = await _drive(platform, "load", 10_000)
        elapsed = time.perf_counter() - started
    finally:
        await platform.close()  # drains the audit queue
    assert denies == 1_000
    assert await _counts(db_url) == (10_000, 10_000, 1_000)
    # Not a benchmark, but 10,000 in-process decisions should not take long.
    assert elapsed < 30, elapsed


def _metric(name: str) -> float:
    return REGISTRY.get_sample_value(name, {"table": "governance_decisions"}) or 0.0


async def _wait(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@pytest.fixture
async def pg_behind_proxy() -> AsyncIterator[tuple[str, str, TcpProxy]]:
    """A fresh PostgreSQL database, reachable directly and through a cuttable proxy."""
    direct = await create_pg_database()
    parsed = make_url(direct)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    await proxy.start()
    proxied = parsed.set(port=proxy.port).render_as_string(hide_password=False)
    try:
        yield direct, proxied, proxy
    finally:
        await proxy.close()
        await drop_pg_database(direct)


async def test_database_outage_mid_load_loses_no_decision(
    pg_behind_proxy: tuple[str, str, TcpProxy], tmp_path: Path
) -> None:
    direct, proxied, proxy = pg_behind_proxy
    profile = write_profile(
        tmp_path / "profile",
        proxied,
        {"rate_limits": {"requests_per_second": 100_000}, "audit": {"batch_size": 100}},
    )
    spilled, replayed = (
        _metric("bastion_audit_rows_spilled_total"),
        _metric("bastion_audit_rows_replayed_total"),
    )
    platform = await _booted(profile)
    writer = platform.audit.writer
    spill_file = platform.profile.audit.spill_path
    try:
        # Before: written straight through.
        await _drive(platform, "before", 2_000)
        await asyncio.wait_for(writer.flush(), 30)
        assert not writer.spilling
        assert await _counts(direct) == (2_000, 2_000, 200)

        # During: the database is unreachable; decisions go on, and rows spill to disk.
        await proxy.cut()
        await _drive(platform, "during", 2_000)
        await _wait(lambda: _metric("bastion_audit_rows_spilled_total") - spilled >= 2_000)
        assert writer.spilling
        assert spill_file.exists() and spill_file.stat().st_size > 0
        assert await _counts(direct) == (2_000, 2_000, 200)

        # After: the database is back; the spill is replayed while new decisions arrive.
        await proxy.restore()
        await _drive(platform, "after", 2_000)
        await asyncio.wait_for(writer.flush(), 60)
        assert not writer.spilling
    finally:
        await platform.close()

    assert await _counts(direct) == (6_000, 6_000, 600)
    engine = create_engine(direct)
    try:
        async with engine.connect() as conn:
            traces = set((await conn.execute(select(governance_decisions.c.trace_id))).scalars())
    finally:
        await engine.dispose()
    expected = {f"{phase}-{n}" for phase in ("before", "during", "after") for n in range(2_000)}
    assert traces == expected
    assert _metric("bastion_audit_rows_spilled_total") - spilled >= 2_000
    assert _metric("bastion_audit_rows_replayed_total") - replayed >= 2_000 - 100
    assert not spill_file.exists()
