"""``RevocationList`` and ``TokenRegistry`` on SQLite and PostgreSQL: what a snapshot
holds, when it is fresh, and that an unreadable database is an error, never a pass."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.auth import ApiKeyRepository, RevocationList, RevokeOutcome, TokenRegistry
from bastion.domains.users import UserRepository
from bastion.infra.db import create_engine
from bastion.infra.security import RoleCatalog
from bastion.kernel.ids import RoleName, TenantId
from tests.support.ports import free_port

HOUR = dt.timedelta(hours=1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _epoch(delta: dt.timedelta) -> int:
    return int((dt.datetime.now(dt.UTC) + delta).timestamp())


async def test_a_snapshot_holds_disabled_users_and_unexpired_revoked_tokens(
    engine: AsyncEngine,
) -> None:
    users = UserRepository(engine)
    alice = await users.create("alice", RoleName("user"), TenantId("t"))
    bob = await users.create("bob", RoleName("user"), TenantId("t"))
    registry = TokenRegistry(engine)
    hour = dt.timedelta(hours=1)
    await registry.record_issued("live", alice.id, _epoch(-hour), _epoch(hour))
    await registry.record_issued("gone", alice.id, _epoch(-2 * hour), _epoch(-hour))
    await registry.record_issued("kept", alice.id, _epoch(-hour), _epoch(hour))
    for jti in ("live", "gone", "never-recorded"):
        await registry.revoke(jti)
    assert (await users.set_disabled("bob", True)) is not None

    snapshot = await RevocationList(engine, bound_seconds=5, leeway_seconds=30).refresh()
    assert snapshot.disabled_users == {bob.id}
    # An expired token is refused by verification anyway; an unknown expiry is kept.
    assert snapshot.revoked_tokens == {"live", "never-recorded"}
    assert snapshot.refusal(bob.id, "kept") == "user is disabled"
    assert snapshot.refusal(alice.id, "live") == "token has been revoked"
    assert snapshot.refusal(alice.id, "kept") is None

    # Pruning forgets expired tokens, revoked or not, and nothing else.
    assert await registry.prune(leeway_seconds=30) == 1
    assert (await registry.revoke("gone")).outcome is RevokeOutcome.REVOKED_UNKNOWN
    assert (await registry.revoke("live")).outcome is RevokeOutcome.ALREADY_REVOKED
    assert (await registry.revoke("kept")).outcome is RevokeOutcome.REVOKED


async def test_a_snapshot_is_used_only_while_younger_than_the_bound(engine: AsyncEngine) -> None:
    clock = Clock()
    revocations = RevocationList(engine, bound_seconds=5, leeway_seconds=30, clock=clock)
    assert revocations.fresh() is None  # nothing read yet
    first = await revocations.refresh()
    assert first.loaded_at == clock.now and revocations.fresh() is first
    await UserRepository(engine).create("carol", RoleName("user"), TenantId("t"))
    await UserRepository(engine).set_disabled("carol", True)
    clock.now += 4.9
    assert revocations.fresh() is first  # within the bound: no I/O, the old state
    clock.now += 0.1
    assert revocations.fresh() is None  # at the bound: the caller must read
    second = await revocations.refresh()
    assert len(second.disabled_users) == 1 and revocations.fresh() is second
    await revocations.aclose()


async def test_concurrent_reads_share_one_query(engine: AsyncEngine) -> None:
    revocations = RevocationList(engine, bound_seconds=5, leeway_seconds=30)
    snapshots = await asyncio.gather(*(revocations.refresh() for _ in range(20)))
    assert len({id(s) for s in snapshots}) == 1
    await revocations.aclose()


async def test_with_a_zero_bound_every_request_reads(engine: AsyncEngine) -> None:
    revocations = RevocationList(engine, bound_seconds=0, leeway_seconds=30)
    first = await revocations.refresh()
    assert revocations.fresh() is None
    assert await revocations.refresh() is not first
    await revocations.aclose()


async def test_an_unreachable_database_raises_as_the_key_lookup_does() -> None:
    dead = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none")
    revocations = RevocationList(dead, bound_seconds=5, leeway_seconds=30)
    keys = ApiKeyRepository(dead, RoleCatalog(), cache_seconds=0)
    try:
        with pytest.raises(Exception) as by_key:
            await keys.resolve("bst_abcdefgh_" + "A" * 43)
        assert isinstance(by_key.value, DBAPIError | OSError), by_key.value
        with pytest.raises(type(by_key.value)):
            await revocations.refresh()
        assert revocations.fresh() is None
    finally:
        await revocations.aclose()
        await dead.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_revoking_waits_for_another_writer_on_sqlite(
    engine: AsyncEngine, db_url: str
) -> None:
    """A revocation that read before writing failed with "database is locked" when the
    audit writer committed in between; a write-first one waits its turn."""
    alice = await UserRepository(engine).create("alice", RoleName("user"), TenantId("t"))
    keys = ApiKeyRepository(engine, RoleCatalog(), cache_seconds=0)
    record, _ = await keys.issue(alice.id, "laptop")
    registry = TokenRegistry(engine)
    await registry.record_issued("jti-1", alice.id, _epoch(-dt.timedelta(0)), _epoch(HOUR))
    other = sqlite3.connect(db_url.split("///", 1)[1], isolation_level=None)
    try:
        for revoke in (lambda: keys.revoke(record.prefix), lambda: registry.revoke("jti-1")):
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE users_accounts SET role = 'user' WHERE id = ?", (alice.id,))
            pending = asyncio.ensure_future(revoke())
            await asyncio.sleep(0.3)  # it has started and waits for the write lock
            other.execute("COMMIT")
            assert await asyncio.wait_for(pending, 10)
    finally:
        other.close()
    assert (await registry.revoke("jti-1")).outcome is RevokeOutcome.ALREADY_REVOKED
