"""Database errors as log text: the driver's message, never the statement."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, SQLAlchemyError, StatementError


def describe_error(error: BaseException) -> str:
    """``str(error)`` without the ``[SQL: ...]`` and parameter lines SQLAlchemy appends to
    a statement's error, e.g. ``(sqlite3.IntegrityError) UNIQUE constraint failed: t.a``."""
    if isinstance(error, StatementError) and error.args:
        return str(error.args[0])
    return str(error)


def database_failure(error: BaseException) -> str | None:
    """One line for an error of reaching or using the database (``database "x" does not
    exist``, ``Connect call failed ...``), without statement, parameters or the driver's
    class prefix; None when ``error`` is not a database error."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        return str(error.orig).splitlines()[0] or type(error.orig).__name__
    if isinstance(error, SQLAlchemyError):
        return describe_error(error).splitlines()[0]
    if isinstance(error, OSError):
        return str(error)
    return None
