"""The statements that put rows of one audit table into one database, built once per table.

Two ways to write a batch:

- **fast**, the normal path: the table's plain ``INSERT`` in the driver's own SQL, compiled
  once here and sent with ``exec_driver_sql`` as one ``executemany`` of value tuples
  (asyncpg pipelines it in one round trip). A SQLite file takes the same tuples as one
  JSON document (``json_sql``) or multi-row INSERTs (``sqlite_multirow``), on the
  inserter's thread (``_sqlite_inserter``). Each
  value goes through its column type's own bind processor, looked up once here, so the
  database receives exactly what a SQLAlchemy ``insert()`` would send it. No ``ON
  CONFLICT`` and no ``RETURNING``: rows on the normal path carry fresh client-generated
  ids, so the statement inserts every row or fails as a whole (a duplicate id, a bad
  value, an outage), and then the writer falls back to the exact way.
- **exact**: ``INSERT ... ON CONFLICT (id) DO NOTHING RETURNING id`` through SQLAlchemy,
  which counts the rows it really inserts. Replays use it (their rows may be committed
  already), and so does every fallback after a refused fast batch.
"""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Boolean, Column, Date, DateTime, Dialect, Integer, String, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert, ReturningInsert
from sqlalchemy.types import TypeDecorator

from bastion.infra.audit._tables import JsonText, json_dumps

Process = Callable[[Any], Any]


