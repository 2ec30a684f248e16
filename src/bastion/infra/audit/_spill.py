"""The spill file: rows that could not reach the database, kept on local disk.

Layout, next to ``path``:

- ``path``: the active file. Append-only JSON lines, one row per line as
  ``{"table": <name>, "row": {...}}``, flushed and fsync'd once per batch.
- ``path.replaying``: the segment being replayed. The active file is renamed to it, so
  new spills never mix with a replay in progress; it is deleted only after every row in
  it is committed. A segment left by a crash is replayed first.
- ``path.journal-<n>``, ``path.journal.lock``: the write-ahead journal (see ``_journal``),
  whose leftover segments are appended to ``path`` at start.
- ``path.rejected``: dead letters. Lines that cannot be decoded or rows the database
  refuses as bad data, each with the error, kept for an operator.

All methods are blocking file I/O: callers run them in a worker thread.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import DateTime, Numeric, Table

from bastion.infra.audit._tables import json_dumps

Item = tuple[Table, dict[str, Any]]


class SpillFile:
    def __init__(self, path: Path, tables: Mapping[str, Table]) -> None:
        self.path = path
        self.segment = path.with_name(path.name + ".replaying")
        self.rejected = path.with_name(path.name + ".rejected")
        self._tables = tables

    def prepare(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def has_pending(self) -> bool:
        return self.segment.exists() or _size(self.path) > 0

    def append(self, items: Sequence[Item]) -> list[tuple[Item, str]]:
        """Append ``items`` durably. Returns the items that could not be encoded, with
        the reason; those are written to the dead-letter file instead."""
        lines: list[bytes] = []
        unencodable: list[tuple[Item, str]] = []
        for item in items:
            try:
                lines.append(encode_item(item))
            except (TypeError, orjson.JSONEncodeError) as error:
                unencodable.append((item, str(error)))
        if lines:
            _append_synced(self.path, lines)
        if unencodable:
            self.reject((table.name, repr(row), reason) for (table, row), reason in unencodable)
        return unencodable

    def append_raw(self, data: bytes) -> None:
        """Append lines already in this file's format (a journal segment), durably. A torn
        last line is closed so that it cannot swallow the next one; replay then sends it
        to the dead-letter file."""
        if not data:
            return
        if not data.endswith(b"\n"):
            data += b"\n"
        _append_synced(self.path, [data])

    def claim(self) -> Path | None:
        """The segment to replay next, or None when nothing is pending."""
        if self.segment.exists():
            return self.segment
        if _size(self.path) == 0:
            return None
        os.replace(self.path, self.segment)
        _sync_dir(self.path.parent)
        return self.segment

    def open_segment(self) -> SegmentReader:
        return SegmentReader(self.segment, self._tables, self)

    def finish(self) -> None:
        """The segment is fully committed: delete it."""
        self.segment.unlink(missing_ok=True)
        _sync_dir(self.path.parent)

    def reject(self, entries: Iterable[tuple[str, Any, str]]) -> None:
        """Append ``(table, row, error)`` dead letters."""
        lines = [
            json_dumps({"table": table, "row": row, "error": error}) + b"\n"
            for table, row, error in entries
        ]
        if lines:
            _append_synced(self.rejected, lines)


class SegmentReader:
    """Reads a claimed segment in chunks of decoded rows."""

    def __init__(self, path: Path, tables: Mapping[str, Table], spill: SpillFile) -> None:
        self._file: IO[bytes] = path.open("rb")
        self._tables = tables
        self._spill = spill
        self._coercers: dict[str, dict[str, type[datetime] | type[Decimal]]] = {}

    def next_chunk(self, size: int) -> list[Item]:
        """Up to ``size`` rows; an empty list at the end of the segment. Undecodable
        lines (a torn final write, an unknown table) go to the dead-letter file."""
        items: list[Item] = []
        bad: list[tuple[str, Any, str]] = []
        while len(items) < size:
            line = self._file.readline()
            if not line:
                break
            if not line.strip():
                continue
            try:
                items.append(self._decode(line))
            except (ValueError, KeyError, TypeError, ArithmeticError) as error:
                bad.append(("?", line.decode("utf-8", "replace"), f"undecodable: {error}"))
        if bad:
            self._spill.reject(bad)
        return items

    def close(self) -> None:
        self._file.close()

    def _decode(self, line: bytes) -> Item:
        record = orjson.loads(line)
        name = record["table"]
        table = self._tables.get(name)
        if table is None:
            raise KeyError(f"table '{name}' is not registered with the writer")
        row: dict[str, Any] = record["row"]
        for column, kind in self._coercers_for(table).items():
            value = row.get(column)
            if isinstance(value, str):
                row[column] = datetime.fromisoformat(value) if kind is datetime else Decimal(value)
        return table, row

    def _coercers_for(self, table: Table) -> dict[str, type[datetime] | type[Decimal]]:
        """Columns whose Python type does not survive a JSON round trip."""
        found = self._coercers.get(table.name)
        if found is None:
            found = {}
            for column in table.columns:
                if isinstance(column.type, DateTime):
                    found[column.name] = datetime
                elif isinstance(column.type, Numeric) and column.type.asdecimal:
                    found[column.name] = Decimal
            self._coercers[table.name] = found
        return found


def encode_item(item: Item) -> bytes:
    table, row = item
    return json_dumps({"table": table.name, "row": row}) + b"\n"


def _append_synced(path: Path, lines: Sequence[bytes]) -> None:
    with path.open("ab") as handle:
        handle.write(b"".join(lines))
        handle.flush()
        os.fsync(handle.fileno())


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
