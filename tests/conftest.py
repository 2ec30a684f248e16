"""Shared fixtures.

``db_url`` is parametrised over SQLite and PostgreSQL: every test that touches the
database runs on both. PostgreSQL tests get a fresh database each; with ``CI=true`` an
unreachable PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from hypothesis import HealthCheck, settings

# Property tests: a bounded budget on every run, a long one for ``make fuzz``
# (HYPOTHESIS_PROFILE=long). No deadline: a loaded CI machine is not a failure.
settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

PG_ADMIN_DSN = os.environ.get("BASTION_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BASTION_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _pg_base() -> str:
    return PG_ADMIN_DSN.rsplit("/", 1)[0]


async def _pg_available() -> bool:
    try:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


async def create_pg_database() -> str:
    """Create a throwaway database and return its SQLAlchemy URL."""
    if not await _pg_available():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not reachable at " + PG_ADMIN_DSN + " and CI=true")
        pytest.skip("PostgreSQL not reachable")
    name = "bastion_test_" + secrets.token_hex(6)
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://{_pg_base().split('://', 1)[1]}/{name}"


async def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _empty_database(backend: str, directory: Path) -> AsyncIterator[str]:
    """A fresh, empty database URL: a SQLite file in ``directory``, or a throwaway
    PostgreSQL database dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{directory / 'bastion.db'}"
        return
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def module_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """Like ``db_url``, for a server shared by a module's tests."""
    async for url in _empty_database(request.param, tmp_path_factory.mktemp("db")):
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database URL on each backend."""
    async for url in _empty_database(request.param, tmp_path):
        yield url


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def unique_prefix() -> Iterator[str]:
    yield "bastion-test:" + secrets.token_hex(6) + ":"