class TableStatements:
    """The exact and the fast insert of one table on one dialect."""

    __slots__ = ("_columns", "_get", "_processors", "exact", "fast_sql", "json_sql", "name")

    def __init__(self, table: Table, dialect: Dialect) -> None:
        if [c.name for c in table.primary_key.columns] != ["id"]:
            raise ValueError(f"audit table '{table.name}' needs a single primary key named 'id'")
        if dialect.name == "postgresql":
            exact: Insert = postgresql.insert(table).on_conflict_do_nothing(index_elements=["id"])
        elif dialect.name == "sqlite":
            exact = sqlite.insert(table).on_conflict_do_nothing(index_elements=["id"])
        else:
            raise ValueError(f"audit writer supports sqlite and postgresql, not {dialect.name}")
        self.name = table.name
        self.exact: ReturningInsert[tuple[str]] = exact.returning(table.c.id)
        names = tuple(c.name for c in table.columns)
        self._columns: dict[str, None] = dict.fromkeys(names)
        self.fast_sql: str | None = None
        self.json_sql: str | None = None
        self._get: Callable[[Mapping[str, Any]], tuple[Any, ...]] = (
            itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
        )
        self._processors: tuple[tuple[int, Process], ...] = ()
        # The fast path needs positional parameters and columns whose key is their name
        # (rows are keyed by column name; SQLAlchemy binds by key). Otherwise every batch
        # goes the exact way, as before the fast path existed.
        if dialect.positional and all(c.key == c.name for c in table.columns):
            compiled = insert(table).compile(dialect=dialect, column_keys=list(names))
            if compiled.positiontup == list(names):
                self.fast_sql = compiled.string
                self._processors = tuple(
                    (index, process)
                    for index, c in enumerate(table.columns)
                    if (process := _bind_processor(c.type, dialect)) is not None
                )
                if dialect.name == "sqlite" and all(_json_exact(c) for c in table.columns):
                    quote = dialect.identifier_preparer.quote
                    self.json_sql = _json_insert(quote(table.name), [quote(n) for n in names])

    def check(self, row: Mapping[str, Any]) -> None:
        """Refuse a row naming a column the table does not have."""
        if not self._columns.keys() >= row.keys():
            raise ValueError(
                f"unknown columns for {self.name}: {sorted(row.keys() - self._columns.keys())}"
            )

    def exact_values(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Parameters for ``exact``: every column, None where the row has no value."""
        for row in rows:
            self.check(row)
        return [{name: row.get(name) for name in self._columns} for row in rows]

    def fast_params(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        """Parameters for ``fast_sql``: one tuple per row, in column order, each value
        through its column's bind processor. Raises on an unknown column or a value the
        column type refuses (the writer then falls back to ``exact``)."""
        columns, get, processors = self._columns, self._get, self._processors
        width = len(columns)
        params: list[tuple[Any, ...]] = []
        for row in rows:
            if len(row) == width:
                # As many keys as columns: all of them, unless one is unknown, and then a
                # column is missing and the lookup raises KeyError.
                try:
                    values = list(get(row))
                except KeyError:
                    self.check(row)
                    raise
            else:
                # Every column, None where the row has none; one more key is an unknown one.
                full = {**columns, **row}
                if len(full) != width:
                    self.check(row)
                values = list(get(full))
            for index, process in processors:
                values[index] = process(values[index])
            params.append(tuple(values))
        return params


def _json_exact(column: Column[Any]) -> bool:
    """Whether a value for ``column`` arrives unchanged through a JSON document: what its
    bind processor yields for it is text, an integer, a boolean or None. Floats are left
    out: SQLite does not promise that reading a JSON number gives back the exact double
    (400,000 random doubles did round-trip on 3.40.1, but that is a finding, not a
    contract). Blobs are left out too."""
    type_ = column.type
    if isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    return isinstance(type_, String | Integer | Boolean | DateTime | Date)


# ``->>`` (SQLite 3.38) reads a JSON value as the SQL value it denotes; json_extract did
# the same before it.
_JSON_ITEM = (
    "value ->> {}" if sqlite3.sqlite_version_info >= (3, 38, 0) else "json_extract(value, '$[{}]')"
)


def _json_insert(table: str, columns: Sequence[str]) -> str:
    """One INSERT for any number of rows, bound to one parameter: the rows as a JSON array
    of arrays, in column order."""
    values = ", ".join(_JSON_ITEM.format(i) for i in range(len(columns)))
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} FROM json_each(?)"


# SQLite's default bound on a statement's parameters (999 before 3.32).
_SQLITE_MAX_VARIABLES = 32_766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999
_MAX_ROWS_PER_STATEMENT = 256


def sqlite_multirow(sql: str, params: Sequence[tuple[Any, ...]]) -> Iterator[tuple[str, list[Any]]]:
    """``fast_sql`` and its parameter tuples as multi-row ``INSERT ... VALUES (..), (..)``
    statements with flat parameter lists: one step per chunk where ``executemany`` steps
    (and hands the GIL back and forth) once per row; see ``_sqlite_inserter``. Chunks are
    powers of two, so a batch of any size needs a handful of distinct statements (sqlite3
    keeps prepared ones by text) and none exceeds SQLite's bound on parameters."""
    if not params:
        return
    width = len(params[0])
    most = max(1, min(_MAX_ROWS_PER_STATEMENT, _SQLITE_MAX_VARIABLES // width))
    start, total = 0, len(params)
    while start < total:
        size = 1 << (min(total - start, most).bit_length() - 1)
        chunk = params[start : start + size]
        start += size
        yield _multirow_sql(sql, size), list(chain.from_iterable(chunk))


@functools.lru_cache(maxsize=64)
def _multirow_sql(sql: str, rows: int) -> str:
    head, separator, values = sql.partition(" VALUES ")
    if not separator:
        raise ValueError(f"not a single-row INSERT ... VALUES statement: {sql}")
    return f"{head} VALUES {', '.join([values] * rows)}"


def _bind_processor(type_: Any, dialect: Dialect) -> Process | None:
    """What SQLAlchemy applies to a value of ``type_`` before handing it to the driver,
    with cheaper equivalents for the two that every audit row pays for."""
    impl = type_.dialect_impl(dialect)
    process: Process | None = impl.bind_processor(dialect)
    if process is None:
        return None
    if isinstance(type_, JsonText) and (
        type_.impl_instance.dialect_impl(dialect).bind_processor(dialect) is None
    ):
        return _json_text
    if isinstance(impl, sqlite.DATETIME) and all(
        _sqlite_datetime(probe) == process(probe) for probe in _DATETIME_PROBES
    ):
        fallback = process
        # The text up to the seconds, for the last second seen: rows come in time order,
        # so most reuse it, and formatting a datetime costs more than reading its fields.
        # One tuple, replaced whole, so that threads sharing it never see half an update.
        last: list[tuple[tuple[int, ...], str]] = [((), "")]

        def datetime_text(value: Any) -> Any:
            if type(value) is dt.datetime:
                second = (
                    value.second,
                    value.minute,
                    value.hour,
                    value.day,
                    value.month,
                    value.year,
                )
                key, prefix = last[0]
                if key != second:
                    prefix = value.isoformat(" ", "seconds")[:19]
                    last[0] = (second, prefix)
                return f"{prefix}.{value.microsecond:06d}"
            return fallback(value)

        return datetime_text
    return process


def _json_text(value: Any) -> str | None:
    """``JsonText``'s bind processing without the TypeDecorator layers. Plain orjson
    first: it writes the same bytes as ``json_dumps`` for any document it accepts, and
    the options that make ``json_dumps`` accept more also make it slower."""
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json_dumps(value).decode()


def _sqlite_datetime(value: dt.datetime) -> str:
    return value.isoformat(" ", "microseconds")[:26]


# SQLAlchemy's SQLite DATETIME stores "YYYY-MM-DD HH:MM:SS.ffffff" (the offset dropped) by
# default; a custom storage format fails these probes and keeps SQLAlchemy's processor.
_DATETIME_PROBES = (
    dt.datetime(2024, 6, 1, 12, 30, 45, 123456),
    dt.datetime(2024, 6, 1, 12, 30, 45, tzinfo=dt.UTC),
    dt.datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone(dt.timedelta(hours=-9))),
)
