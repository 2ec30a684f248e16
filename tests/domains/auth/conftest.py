from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.auth import AuthExtension
from bastion.domains.users import UsersExtension
from bastion.infra.db import create_engine
from bastion.kernel.ledger import MigrationLedger, PlannedMigration


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """A fresh database holding the users and auth tables, on each backend."""
    engine = create_engine(db_url)
    plan = [
        *(PlannedMigration("users", m) for m in UsersExtension().migrations()),
        *(PlannedMigration("auth", m) for m in AuthExtension().migrations()),
    ]
    await MigrationLedger(engine).migrate(plan)
    try:
        yield engine
    finally:
        await engine.dispose()
