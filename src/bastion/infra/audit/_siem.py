"""The SIEM emitter: a bounded, batched, retrying copy of audit events."""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Mapping
from typing import Any, Self

import structlog

from bastion.infra.audit._errors import SiemRejected
from bastion.infra.audit._metrics import SIEM_DROPPED, SIEM_FAILURES, SIEM_SENT
from bastion.infra.audit._redact import Redactor, redact_values
from bastion.infra.audit._settings import SiemSinkSettings
from bastion.infra.audit._siem_sinks import Event, SiemSink, create_sink

_log = structlog.get_logger("bastion.audit.siem")


class SiemEmitter:
    """Delivers events to a sink in batches, off the caller's path.

    ``emit`` never blocks: events wait in a buffer of at most ``max_buffer``; when the
    sink stays down and the buffer is full, the oldest event is dropped and counted. SIEM
    is a copy; the database rows are the lossless record. ``redact`` (the secret scanner)
    is applied to every string of every event before the sink sees it.
    """

    def __init__(
        self,
        sink: SiemSink,
        *,
        redact: Redactor | None = None,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        max_buffer: int = 10_000,
        retry_initial: float = 0.2,
        retry_max: float = 30.0,
        close_timeout: float = 5.0,
    ) -> None:
        if batch_size < 1 or max_buffer < 1 or flush_interval <= 0:
            raise ValueError("batch_size and max_buffer must be >= 1, flush_interval > 0")
        self.sink = sink
        self._redact = redact
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_buffer = max_buffer
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._close_timeout = close_timeout
        self._buffer: deque[Event] = deque()
        self._inflight = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._urgent = False
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(
        cls, settings: SiemSinkSettings, *, token: str | None = None, redact: Redactor | None = None
    ) -> Self:
        """``token`` is the value of ``settings.token_secret``, resolved by the caller."""
        return cls(
            create_sink(settings, token=token),
            redact=redact,
            batch_size=settings.batch_size,
            flush_interval=settings.flush_interval_ms / 1000,
            max_buffer=settings.max_buffer,
        )

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"siem-{self.sink.name}")

    def emit(self, event: Mapping[str, Any]) -> None:
        """Queue ``event`` for delivery. Never blocks, never raises for a full buffer."""
        if len(self._buffer) >= self._max_buffer:
            self._buffer.popleft()
            SIEM_DROPPED.labels(sink=self.sink.name, reason="overflow").inc()
        self._buffer.append(dict(event))
        self._idle.clear()
        if len(self._buffer) >= self._batch_size:
            self._wake.set()

    async def flush(self) -> None:
        """Deliver everything buffered now, without waiting for the interval. Waits
        through retries while the sink is down."""
        self._urgent = True
        self._wake.set()
        await self._idle.wait()

    async def close(self) -> None:
        """Deliver what is buffered (for at most ``close_timeout`` seconds; the rest is
        dropped and counted), then release the sink."""
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            try:
                async with asyncio.timeout(self._close_timeout):
                    await asyncio.shield(self._task)
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
                left = len(self._buffer) + self._inflight
                self._buffer.clear()
                self._inflight = 0
                SIEM_DROPPED.labels(sink=self.sink.name, reason="shutdown").inc(left)
                _log.warning("siem_events_dropped_at_shutdown", sink=self.sink.name, count=left)
            self._task = None
        await self.sink.aclose()

    async def _run(self) -> None:
        while True:
            if not self._buffer:
                self._idle.set()
                self._urgent = False
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if len(self._buffer) < self._batch_size and not (self._urgent or self._stopping):
                self._wake.clear()
                try:
                    async with asyncio.timeout(self._flush_interval):
                        await self._wake.wait()
                except TimeoutError:
                    pass
            count = min(self._batch_size, len(self._buffer))
            batch = [self._buffer.popleft() for _ in range(count)]
            self._inflight = count
            await self._deliver(batch)
            self._inflight = 0

    async def _deliver(self, batch: list[Event]) -> None:
        if self._redact is not None:
            try:
                batch = [redact_values(event, self._redact) for event in batch]
            except Exception as error:
                # Never send what could not be scanned; the error text is safe to log,
                # the events are not.
                SIEM_DROPPED.labels(sink=self.sink.name, reason="redaction").inc(len(batch))
                _log.error("siem_redaction_failed", sink=self.sink.name, error=repr(error))
                return
        delay = self._retry_initial
        while True:
            try:
                await self.sink.send(batch)
            except SiemRejected as error:
                SIEM_DROPPED.labels(sink=self.sink.name, reason="rejected").inc(len(batch))
                _log.error("siem_batch_rejected", sink=self.sink.name, error=str(error))
                return
            except Exception as error:
                SIEM_FAILURES.labels(sink=self.sink.name).inc()
                _log.warning("siem_delivery_failed", sink=self.sink.name, error=str(error))
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, self._retry_max)
                continue
            SIEM_SENT.labels(sink=self.sink.name).inc(len(batch))
            return
