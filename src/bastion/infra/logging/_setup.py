from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

import structlog

from bastion.infra.config import LoggingSettings, SecretStore

Redactor = Callable[[str], str]
_MASK = "[REDACTED]"


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
) -> None:
    """JSON lines (production) or console rendering, on stderr, for structlog *and* the
    standard library (uvicorn, SQLAlchemy drivers): every line passes the same redactors,
    the configured secret values first, then ``extra_redactors`` (the secret scanner)."""
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
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Driver chatter at debug level prints statement parameters; never below INFO.
    for noisy in ("aiosqlite", "asyncpg", "sqlalchemy.engine", "httpcore", "httpx"):
        logging.getLogger(noisy).setLevel(max(level, logging.INFO))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)
