"""Telling a database outage (spill and retry later) from a bad row (reject it)."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

# SQLSTATE classes meaning "the server is unavailable", not "your statement is wrong":
# 08 connection exception, 53 insufficient resources, 57P operator intervention
# (admin shutdown, crash shutdown, cannot connect now).
_OUTAGE_SQLSTATES = ("08", "53", "57P")


def is_outage(error: BaseException) -> bool:
    """True when ``error`` means the database cannot be reached right now."""
    if isinstance(
        error,
        OSError
        | TimeoutError
        | sa_exc.TimeoutError
        | sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.DisconnectionError,
    ):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        orig = error.orig
        if orig is None:
            return False
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig.__cause__, "sqlstate", None)
        return isinstance(sqlstate, str) and sqlstate.startswith(_OUTAGE_SQLSTATES)
    return False
