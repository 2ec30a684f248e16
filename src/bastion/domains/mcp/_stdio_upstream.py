"""A local server that Bastion spawns and supervises, in either protocol era.

A 2026-07-28 server is stateless per request, so one supervised process serves every
principal. A handshake-era server holds one session per process, so each principal gets
its own process (at most ``max_processes``; the least recently used idle one is stopped
to make room), stopped again after ``idle_seconds``. Which era a server speaks is probed
once: ``server/discover`` on a fresh process, and a failed probe means a new process and
the ``initialize`` handshake.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from bastion.domains.mcp._jsonrpc import Message
from bastion.domains.mcp._registry import ServerSpec
from bastion.domains.mcp._stdio_process import StdioProcess
from bastion.domains.mcp._supervisor import SupervisedProcess
from bastion.domains.mcp._upstream import Call, Era, McpUpstream, UpstreamInfo, UpstreamState
from bastion.kernel.errors import UpstreamError, UpstreamUnavailable

log = structlog.get_logger("bastion.mcp")

_PROBE_TIMEOUT_SECONDS = 10.0


class StdioUpstream(McpUpstream):
    def __init__(
        self,
        spec: ServerSpec,
        *,
        backoff: float,
        backoff_max: float,
        max_processes: int,
        on_restart: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(spec)
        self._backoff = backoff
        self._backoff_max = backoff_max
        self._max_processes = max_processes
        self._on_restart = on_restart
        self._era: Era | None = "legacy" if spec.protocol == "legacy" else None
        self._shared: SupervisedProcess | None = None
        self._own: dict[str, SupervisedProcess] = {}
        self._lock = asyncio.Lock()
        self._closed = False

    def _supervised(self, era: Era, first: StdioProcess | None = None) -> SupervisedProcess:
        return SupervisedProcess(
            self.spec,
            era,
            backoff=self._backoff,
            backoff_max=self._backoff_max,
            first=first,
            on_restart=self._on_restart,
        )

    async def _probe(self) -> tuple[Era, StdioProcess | None]:
        """Spawn a process and find the era; a modern process is kept for reuse."""
        timeout = min(_PROBE_TIMEOUT_SECONDS, self.spec.timeout_seconds)
        process = StdioProcess(self.spec)
        await process.start()
        try:
            await process.open("modern", timeout)
        except UpstreamError as exc:
            await process.stop()
            if self.spec.protocol == "modern":
                raise
            log.info(
                "mcp stdio server speaks the handshake era", server=self.spec.name, probe=str(exc)
            )
            return "legacy", None
        return "modern", process

    async def _process_for(self, principal: str) -> SupervisedProcess:
        if self._closed:
            raise UpstreamUnavailable(self.spec.label, "Bastion is shutting down")
        if self._era == "modern" and self._shared is not None:
            return self._shared
        own = self._own.get(principal)
        if own is not None:
            return own
        async with self._lock:
            if self._era is None:
                self._era, first = await self._probe()
                if first is not None:
                    self._shared = self._supervised("modern", first)
            if self._era == "modern":
                if self._shared is None:
                    self._shared = self._supervised("modern")
                return self._shared
            own = self._own.get(principal)
            if own is None:
                await self._make_room()
                own = self._own[principal] = self._supervised("legacy")
            return own

    async def _make_room(self) -> None:
        while len(self._own) >= self._max_processes:
            principal = min(self._own, key=lambda p: self._own[p].last_used)
            log.info("mcp stdio process evicted", server=self.spec.name, principal=principal)
            await self._own.pop(principal).stop()

    async def request(self, principal: str, call: Call) -> Message:
        return await (await self._process_for(principal)).request(call)

    async def info(self, principal: str) -> UpstreamInfo:
        supervised = await self._process_for(principal)
        process = await supervised.ready(self.spec.timeout_seconds)
        assert process.info is not None
        return process.info

    async def release(self, principal: str) -> None:
        own = self._own.pop(principal, None)
        if own is not None:
            await own.stop()

    async def reap(self, idle_seconds: float) -> int:
        cutoff = time.monotonic() - idle_seconds
        idle = [p for p, s in self._own.items() if s.last_used < cutoff]
        for principal in idle:
            await self.release(principal)
        return len(idle)

    async def aclose(self) -> None:
        self._closed = True
        everything = list(self._own.values())
        if self._shared is not None:
            everything.append(self._shared)
        self._own.clear()
        self._shared = None
        await asyncio.gather(*(s.stop() for s in everything), return_exceptions=True)

    def pids(self) -> list[int]:
        supervised = [*self._own.values(), *([self._shared] if self._shared else [])]
        return [
            pid
            for s in supervised
            if s.process is not None and s.process.alive and (pid := s.process.pid) is not None
        ]

    def health(self) -> UpstreamState:
        supervised = [*self._own.values(), *([self._shared] if self._shared else [])]
        errors = [s.last_error for s in supervised if s.last_error]
        version = next((s.info.protocol_version for s in supervised if s.info is not None), None)
        return UpstreamState(
            last_error=errors[-1] if errors else None,
            era=self._era,
            protocol_version=version,
            processes=len(self.pids()),
            restarts=sum(s.restarts for s in supervised),
        )
