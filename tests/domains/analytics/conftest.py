from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.analytics import AnalyticsConfig, AnalyticsService
from bastion.infra.db import create_engine
from tests.domains.analytics.seed import Seeded, migrate, seed


def floor_hour(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


# Rows from 54.5 hours before the current hour began until a moment ago: a whole day for
# the daily rollup, closed hours either side of it for the hourly one, a partial first
# hour, and the current (open) hour.
NOW = dt.datetime.now(dt.UTC)
END = NOW - dt.timedelta(seconds=1)
START = floor_hour(NOW) - dt.timedelta(hours=54, minutes=30)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    await migrate(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def seeded(engine: AsyncEngine) -> Seeded:
    return await seed(engine, START, END)


@pytest.fixture
def service(engine: AsyncEngine) -> AnalyticsService:
    return AnalyticsService(engine, AnalyticsConfig(settle_seconds=0))
