"""The batched, lossless audit writer."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Literal, Self, TypeVar

import structlog
from prometheus_client import Counter
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.infra.audit._errors import AuditClosedError, AuditQueueFull, UnknownAuditTable
from bastion.infra.audit._journal import Journal
from bastion.infra.audit._metrics import (
    FLUSH_SECONDS,
    QUEUE_DEPTH,
    ROWS_REJECTED,
    ROWS_REPLAYED,
    ROWS_SPILLED,
    ROWS_WRITTEN,
)
from bastion.infra.audit._rows import new_row_id
from bastion.infra.audit._settings import AuditSettings
from bastion.infra.audit._spill import Item, SpillFile
from bastion.infra.audit._sqlite_inserter import SqliteInserter
from bastion.infra.audit._statements import TableStatements
from bastion.infra.audit._tables import AUDIT_TABLES
from bastion.infra.db import describe_error, is_outage, sqlite_path

_log = structlog.get_logger("bastion.audit")

_T = TypeVar("_T")
_State = Literal["not started", "running", "closing", "closed"]
Groups = dict[Table, list[dict[str, Any]]]


class AuditWriter:
    """Writes audit rows in batches on a background task, and never loses one.

    ``submit`` and ``write`` only enqueue; a single consumer flushes a batch when it
    reaches ``batch_size`` rows or its oldest row is ``flush_interval`` seconds old, as one
    ``executemany`` of a plain, precompiled ``INSERT`` per table in one transaction (see
    ``_statements``; a SQLite file gets one statement per table on a thread of its own,
    see ``_sqlite_inserter``). When that batch is refused (a duplicate id, a bad row) it is retried
    as ``INSERT ... ON CONFLICT (id) DO NOTHING``, which counts what it really inserts.
    When the database is unreachable (or does not answer within ``write_timeout``
    seconds) the batch is appended to the spill file instead, and a background task
    probes the database with backoff and replays the file. Every row carries a
    client-generated ``id``, so replaying is idempotent. A row the database refuses as bad
    data goes to the dead-letter file next to the spill file, never back to the caller.

    With ``journal`` (the default) every accepted row is also appended to a local
    write-ahead journal before ``write`` returns (one ``os.write`` per event-loop turn for
    all the rows of that turn), deleted once its batch is committed or spilled, and moved
    into the spill file at the next start: a process killed outright loses no row it had
    accepted (see ``_journal``).

    At most ``queue_max`` rows wait in memory: beyond that ``submit`` raises and ``write``
    waits. Every registered table must have a string primary key named ``id``.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        spill_path: Path,
        tables: Iterable[Table] = AUDIT_TABLES,
        batch_size: int = 500,
        flush_interval: float = 0.02,
        queue_max: int = 50_000,
        write_timeout: float = 30.0,
        retry_initial: float = 0.1,
        retry_max: float = 10.0,
        journal: bool = True,
    ) -> None:
        if batch_size < 1 or queue_max < 1 or flush_interval <= 0:
            raise ValueError("batch_size and queue_max must be >= 1, flush_interval > 0")
        self._engine = engine
        self._tables: dict[str, Table] = {}
        self._statements: dict[str, TableStatements] = {}
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._queue_max = queue_max
        self._write_timeout = write_timeout
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._queue: asyncio.Queue[Item | None] = asyncio.Queue(queue_max)
        self._waiting = 0
        # While the consumer waits for a batch to fill, producers set ``_ready`` once the
        # queue holds ``_wanted`` rows; the rest of the time nothing can reach ``_wanted``.
        self._ready = asyncio.Event()
        self._wanted = queue_max + 1
        self._state: _State = "not started"
        self._spill = SpillFile(spill_path, self._tables)
        self._journal = Journal(spill_path) if journal else None
        self._persisted = 0
        self._spill_lock = asyncio.Lock()
        self._spilling = False
        self._synced = asyncio.Event()
        self._synced.set()
        self._consumer: asyncio.Task[None] | None = None
        self._recovery: asyncio.Task[None] | None = None
        self._deferrals = _Deferrals()
        # A SQLite file takes fast batches on a thread of its own (see _sqlite_inserter).
        path = sqlite_path(engine.url.render_as_string(hide_password=False))
        self._sqlite = (
            SqliteInserter(path, busy_timeout=write_timeout) if path is not None else None
        )
        for table in tables:
            self.register_table(table)

    @classmethod
    def from_settings(
        cls, engine: AsyncEngine, settings: AuditSettings, *, tables: Iterable[Table] = AUDIT_TABLES
    ) -> Self:
        return cls(
            engine,
            spill_path=settings.spill_path,
            tables=tables,
            batch_size=settings.batch_size,
            flush_interval=settings.flush_interval_ms / 1000,
            queue_max=settings.queue_max,
            journal=settings.journal,
        )

    @property
    def spilling(self) -> bool:
        """True while rows go to the spill file (an outage, or a replay catching up)."""
        return self._spilling

    @property
    def queue_depth(self) -> int:
        """Rows waiting in the queue right now."""
        return self._queue.qsize()

    @property
    def spill_path(self) -> Path:
        return self._spill.path

    def register_table(self, table: Table) -> None:
        """Accept rows for ``table``. Register every table before ``start()`` so that a
        leftover spill file can be replayed."""
        statements = TableStatements(table, self._engine.dialect)
        self._tables[table.name] = table
        self._statements[table.name] = statements

    def tables(self) -> Mapping[str, Table]:
        """The registered tables, by name."""
        return MappingProxyType(self._tables)

    async def start(self) -> None:
        """Start the consumer; replay a spill file left by an earlier process."""
        if self._state != "not started":
            raise AuditClosedError(self._state)
        await asyncio.to_thread(self._spill.prepare)
        if self._journal is not None:
            await asyncio.to_thread(self._journal.open, self._spill)
        if await asyncio.to_thread(self._spill.has_pending):
            _log.warning("audit_spill_found", path=str(self._spill.path))
            self._enter_spilling()
        self._consumer = asyncio.create_task(self._consume(), name="audit-writer")
        self._state = "running"

    def submit(self, table: Table, row: Mapping[str, Any], *, owned: bool = False) -> None:
        """Enqueue ``row`` without waiting. Raises ``AuditQueueFull`` when the queue is
        full; ``await write()`` then waits for room instead. ``owned`` as for ``write``."""
        item = self._item(table, row, owned=owned)
        queue = self._queue
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:
            raise AuditQueueFull(self._queue_max) from None
        if self._journal is not None:
            self._journal.append(item)
        if queue.qsize() >= self._wanted:
            self._ready.set()

    async def write(self, table: Table, row: Mapping[str, Any], *, owned: bool = False) -> None:
        """Enqueue ``row``, waiting for room when the queue is full (backpressure).

        The row is copied first, unless ``owned``: a dict the caller built for this call
        and hands over (it must not touch it again)."""
        item = self._item(table, row, owned=owned)
        queue = self._queue
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:
            self._waiting += 1
            try:
                await queue.put(item)
            finally:
                self._waiting -= 1
        # Journaled in the step that queued it: the journal keeps the queue's order.
        journaled = self._journal.append(item) if self._journal is not None else None
        if queue.qsize() >= self._wanted:
            self._ready.set()
        if journaled is not None:
            await journaled

    async def flush(self) -> None:
        """Return once every row enqueued before the call is committed to the database.
        Through an outage this waits for the database to come back."""
        await self._queue.join()
        await self._synced.wait()

    async def close(self) -> None:
        """Drain the queue completely, try a last replay of the spill file, stop.

        Rows still in the spill file after that (the database is down) stay there for the
        next start."""
        if self._state != "running":
            return
        self._state = "closing"
        await self._queue.put(None)
        self._ready.set()
        assert self._consumer is not None
        await self._consumer
        if self._recovery is not None:
            self._recovery.cancel()
            await asyncio.gather(self._recovery, return_exceptions=True)
            self._recovery = None
        if self._spilling and not await self._replay_pending():
            _log.warning("audit_spill_left_for_next_start", path=str(self._spill.path))
        if self._journal is not None:
            # Every row is committed or in the spill file now.
            await asyncio.to_thread(self._journal.close)
        if self._sqlite is not None:
            await self._sqlite.close()
        self._state = "closed"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _item(self, table: Table, row: Mapping[str, Any], *, owned: bool = False) -> Item:
        if self._state != "running":
            raise AuditClosedError(self._state)
        if self._tables.get(table.name) is not table:
            raise UnknownAuditTable(table.name)
        copy = row if owned and type(row) is dict else dict(row)
        if copy.get("id") is None:
            copy["id"] = new_row_id()
        return table, copy

    async def _consume(self) -> None:
        queue = self._queue
        loop = asyncio.get_running_loop()
        stopping = False
        while True:
            if stopping:
                if queue.empty():
                    if self._waiting == 0:
                        return
                    # A producer blocked in write() was woken and is about to put.
                    await asyncio.sleep(0)
                    continue
                first = queue.get_nowait()
            else:
                first = await queue.get()
            taken = 1
            batch: list[Item] = []
            if first is None:
                stopping = True
            else:
                batch.append(first)
            deadline = loop.time() + self._flush_interval
            while True:
                while len(batch) < self._batch_size and not queue.empty():
                    item = queue.get_nowait()
                    taken += 1
                    if item is None:
                        stopping = True
                    else:
                        batch.append(item)
                if stopping or not batch or len(batch) >= self._batch_size:
                    break
                if loop.time() >= deadline or self._state != "running":
                    break
                await self._wait_for_rows(self._batch_size - len(batch), deadline)
            QUEUE_DEPTH.set(queue.qsize())
            if batch:
                await self._persist(batch)
                self._persisted += len(batch)
                if self._journal is not None:
                    self._journal.persisted(self._persisted)
            for _ in range(taken):
                queue.task_done()

    async def _wait_for_rows(self, wanted: int, deadline: float) -> None:
        """Sleep until the queue holds ``wanted`` more rows (or is full, or ``close()`` was
        called), or until the loop time ``deadline``: one wake-up per batch, where awaiting
        ``queue.get()`` row by row would cost a task switch per row under moderate load."""
        self._wanted = min(wanted, self._queue_max)
        try:
            if self._queue.qsize() < self._wanted:
                self._ready.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(deadline):
                        await self._ready.wait()
        finally:
            self._wanted = self._queue_max + 1

    async def _persist(self, batch: Sequence[Item]) -> None:
        """Commit ``batch`` or spill it. Never raises: when even the spill file cannot be
        written, it retries with backoff (producers feel it as backpressure)."""
        started = time.perf_counter()
        pending = _group(batch)
        delay = self._retry_initial
        while True:
            if not self._spilling:
                pending = await self._insert_or_isolate(pending, ROWS_WRITTEN, fast=True)
                if not pending:
                    break
            try:
                await self._spill_groups(pending)
                break
            except OSError as error:
                _log.error("audit_spill_failed", error=str(error), rows=_count(pending))
                await asyncio.sleep(_jitter(delay))
                delay = min(delay * 2, self._retry_max)
        FLUSH_SECONDS.observe(time.perf_counter() - started)

    async def _insert_or_isolate(
        self, groups: Groups, counter: Counter, *, fast: bool = False
    ) -> Groups:
        """Insert ``groups``; return what could not be inserted because of an outage.

        With ``fast`` (fresh rows) the batch goes the fast way first, and the exact way
        only if that is refused. When the exact batch fails for another reason than an
        outage (a row with bad data), rows are retried one by one so that a single bad row
        cannot hold back the others; the bad ones go to the dead-letter file."""
        if fast:
            try:
                await self._insert(groups, counter, fast=True)
                return {}
            except Exception as error:
                if is_outage(error):
                    _log.warning("audit_database_unavailable", error=describe_error(error))
                    return groups
                _log.info(
                    "audit_fast_batch_refused", error=describe_error(error), rows=_count(groups)
                )
        try:
            await self._insert(groups, counter)
            return {}
        except Exception as error:
            if is_outage(error):
                _log.warning("audit_database_unavailable", error=describe_error(error))
                return groups
            _log.error("audit_batch_refused", error=describe_error(error), rows=_count(groups))
        rest: Groups = {}
        for table, rows in groups.items():
            for index, row in enumerate(rows):
                if rest:
                    rest.setdefault(table, []).append(row)
                    continue
                try:
                    await self._insert({table: [row]}, counter)
                except Exception as error:
                    if is_outage(error):
                        rest[table] = rows[index:]
                        break
                    await self._reject(table, row, error)
        return rest

    async def _insert(self, groups: Groups, counter: Counter, *, fast: bool = False) -> None:
        if (
            fast
            and self._sqlite is not None
            and all(self._statements[table.name].fast_sql for table in groups)
        ):
            inserted = await self._insert_sqlite(self._sqlite, groups)
        else:
            inserted = await self._answered(self._insert_unbounded(groups, fast=fast))
        for name, count in inserted.items():
            counter.labels(table=name).inc(count)

    async def _insert_sqlite(self, inserter: SqliteInserter, groups: Groups) -> dict[str, int]:
        """The fast batch on the SQLite inserter's thread, within ``write_timeout``.

        No task of its own, unlike ``_answered``: past the deadline nothing on the loop
        waits for the database (the thread finishes or fails by itself), and under load
        every task hop costs a whole turn of a busy event loop."""
        work = []
        for table, rows in groups.items():
            statements = self._statements[table.name]
            assert statements.fast_sql is not None
            work.append((statements.fast_sql, statements.json_sql, statements.fast_params(rows)))
        async with asyncio.timeout(self._write_timeout):
            await inserter.insert(work)
        return {table.name: len(rows) for table, rows in groups.items()}

    async def _insert_unbounded(self, groups: Groups, *, fast: bool) -> dict[str, int]:
        # Parameters are built before a connection is taken: a row with an unknown column
        # or a value its column type refuses raises here.
        work: list[tuple[TableStatements, str | None, list[Any]]] = []
        for table, rows in groups.items():
            statements = self._statements[table.name]
            sql = statements.fast_sql if fast else None
            params: list[Any] = (
                statements.fast_params(rows) if sql else statements.exact_values(rows)
            )
            work.append((statements, sql, params))
        inserted: dict[str, int] = {}
        async with self._engine.begin() as conn:
            for statements, sql, params in work:
                if sql is not None:
                    # One executemany of the plain INSERT: every row is inserted, or it raises.
                    await conn.exec_driver_sql(sql, params)
                    inserted[statements.name] = len(params)
                else:
                    # With RETURNING, SQLAlchemy's "insertmanyvalues" sends the executemany
                    # as multi-row INSERT statements (paged under the bind-parameter limit)
                    # from a cached compilation, and the returned ids count what was really
                    # inserted.
                    result = await conn.execute(statements.exact, params)
                    inserted[statements.name] = len(result.all())
        return inserted

    async def _probe(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def _answered(self, operation: Coroutine[Any, Any, _T]) -> _T:
        """Await ``operation`` for at most ``write_timeout`` seconds.

        ``asyncio.timeout`` is not enough against a server that stops answering: the
        cancelled transaction's rollback waits on the same dead connection. So past the
        deadline the operation is abandoned (cancelled, left to finish on its own) and the
        caller treats the database as down. An abandoned batch that commits later anyway
        is harmless: its rows were spilled, and their replay inserts nothing."""
        task = asyncio.ensure_future(operation)
        try:
            done, _ = await asyncio.wait({task}, timeout=self._write_timeout)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task not in done:
            task.cancel()
            task.add_done_callback(_discard)
            raise TimeoutError(f"the database did not answer within {self._write_timeout}s")
        return task.result()

    async def _reject(self, table: Table, row: dict[str, Any], error: Exception) -> None:
        _log.error(
            "audit_row_rejected", table=table.name, id=row.get("id"), error=describe_error(error)
        )
        ROWS_REJECTED.labels(table=table.name).inc()
        await asyncio.to_thread(self._spill.reject, [(table.name, row, str(error))])

    async def _spill_groups(self, groups: Groups) -> None:
        items = [(table, row) for table, rows in groups.items() for row in rows]
        async with self._spill_lock:
            unencodable = await asyncio.to_thread(self._spill.append, items)
            self._enter_spilling()
        spilled = {table.name: len(rows) for table, rows in groups.items()}
        for (table, row), reason in unencodable:
            _log.error("audit_row_rejected", table=table.name, id=row.get("id"), error=reason)
            ROWS_REJECTED.labels(table=table.name).inc()
            spilled[table.name] -= 1
        for name, count in spilled.items():
            ROWS_SPILLED.labels(table=name).inc(count)

    def _enter_spilling(self) -> None:
        self._spilling = True
        self._synced.clear()
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.create_task(self._recover(), name="audit-replay")

    async def _recover(self) -> None:
        delay = self._retry_initial
        while not await self._replay_pending():
            await asyncio.sleep(_jitter(delay))
            delay = min(delay * 2, self._retry_max)

    async def _replay_pending(self) -> bool:
        """One recovery pass: probe the database, then replay segments until the spill
        file is empty. True when everything is replayed and direct writes resume."""
        try:
            await self._answered(self._probe())
            while True:
                async with self._spill_lock:
                    segment = await asyncio.to_thread(self._spill.claim)
                    if segment is None:
                        self._spilling = False
                        self._synced.set()
                        _log.info("audit_spill_replayed", deferred=self._deferrals.reset())
                        return True
                if not await self._replay_segment():
                    return False
        except Exception as error:
            described = describe_error(error)
            if self._deferrals.worth_logging(described):
                level = "warning" if is_outage(error) else "error"
                getattr(_log, level)(
                    "audit_replay_deferred", error=described, attempts=self._deferrals.count
                )
            return False

    async def _replay_segment(self) -> bool:
        reader = await asyncio.to_thread(self._spill.open_segment)
        try:
            while chunk := await asyncio.to_thread(reader.next_chunk, self._batch_size):
                if await self._insert_or_isolate(_group(chunk), ROWS_REPLAYED):
                    return False
        finally:
            await asyncio.to_thread(reader.close)
        await asyncio.to_thread(self._spill.finish)
        return True


class _Deferrals:
    """How often a replay was put off. A long outage retries every ``retry_max`` seconds;
    its log says so when the error changes and once a minute, not at every attempt."""

    REPEAT_SECONDS = 60.0

    def __init__(self) -> None:
        self.count = 0
        self._logged: tuple[str, float] | None = None

    def worth_logging(self, error: str) -> bool:
        self.count += 1
        now = time.monotonic()
        if self._logged is not None:
            last_error, last_at = self._logged
            if last_error == error and now - last_at < self.REPEAT_SECONDS:
                return False
        self._logged = (error, now)
        return True

    def reset(self) -> int:
        count, self.count, self._logged = self.count, 0, None
        return count


def _discard(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _group(items: Iterable[Item]) -> Groups:
    groups: Groups = {}
    for table, row in items:
        groups.setdefault(table, []).append(row)
    return groups


def _count(groups: Groups) -> int:
    return sum(len(rows) for rows in groups.values())


def _jitter(delay: float) -> float:
    return delay * random.uniform(0.5, 1.0)
