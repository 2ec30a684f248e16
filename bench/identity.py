"""Cost of checking JWTs against the revocation snapshot: ``python -m bench.identity``.

Two ``Authenticator``s side by side in one process, one without revocation checks (the
baseline, as before disabled users and revoked ``jti`` were refused) and one with a
``RevocationList`` holding 1,000 disabled users and 1,000 revoked tokens, its snapshot
fresh (the state the background refresh keeps it in). Each round times ``CALLS``
``authenticate`` calls of a valid JWT on each, interleaved; the figures are the medians
of the rounds. Then the refresh itself: the median time of one snapshot read, on SQLite
and (if reachable at ``BASTION_BENCH_PG``) PostgreSQL, empty and with those rows; each
process runs one such read per ``min(1 s, bound / 2)``, whatever the traffic.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.auth import AuthExtension, RevocationList
from bastion.domains.auth._tables import tokens
from bastion.domains.users import UsersExtension
from bastion.domains.users._repository import accounts
from bastion.infra.db import create_engine
from bastion.infra.security import JwtCodec, JwtSettings
from bastion.kernel.ids import RoleName, TenantId, UserId
from bastion.kernel.ledger import MigrationLedger, PlannedMigration
from bastion.kernel.tiers import Tier
from bastion.runtime.identity import Authenticator
from bench._support import create_pg, drop_pg

CALLS = 20_000
ROUNDS = 7
READS = 50
ROWS = 1_000


async def _migrated(url: str, rows: int) -> AsyncEngine:
    engine = create_engine(url)
    plan = [
        *(PlannedMigration("users", m) for m in UsersExtension().migrations()),
        *(PlannedMigration("auth", m) for m in AuthExtension().migrations()),
    ]
    await MigrationLedger(engine).migrate(plan)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if rows:
        async with engine.begin() as conn:
            await conn.execute(
                insert(accounts),
                [
                    {
                        "id": f"usr_{i:016x}",
                        "name": f"gone{i}",
                        "role": "user",
                        "tenant_id": "t",
                        "created_at": now,
                        "disabled": True,
                    }
                    for i in range(rows)
                ],
            )
            await conn.execute(
                insert(tokens),
                [
                    {
                        "jti": secrets.token_urlsafe(16),
                        "user_id": "usr_alice",
                        "issued_at": now,
                        "expires_at": now + dt.timedelta(hours=1),
                        "revoked_at": now,
                    }
                    for _ in range(rows)
                ],
            )
    return engine


async def _rate(auth: Authenticator, headers: list[tuple[bytes, bytes]]) -> float:
    wanted: dict[bytes, str | None] = {}
    started = time.perf_counter()
    for _ in range(CALLS):
        ctx, error = await auth.authenticate(headers, wanted, "127.0.0.1")
    elapsed = time.perf_counter() - started
    assert error is None and ctx.user_id == "usr_alice"
    return elapsed / CALLS * 1e6


async def _hot_path(url: str) -> str:
    engine = await _migrated(url, ROWS)
    codec = JwtCodec(JwtSettings(), secrets.token_urlsafe(48))
    token = codec.issue(
        user_id=UserId("usr_alice"),
        tenant_id=TenantId("t"),
        role=RoleName("user"),
        tier=Tier.USER,
        scopes={"llm:invoke"},
    ).token
    headers = [(b"authorization", f"Bearer {token}".encode())]
    revocations = RevocationList(engine, bound_seconds=3600, leeway_seconds=30)
    snapshot = await revocations.refresh()
    assert len(snapshot.disabled_users) == ROWS and len(snapshot.revoked_tokens) == ROWS
    baseline, checked = (
        Authenticator(codec, None),
        Authenticator(codec, None, revocations=revocations),
    )
    base_us: list[float] = []
    with_us: list[float] = []
    for _ in range(ROUNDS):
        base_us.append(await _rate(baseline, headers))
        with_us.append(await _rate(checked, headers))
    check_ns: list[float] = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(CALLS):
            (revocations.fresh() or snapshot).refusal("usr_alice", "some-jti")
        check_ns.append((time.perf_counter() - started) / CALLS * 1e9)
    await revocations.aclose()
    await engine.dispose()
    b, w = statistics.median(base_us), statistics.median(with_us)
    return (
        "| authenticate (JWT, verified-token cache hit) | median µs per call |\n|---|---:|\n"
        f"| baseline: no revocation check | {b:.2f} |\n"
        f"| with the snapshot ({ROWS:,} disabled users, {ROWS:,} revoked jtis) | {w:.2f} |\n"
        f"| difference | {(w - b) * 1000:.0f} ns ({w / b:.3f}x) |\n"
        f"| the check alone (`fresh()` + `refusal()`) | {statistics.median(check_ns) / 1000:.2f} |"
    )


async def _read_ms(url: str, rows: int) -> float:
    engine = await _migrated(url, rows)
    revocations = RevocationList(engine, bound_seconds=0, leeway_seconds=30)
    await revocations.refresh()  # warm the pool
    times: list[float] = []
    for _ in range(READS):
        started = time.perf_counter()
        await revocations.refresh()
        times.append((time.perf_counter() - started) * 1000)
    await revocations.aclose()
    await engine.dispose()
    return statistics.median(times)


async def _reads(work: Path) -> str:
    lines = ["| snapshot read | rows | median ms |", "|---|---:|---:|"]
    for rows in (0, ROWS):
        url = f"sqlite+aiosqlite:///{work / f'read{rows}.db'}"
        lines.append(f"| SQLite | {rows:,} + {rows:,} | {await _read_ms(url, rows):.2f} |")
    try:
        for rows in (0, ROWS):
            url = await create_pg()
            try:
                lines.append(
                    f"| PostgreSQL | {rows:,} + {rows:,} | {await _read_ms(url, rows):.2f} |"
                )
            finally:
                await drop_pg(url)
    except OSError as exc:
        lines.append(f"| PostgreSQL | unreachable: {exc} | |")
    return "\n".join(lines)


async def _main() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        hot = await _hot_path(f"sqlite+aiosqlite:///{work / 'hot.db'}")
        return hot + "\n\n" + await _reads(work)


def main() -> None:
    print(asyncio.run(_main()))


if __name__ == "__main__":
    main()
