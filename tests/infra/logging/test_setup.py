"""Library logger thresholds for each ``logging.level``."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bastion.infra.config import LoggingSettings
from bastion.infra.logging import configure_logging

LIBRARIES = ("sqlalchemy", "aiosqlite", "asyncpg", "aiohttp", "httpx", "httpcore", "redis", "mcp")


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    names = (*LIBRARIES, "uvicorn.access", "")
    levels = {name: logging.getLogger(name).level for name in names}
    handlers = logging.getLogger().handlers[:]
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    logging.getLogger().handlers[:] = handlers


def level_of(name: str) -> int:
    return logging.getLogger(name).getEffectiveLevel()


@pytest.mark.parametrize("level", ["info", "warning"])
def test_libraries_log_warnings_only_below_debug(level: str) -> None:
    configure_logging(LoggingSettings(level=level))
    for name in (*LIBRARIES, "uvicorn.access", "sqlalchemy.engine.Engine"):
        assert level_of(name) == logging.WARNING, name
    assert logging.getLogger().level == getattr(logging, level.upper())


def test_error_level_applies_to_libraries_too() -> None:
    configure_logging(LoggingSettings(level="error"))
    assert level_of("sqlalchemy.engine.Engine") == logging.ERROR


def test_the_access_log_setting_asks_for_uvicorn_access_lines() -> None:
    configure_logging(LoggingSettings(level="info"), access_log=True)
    assert level_of("uvicorn.access") == logging.INFO
    assert level_of("httpx") == logging.WARNING


def test_debug_keeps_the_floors_that_hide_parameters_and_rows() -> None:
    configure_logging(LoggingSettings(level="debug"))
    # SQLAlchemy's DEBUG would echo result rows; aiosqlite's prints every call's parameters.
    assert level_of("sqlalchemy.engine.Engine") == logging.INFO
    assert level_of("aiosqlite") == logging.INFO
    assert level_of("httpx") == logging.DEBUG
    assert level_of("uvicorn.access") == logging.DEBUG
