"""Console sessions on SQLite and PostgreSQL: only the hash of the id is stored, the idle
and absolute timeouts end a session, sign-out and purge delete it, the CSRF token is
bound to the session."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.console import ConsoleConfig, ConsoleExtension
from bastion.domains.console._sessions import SessionStore, csrf_matches, csrf_token, hash_id
from bastion.domains.console._tables import sessions, utc_now
from bastion.infra.db import create_engine
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.ids import ApiKeyId, RoleName, TenantId, TraceId, UserId
from bastion.kernel.ledger import MigrationLedger, PlannedMigration
from bastion.kernel.tiers import Tier

ADMIN = RequestContext(
    trace_id=TraceId("t-1"),
    tier=Tier.ADMIN,
    auth_method=AuthMethod.API_KEY,
    user_id=UserId("usr_admin"),
    tenant_id=TenantId("default"),
    role=RoleName("admin"),
    scopes=frozenset({"*"}),
    api_key_id=ApiKeyId("key_1"),
    remote_addr="127.0.0.1",
)
CONFIG = ConsoleConfig(idle_timeout_seconds=600, absolute_timeout_seconds=3600)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    plan = [PlannedMigration("console", m) for m in ConsoleExtension().migrations()]
    await MigrationLedger(engine).migrate(plan)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_a_session_stores_the_hash_and_the_principal(engine: AsyncEngine) -> None:
    store = SessionStore(engine, CONFIG)
    raw = await store.open(ADMIN, "credential")
    async with engine.connect() as conn:
        [row] = (await conn.execute(select(sessions))).mappings().all()
    assert row["id_hash"] == hash_id(raw) != raw
    assert raw not in {str(v) for v in row.values()}
    found = await store.find(raw)
    assert found is not None
    ctx = found.context(TraceId("t-2"), "10.0.0.1")
    assert (ctx.user_id, ctx.tenant_id, ctx.tier, ctx.scopes) == (
        "usr_admin",
        "default",
        Tier.ADMIN,
        frozenset({"*"}),
    )
    assert (ctx.trace_id, ctx.api_key_id, found.login_method) == ("t-2", "key_1", "credential")
    assert await store.find("not-" + raw) is None


async def test_idle_and_absolute_timeouts_end_a_session(engine: AsyncEngine) -> None:
    store = SessionStore(engine, CONFIG)
    now = utc_now()
    raw = await store.open(ADMIN, "credential")
    # Used every 5 minutes: the idle clock restarts, until the absolute timeout.
    for minutes in range(5, 60, 5):
        assert await store.find(raw, now=now + dt.timedelta(minutes=minutes)) is not None
    assert await store.find(raw, now=now + dt.timedelta(minutes=61)) is None
    # An expired session is deleted, not only refused.
    assert await store.find(raw, now=now) is None

    idle = await store.open(ADMIN, "credential")
    assert await store.find(idle, now=now + dt.timedelta(minutes=11)) is None


async def test_sign_out_and_purge_delete_sessions(engine: AsyncEngine) -> None:
    store = SessionStore(engine, CONFIG)
    first, second = await store.open(ADMIN, "credential"), await store.open(ADMIN, "credential")
    assert await store.close(first) is True
    assert await store.close(first) is False
    assert await store.find(first) is None and await store.find(second) is not None
    assert await store.purge(now=utc_now() + dt.timedelta(hours=2)) == 1
    assert await store.find(second) is None


def test_the_csrf_token_is_bound_to_its_session() -> None:
    token = csrf_token("session-a")
    assert csrf_matches("session-a", token)
    assert not csrf_matches("session-b", token)
    assert not csrf_matches("session-a", None)
    assert not csrf_matches("session-a", "")
    assert "session-a" not in token


def test_the_idle_timeout_cannot_exceed_the_absolute_one() -> None:
    with pytest.raises(ValueError, match="idle_timeout_seconds exceeds"):
        ConsoleConfig(idle_timeout_seconds=7200, absolute_timeout_seconds=3600)
