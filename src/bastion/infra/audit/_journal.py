"""The write-ahead journal: every row the writer accepted, on local disk before the
caller's response is sent, until its batch is committed (or spilled).

Without it, a process killed outright (``kill -9``, the OOM killer) loses the rows of the
batch window still in memory. Layout, next to the spill file ``path``:

- ``path.journal-<n>``: segments. Each is the spill file's format (one JSON line per row,
  ``{"table": ..., "row": {...}}``), so recovery is "append the leftover segments to the
  spill file", and the spill's replay (``INSERT ... ON CONFLICT (id) DO NOTHING``) skips
  the rows that had been committed before the crash: replay never duplicates a row.
- ``path.journal.lock``: held (``flock``) by the one writer that journals for ``path``.
  The kernel releases it when that process dies, however it dies; a second writer on the
  same spill path (a CLI command next to a running server) runs without a journal rather
  than adopting the live writer's segments.

Group commit: rows accepted during one turn of the event loop are written with one
``os.write`` at the end of that turn; ``write()`` returns after it. No ``fsync``: a
killed process's writes are in the page cache and reach the file anyway; only a power
loss or kernel crash can lose the last seconds of a journal, and an ``fsync`` per loop
turn would cost a disk flush per turn of the request path.

Rotation: rows are journaled in the writer's queue order, so "the first N rows are
persisted" tells which segments are obsolete. When every journaled row is persisted the
segment is truncated in place; under sustained load it is sealed at ``rotate_bytes`` and a
new one begun, and sealed segments are deleted once their last row is persisted.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections import deque
from pathlib import Path

import orjson
import structlog

from bastion.infra.audit._spill import Item, SpillFile, encode_item

_log = structlog.get_logger("bastion.audit")

ROTATE_BYTES = 4 * 1024 * 1024


class Journal:
    def __init__(self, spill_path: Path, *, rotate_bytes: int = ROTATE_BYTES) -> None:
        self._directory = spill_path.parent
        self._prefix = spill_path.name + ".journal-"
        self._lock_path = spill_path.with_name(spill_path.name + ".journal.lock")
        self._rotate_bytes = rotate_bytes
        self._lock_fd: int | None = None
        self._fd: int | None = None
        self._seq = 0
        self._size = 0
        self._appended = 0
        self._sealed: deque[tuple[Path, int]] = deque()
        self._buffer: list[bytes] = []
        self._waiter: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.active = False

    # -- start and stop (blocking: run in a worker thread) ----------------------------------

    def open(self, spill: SpillFile) -> int:
        """Take the journal of this spill path and move leftover segments (a process that
        died) into the spill file for replay. Returns the number of segments adopted; with
        the lock held elsewhere, the journal stays inactive and 0 is returned."""
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            _log.info("audit_journal_held_elsewhere", path=str(self._lock_path))
            return 0
        self._lock_fd = fd
        leftovers = sorted(self._directory.glob(self._prefix + "*"), key=_sequence)
        for segment in leftovers:
            spill.append_raw(segment.read_bytes())
        for segment in leftovers:
            segment.unlink()
        if leftovers:
            _log.warning("audit_journal_adopted", segments=len(leftovers))
        self.active = True
        return len(leftovers)

    def close(self) -> None:
        """Every row is persisted: remove the segments and release the lock."""
        self._drop_buffer()
        self.active = False
        if self._lock_fd is None:
            return  # the segments belong to the writer holding the lock
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        for segment in self._directory.glob(self._prefix + "*"):
            segment.unlink(missing_ok=True)
        self._sealed.clear()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- the request path -------------------------------------------------------------

    def append(self, item: Item) -> asyncio.Future[None] | None:
        """Journal ``item``: done once the returned future is (at the end of this loop
        turn). None when there is nothing to wait for."""
        if not self.active:
            return None
        self._appended += 1
        try:
            line = encode_item(item)
        except (TypeError, orjson.JSONEncodeError):
            # The spill would refuse it too (a dead letter); the database may not.
            return None
        self._buffer.append(line)
        waiter = self._waiter
        if waiter is None:
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            loop.call_soon(self._flush)
        return waiter

    def _flush(self) -> None:
        if self._buffer:
            data = b"".join(self._buffer)
            self._buffer.clear()
            try:
                self._write(data)
            except OSError as error:
                # Rows still reach the database; only the crash guarantee is gone.
                _log.error("audit_journal_failed", error=str(error))
                self.active = False
        self._resolve()

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            self._seq += 1
            path = self._directory / f"{self._prefix}{self._seq:06d}"
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
            self._fd = os.open(path, flags, 0o600)
            self._size = 0
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(data)

    def _resolve(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _drop_buffer(self) -> None:
        self._buffer.clear()
        self._resolve()

    # -- the consumer -----------------------------------------------------------------

    def persisted(self, total: int) -> None:
        """The first ``total`` rows journaled are committed or spilled."""
        if not self.active:
            return
        try:
            self._retire(total)
        except OSError as error:
            _log.error("audit_journal_failed", error=str(error))
            self.active = False

    def _retire(self, total: int) -> None:
        if total >= self._appended:
            # Nothing journaled is still needed, buffered rows included.
            self._drop_buffer()
            while self._sealed:
                self._sealed.popleft()[0].unlink(missing_ok=True)
            if self._fd is not None and self._size:
                os.ftruncate(self._fd, 0)
                self._size = 0
            return
        if self._size >= self._rotate_bytes and self._fd is not None:
            self._flush()
            os.close(self._fd)
            self._fd = None
            path = self._directory / f"{self._prefix}{self._seq:06d}"
            self._sealed.append((path, self._appended))
        while self._sealed and self._sealed[0][1] <= total:
            self._sealed.popleft()[0].unlink(missing_ok=True)


def _sequence(path: Path) -> int:
    with contextlib.suppress(ValueError):
        return int(path.name.rsplit("-", 1)[1])
    return 0
