"""Fast audit batches into a SQLite file, each batch one job on a thread of its own.

Why not the pool's aiosqlite connection: sqlite3 releases the GIL around every step (each
row of an ``executemany``, each statement) and takes it back afterwards. While the event
loop keeps the interpreter busy, every take-back waits out the switch interval (5 ms), and
aiosqlite adds a thread hop for each cursor, statement and commit. Under load a batch of
500 rows took up to 400 ms that way, the writer fell behind at 500-1,000 rows/s, and the
queue filled to its bound until producers waited (measured on ``bench.hooks``). Here a
batch is one job and, per table, one statement: ``INSERT ... SELECT ... FROM
json_each(?)`` bound to the rows as one JSON document (``TableStatements.json_sql``), or
multi-row INSERTs (``sqlite_multirow``) when a value would not survive JSON exactly. That
is a handful of GIL round trips per batch rather than one per row, and SQLite's own work
runs beside the event loop with the GIL released.

The connection is kept between batches, but only while the path still names the file it
was opened on: a database file that is moved or deleted must not keep receiving rows
through an old descriptor, where nobody would find them. A batch that finds no file, or
any error, closes the connection; the writer then takes the batch the exact way, through
SQLAlchemy, which tells an outage from a bad row.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from bastion.infra.audit._statements import sqlite_multirow

# (fast_sql, json_sql or None, parameter tuples) per table
Work = Sequence[tuple[str, str | None, Sequence[tuple[Any, ...]]]]
# Values JSON would carry differently than sqlite3 binds them raise instead: integers
# beyond 53 bits (SQLite would read a large one as REAL), datetimes, dataclasses.
_JSON_OPTIONS = (
    orjson.OPT_STRICT_INTEGER | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)
_FileIdentity = tuple[int, int]


class SqliteInserter:
    """Inserts fast batches (``TableStatements.fast_sql`` and parameter tuples) into the
    SQLite database at ``path``; ``busy_timeout`` bounds the wait for SQLite's write lock."""

    def __init__(self, path: Path, *, busy_timeout: float) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="bastion-audit-sqlite")
        # Touched only on the executor's thread.
        self._connection: sqlite3.Connection | None = None
        self._identity: _FileIdentity | None = None

    async def insert(self, work: Work) -> None:
        """Insert every row of ``work`` in one transaction, or raise and insert none."""
        # On the loop's thread: a stat costs less than another GIL round trip.
        stat = os.stat(self._path)
        statements = [chunk for table in work for chunk in _statements(*table)]
        if not statements:
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            self._executor, self._insert, (stat.st_dev, stat.st_ino), statements
        )

    async def close(self) -> None:
        """Close the connection once the jobs already submitted have run."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._disconnect)
        finally:
            self._executor.shutdown(wait=False)

    def _insert(self, identity: _FileIdentity, statements: Sequence[tuple[str, list[Any]]]) -> None:
        try:
            connection = self._connect(identity)
            if len(statements) == 1:
                # A single statement is its own transaction in autocommit mode.
                connection.execute(*statements[0])
                return
            connection.execute("BEGIN IMMEDIATE")
            for sql, params in statements:
                connection.execute(sql, params)
            connection.execute("COMMIT")
        except BaseException:
            self._disconnect()
            raise

    def _connect(self, identity: _FileIdentity) -> sqlite3.Connection:
        if self._connection is not None and self._identity == identity:
            return self._connection
        self._disconnect()
        # mode=rw: a missing file is an error here, never a new empty database.
        connection = sqlite3.connect(
            f"file:{quote(str(self._path))}?mode=rw",
            uri=True,
            timeout=self._busy_timeout,
            isolation_level=None,
        )
        try:
            connection.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            connection.close()
            raise
        self._connection, self._identity = connection, identity
        return connection

    def _disconnect(self) -> None:
        connection, self._connection, self._identity = self._connection, None, None
        if connection is not None:
            connection.close()  # rolls back a transaction left open by a failed batch


def _statements(
    sql: str, json_sql: str | None, params: Sequence[tuple[Any, ...]]
) -> list[tuple[str, list[Any]]]:
    """One table's rows as statements: one INSERT reading a JSON array when every value
    survives JSON unchanged, multi-row INSERTs otherwise."""
    if json_sql is not None and params:
        try:
            document = orjson.dumps(params, option=_JSON_OPTIONS)
        except TypeError:
            pass
        else:
            # SQLite's JSON reader ends a string at an escaped NUL.
            if b"\\u0000" not in document:
                return [(json_sql, [document.decode()])]
    return list(sqlite_multirow(sql, params))
