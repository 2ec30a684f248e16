"""Keeps one stdio server process running: restarts it with backoff when it dies.

The delay starts at ``backoff`` seconds and doubles on each consecutive failure up to
``backoff_max``; a process that stayed up for ``stable_seconds`` resets it. Callers wait
(within their own timeout) for a live process instead of failing while it restarts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

import structlog

from bastion.domains.mcp._jsonrpc import Message
from bastion.domains.mcp._registry import ServerSpec
from bastion.domains.mcp._stdio_process import StdioProcess
from bastion.domains.mcp._upstream import Call, Era, UpstreamInfo
from bastion.kernel.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable

log = structlog.get_logger("bastion.mcp")

STABLE_SECONDS = 30.0


class SupervisedProcess:
    def __init__(
        self,
        spec: ServerSpec,
        era: Era,
        *,
        backoff: float,
        backoff_max: float,
        first: StdioProcess | None = None,
        on_restart: Callable[[], None] | None = None,
    ) -> None:
        self.spec = spec
        self.era = era
        self.restarts = 0
        self.last_error: str | None = None
        self.last_used = time.monotonic()
        self._backoff = backoff
        self._backoff_max = backoff_max
        self._first = first
        self._on_restart = on_restart
        self._current: StdioProcess | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def process(self) -> StdioProcess | None:
        return self._current

    @property
    def info(self) -> UpstreamInfo | None:
        return self._current.info if self._current is not None else None

    async def ready(self, limit: float) -> StdioProcess:
        """A live process with its conversation open, waiting up to ``limit`` seconds for one."""
        if self._stopping:
            raise UpstreamUnavailable(self.spec.label, "the server is stopping")
        if self._task is None:
            self._task = asyncio.create_task(
                self._supervise(), name=f"mcp-supervisor-{self.spec.name}"
            )
        current = self._current
        if current is not None and current.alive and self._ready.is_set():
            return current
        try:
            async with asyncio.timeout(limit):
                while True:
                    await self._ready.wait()
                    if self._stopping:
                        raise UpstreamUnavailable(self.spec.label, "the server is stopping")
                    current = self._current
                    if current is not None and current.alive:
                        return current
                    await asyncio.sleep(0.01)
        except TimeoutError:
            detail = (
                f"not running (restarting: {self.last_error})" if self.last_error else "not running"
            )
            raise UpstreamUnavailable(self.spec.label, detail) from None

    async def request(self, call: Call) -> Message:
        self.last_used = time.monotonic()
        started = time.monotonic()
        process = await self.ready(call.timeout)
        remaining = call.timeout - (time.monotonic() - started)
        if remaining <= 0:
            raise UpstreamTimeout(self.spec.label, call.timeout)
        try:
            return await process.request(replace(call, timeout=remaining))
        except UpstreamTimeout:
            raise UpstreamTimeout(self.spec.label, call.timeout) from None

    async def _supervise(self) -> None:
        delay = self._backoff
        first = self._first
        self._first = None
        while not self._stopping:
            process = first or StdioProcess(self.spec)
            fresh = first is None
            first = None
            try:
                if fresh:
                    await process.start()
                    await process.open(self.era, self.spec.timeout_seconds)
            except (UpstreamError, OSError) as exc:
                self.last_error = str(exc)
                log.warning(
                    "mcp stdio server failed to start",
                    server=self.spec.name,
                    error=str(exc),
                    stderr=list(process.stderr_tail)[-3:],
                    retry_in=delay,
                )
                await process.stop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff_max)
                continue
            self._current = process
            self._ready.set()
            started = time.monotonic()
            code = await process.wait()
            self._ready.clear()
            if self._stopping:
                break
            self.restarts += 1
            self.last_error = f"exited with status {code}"
            if self._on_restart is not None:
                self._on_restart()
            if time.monotonic() - started >= STABLE_SECONDS:
                delay = self._backoff
            log.warning(
                "mcp stdio server exited; restarting",
                server=self.spec.name,
                status=code,
                pid=process.pid,
                stderr=list(process.stderr_tail)[-3:],
                restart_in=delay,
            )
            await process.stop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff_max)

    async def stop(self) -> None:
        self._stopping = True
        self._ready.set()  # wake waiters; they see no live process and time out quickly
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for process in (self._current, self._first):
            if process is not None:
                await process.stop()
        self._current = None
