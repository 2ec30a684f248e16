from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.infra.db import create_engine, dialect_of
from tests.infra.audit._support import Outage, TcpProxy, migrate


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated engine on each backend."""
    engine = create_engine(db_url)
    await migrate(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def outage(db_url: str, tmp_path: Path) -> AsyncIterator[Outage]:
    proxy: TcpProxy | None = None
    directory: Path | None = None
    if dialect_of(db_url) == "sqlite":
        directory = tmp_path / "db"
        url = f"sqlite+aiosqlite:///{directory / 'bastion.db'}"
    else:
        parsed = make_url(db_url)
        proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
        await proxy.start()
        url = parsed.set(port=proxy.port).render_as_string(hide_password=False)
    engine = create_engine(url)
    await migrate(engine)
    try:
        yield Outage(engine, proxy, directory)
    finally:
        await engine.dispose()
        if proxy is not None:
            await proxy.close()
