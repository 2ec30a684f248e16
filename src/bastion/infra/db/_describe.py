"""Database errors as log text: the driver's message, never the statement."""

from __future__ import annotations

from sqlalchemy.exc import StatementError


def describe_error(error: BaseException) -> str:
    """``str(error)`` without the ``[SQL: ...]`` and parameter lines SQLAlchemy appends to
    a statement's error, e.g. ``(sqlite3.IntegrityError) UNIQUE constraint failed: t.a``."""
    if isinstance(error, StatementError) and error.args:
        return str(error.args[0])
    return str(error)
