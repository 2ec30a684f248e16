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

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.auth import AuthExtension, RevocationList
from bastion.domains.users import UsersExtension
from bastion.infra.db import create_engine
from bastion.infra.security import JwtCodec, JwtSettings
from bastion.kernel.ids import RoleName, TenantId, UserId
from bastion.kernel.ledger import MigrationLedger, PlannedMigration
from bastion.kernel.tiers import Tier
from bastion.runtime.identity import Authenticator
from bench._support import cli
from bench._support.launch import create_pg, drop_pg

CALLS = 20_000
ROUNDS = 7
READS = 50
ROWS = 1_000
USERS = "INSERT INTO users_accounts VALUES (:id, :name, 'user', 't', :now, true)"
TOKENS = "INSERT INTO auth_tokens VALUES (:jti, 'usr_alice', :now, :later, :now)"


async def _migrated(url: str, rows: int) -> AsyncEngine:
    """The users and auth tables, with ``rows`` disabled users and revoked tokens."""
    engine = create_engine(url)
    plan = [
        PlannedMigration(e.meta.id, m)
        for e in (UsersExtension(), AuthExtension())
        for m in e.migrations()
    ]
    await MigrationLedger(engine).migrate(plan)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    later = now + dt.timedelta(hours=1)
    if rows:
        async with engine.begin() as conn:
            users = [{"id": f"usr_{i:016x}", "name": f"gone{i}", "now": now} for i in range(rows)]
            await conn.execute(text(USERS), users)
            jtis = [
                {"jti": secrets.token_urlsafe(16), "now": now, "later": later} for _ in range(rows)
            ]
            await conn.execute(text(TOKENS), jtis)
    return engine


async def _authenticate_us(auth: Authenticator, headers: list[tuple[bytes, bytes]]) -> float:
    wanted: dict[bytes, str | None] = {}
    started = time.perf_counter()
    for _ in range(CALLS):
        await auth.authenticate(headers, wanted, "127.0.0.1")
    return (time.perf_counter() - started) / CALLS * 1e6


async def _hot_path(url: str) -> list[tuple[str, str]]:
    engine = await _migrated(url, ROWS)
    codec = JwtCodec(JwtSettings(), secrets.token_urlsafe(48))
    user, tenant, role = UserId("usr_alice"), TenantId("t"), RoleName("user")
    token = codec.issue(
        user_id=user, tenant_id=tenant, role=role, tier=Tier.USER, scopes={"llm:invoke"}
    )
    headers = [(b"authorization", f"Bearer {token.token}".encode())]
    revocations = RevocationList(engine, bound_seconds=3600, leeway_seconds=30)
    snapshot = await revocations.refresh()
    assert len(snapshot.disabled_users) == ROWS and len(snapshot.revoked_tokens) == ROWS
    baseline = Authenticator(codec, None)
    checked = Authenticator(codec, None, revocations=revocations)
    ctx, error = await checked.authenticate(headers, {}, "127.0.0.1")
    assert error is None and ctx.user_id == "usr_alice"
    base_us: list[float] = []
    with_us: list[float] = []
    for _ in range(ROUNDS):
        base_us.append(await _authenticate_us(baseline, headers))
        with_us.append(await _authenticate_us(checked, headers))
    check: list[float] = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(CALLS):
            (revocations.fresh() or snapshot).refusal("usr_alice", "some-jti")
        check.append((time.perf_counter() - started) / CALLS * 1e6)
    await revocations.aclose()
    await engine.dispose()
    b, w = statistics.median(base_us), statistics.median(with_us)
    return [
        ("baseline: no revocation check", f"{b:.2f}"),
        (f"with the snapshot ({ROWS:,} disabled users, {ROWS:,} revoked jtis)", f"{w:.2f}"),
        ("difference", f"{(w - b) * 1000:.0f} ns ({w / b:.3f}x)"),
        ("the check alone (`fresh()` + `refusal()`)", f"{statistics.median(check):.2f}"),
    ]


async def _read_ms(url: str, rows: int) -> float:
    """The median of one snapshot read (what the background refresh runs)."""
    engine = await _migrated(url, rows)
    revocations = RevocationList(engine, bound_seconds=0, leeway_seconds=30)
    await revocations.refresh()  # warm the pool
    times = []
    for _ in range(READS):
        started = time.perf_counter()
        await revocations.refresh()
        times.append((time.perf_counter() - started) * 1000)
    await revocations.aclose()
    await engine.dispose()
    return statistics.median(times)


async def _reads(work: Path) -> list[tuple[str, str, str]]:
    out = []
    for rows in (0, ROWS):
        url = f"sqlite+aiosqlite:///{work / f'read{rows}.db'}"
        out.append(("SQLite", f"{rows:,} + {rows:,}", f"{await _read_ms(url, rows):.2f}"))
    try:
        for rows in (0, ROWS):
            url = await create_pg()
            try:
                out.append(
                    ("PostgreSQL", f"{rows:,} + {rows:,}", f"{await _read_ms(url, rows):.2f}")
                )
            finally:
                await drop_pg(url)
    except OSError as exc:
        out.append(("PostgreSQL", f"unreachable: {exc}", ""))
    return out


async def _main() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        hot = await _hot_path(f"sqlite+aiosqlite:///{tmp}/hot.db")
        reads = await _reads(Path(tmp))
    head = ["authenticate (JWT, verified-token cache hit)", "median µs per call"]
    return [
        *cli.table(head, hot, "lr"),
        "",
        *cli.table(["snapshot read", "rows", "median ms"], reads, "lr"),
    ]


def main(argv: list[str] | None = None) -> int:
    cli.parser("bench.identity", __doc__).parse_args(argv)
    print("\n".join(asyncio.run(_main())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
