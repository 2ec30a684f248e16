from __future__ import annotations

import sqlite3

from sqlalchemy import exc as sa_exc

from bastion.infra.db import is_outage


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def test_unreachable_database_errors_are_outages() -> None:
    assert is_outage(ConnectionRefusedError(111, "refused"))
    assert is_outage(TimeoutError())
    assert is_outage(sa_exc.TimeoutError("pool exhausted"))
    assert is_outage(
        sa_exc.OperationalError("x", {}, sqlite3.OperationalError("unable to open database"))
    )
    assert is_outage(sa_exc.DBAPIError("x", {}, _DriverError("57P01")))
    assert is_outage(sa_exc.DBAPIError("x", {}, _DriverError("08006")))
    assert is_outage(sa_exc.DBAPIError("x", {}, Exception(), connection_invalidated=True))


def test_bad_data_is_not_an_outage() -> None:
    assert not is_outage(sa_exc.IntegrityError("x", {}, sqlite3.IntegrityError("NOT NULL")))
    assert not is_outage(sa_exc.DBAPIError("x", {}, _DriverError("22P02")))
    assert not is_outage(ValueError("unknown columns"))
