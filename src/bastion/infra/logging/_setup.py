from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any

import structlog

from bastion.infra.config import LoggingSettings, SecretStore

Redactor = Callable[[str], str]
_MASK = "[REDACTED]"

# Library logger -> the lowest level it may log at, reached only with ``logging.level:
# debug``. Below ``debug`` every one of them logs warnings and errors only.
LIBRARY_LOGGERS: Mapping[str, int] = {
    # INFO is SQLAlchemy's statement echo (parameters hidden: every engine is created with
    # ``hide_parameters=True``); DEBUG would add every result row.
    "sqlalchemy": logging.INFO,
    # aiosqlite's DEBUG lines print each call it runs, bound parameters included.
    "aiosqlite": logging.INFO,
    "asyncpg": logging.DEBUG,
    "aiohttp": logging.DEBUG,
    "httpx": logging.DEBUG,
    "httpcore": logging.DEBUG,
    "redis": logging.DEBUG,
    "mcp": logging.DEBUG,
    "uvicorn.access": logging.DEBUG,
}


def _statements_at_debug(record: logging.LogRecord) -> bool:
    """SQLAlchemy echoes statements at INFO; shown as debug lines here, so that no SQL is
    ever an ``info`` line (they pass only with ``logging.level: debug``)."""
    if record.levelno == logging.INFO and record.name.startswith("sqlalchemy."):
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
    return True


def _literal_redactor(values: Iterable[str]) -> Redactor:
    secrets_ = sorted({v for v in values if len(v) >= 6}, key=len, reverse=True)

    def redact(text: str) -> str:
        for value in secrets_:
            if value in text:
                text = text.replace(value, _MASK)
        return text

    return redact


def redact_processor(
    redactors: Iterable[Redactor],
) -> Callable[[Any, str, MutableMapping[str, Any]], MutableMapping[str, Any]]:
    """A structlog processor applying every redactor to every string value."""
    chain = list(redactors)

    def process(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key, value in event.items():
            if isinstance(value, str):
                for redact in chain:
                    value = redact(value)
                event[key] = value
        return event

    return process


def configure_logging(
    settings: LoggingSettings,
    secrets: SecretStore | None = None,
    extra_redactors: Iterable[Redactor] = (),
    *,
    access_log: bool = False,
) -> None:
    """JSON lines (production) or console rendering, on stderr, for structlog *and* the
    standard library (uvicorn, SQLAlchemy drivers): every line passes the same redactors,
    the configured secret values first, then ``extra_redactors`` (the secret scanner).
    Library loggers stay at WARNING below ``debug`` (``quiet_libraries``)."""
    level = getattr(logging, settings.level.upper())
    redactors: list[Redactor] = [*extra_redactors]
    if secrets is not None:
        redactors.insert(0, _literal_redactor(secrets.values()))
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            redact_processor(redactors),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Resolve sys.stderr per logger: a stream captured at configure time may be closed
        # later (test runners swap it), and printing to it would fail.
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_processor(redactors),
            renderer,
        ],
    )
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    handler.addFilter(_statements_at_debug)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_libraries(level, access_log=access_log)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def quiet_libraries(level: int, *, access_log: bool = False) -> None:
    """Library loggers log warnings and errors only, unless ``debug`` is asked for; even
    then each stays at or above its floor. ``access_log`` (``server.access_log``) is an
    explicit request for uvicorn's one line per request."""
    for name, floor in LIBRARY_LOGGERS.items():
        if level <= logging.DEBUG:
            threshold = floor
        elif name == "uvicorn.access" and access_log:
            threshold = max(level, logging.INFO)
        else:
            threshold = max(level, logging.WARNING)
        logging.getLogger(name).setLevel(threshold)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)
