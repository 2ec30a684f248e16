"""One local MCP server process: newline-delimited JSON-RPC over its stdin and stdout.

Requests from many callers are multiplexed on the one pipe by Bastion's own request ids;
progress tokens are rewritten per request so two callers' tokens never collide. The
process gets a minimal environment (see ``ServerSpec.process_env``) and its own process
group, so stopping it stops anything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
from collections import deque
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from bastion.domains.mcp import _jsonrpc as rpc
from bastion.domains.mcp._protocol import (
    CLIENT_INFO,
    LATEST_HANDSHAKE,
    LATEST_MODERN,
    upstream_params,
)
from bastion.domains.mcp._registry import ServerSpec
from bastion.domains.mcp._upstream import (
    Call,
    Era,
    ProgressBinding,
    UpstreamInfo,
    discover_info,
    initialize_info,
    progress_binding,
)
from bastion.kernel.errors import (
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)

log = structlog.get_logger("bastion.mcp")

# Tool results can be large; one JSON-RPC message is one line.
_LINE_LIMIT = 64 * 1024 * 1024
_STDERR_TAIL = 20


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[rpc.Message]
    progress: ProgressBinding | None


class StdioProcess:
    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self.era: Era | None = None
        self.info: UpstreamInfo | None = None
        self.stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL)
        self._process: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._by_token: dict[str, _Pending] = {}
        self._write_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self._exited = asyncio.Event()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process is not None else None

    @property
    def alive(self) -> bool:
        return self._process is not None and not self._exited.is_set()

    async def start(self) -> None:
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.spec.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self.spec.process_env(),
                cwd=self.spec.cwd,
                limit=_LINE_LIMIT,
                start_new_session=True,
            )
        except OSError as exc:
            self._exited.set()
            raise UpstreamUnavailable(
                self.spec.label, f"cannot start {self.spec.command[0]}: {exc}"
            ) from None
        self._tasks = [
            asyncio.create_task(self._read_stdout(), name=f"mcp-stdout-{self.spec.name}"),
            asyncio.create_task(self._read_stderr(), name=f"mcp-stderr-{self.spec.name}"),
        ]

    async def wait(self) -> int:
        """Wait for the process to exit; its exit status."""
        await self._exited.wait()
        assert self._process is not None
        return await self._process.wait()

    # Handshake

    async def open(self, era: Era, limit: float) -> UpstreamInfo:
        """Open the conversation in ``era``: ``server/discover`` (modern) or the
        ``initialize`` handshake (legacy)."""
        info: UpstreamInfo | None
        if era == "modern":
            reply = await self.request(Call("server/discover", None, limit), modern=True)
            info = discover_info(reply.get("result"))
            if info is None:
                raise UpstreamProtocolError(self.spec.label, "server/discover failed")
        else:
            params = {
                "protocolVersion": LATEST_HANDSHAKE,
                "capabilities": {},
                "clientInfo": CLIENT_INFO,
            }
            reply = await self.request(Call("initialize", params, limit), modern=False)
            info = initialize_info(reply.get("result"))
            if info is None:
                raise UpstreamProtocolError(
                    self.spec.label, f"initialize failed: {reply.get('error')}"
                )
            await self.notify("notifications/initialized", None)
        self.era, self.info = era, info
        return info

    # Messages

    async def request(self, call: Call, *, modern: bool | None = None) -> rpc.Message:
        if not self.alive:
            raise UpstreamUnavailable(self.spec.label, "the process is not running")
        is_modern = self.era == "modern" if modern is None else modern
        params = upstream_params(call.params, modern_version=LATEST_MODERN if is_modern else None)
        request_id = next(self._ids)
        progress = progress_binding(call.on_notification)
        params = progress.bind(params)
        pending = _Pending(asyncio.get_running_loop().create_future(), progress)
        self._pending[request_id] = pending
        self._by_token[progress.upstream_token] = pending
        message: rpc.Message = {"jsonrpc": "2.0", "id": request_id, "method": call.method}
        if params is not None:
            message["params"] = params
        try:
            await self._write(message)
            async with asyncio.timeout(call.timeout):
                return await pending.future
        except TimeoutError:
            await self._cancel(request_id)
            raise UpstreamTimeout(self.spec.label, call.timeout) from None
        except asyncio.CancelledError:
            # The caller went away: tell the server to stop working on it.
            task = asyncio.get_running_loop().create_task(self._cancel(request_id))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            raise
        finally:
            self._pending.pop(request_id, None)
            self._by_token.pop(progress.upstream_token, None)

    async def notify(self, method: str, params: dict[str, Any] | None) -> None:
        message: rpc.Message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        await self._write(message)

    async def _cancel(self, request_id: int) -> None:
        with contextlib.suppress(UpstreamUnavailable):
            await self.notify(
                "notifications/cancelled",
                {"requestId": request_id, "reason": "timed out in Bastion"},
            )

    async def _write(self, message: rpc.Message) -> None:
        process = self._process
        if process is None or process.stdin is None or not self.alive:
            raise UpstreamUnavailable(self.spec.label, "the process is not running")
        async with self._write_lock:
            try:
                process.stdin.write(orjson.dumps(message) + b"\n")
                await process.stdin.drain()
            except (ConnectionError, RuntimeError) as exc:
                raise UpstreamUnavailable(
                    self.spec.label, f"cannot write to the process: {exc}"
                ) from None

    async def _read_stdout(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        try:
            while True:
                try:
                    line = await stdout.readline()
                except ValueError:
                    log.error("mcp stdio message over the size limit", server=self.spec.name)
                    break
                if not line:
                    break
                if line.strip():
                    await self._dispatch(line)
        finally:
            self._exited.set()
            self._fail_pending()

    async def _dispatch(self, line: bytes) -> None:
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            log.warning("mcp stdio server wrote a non-JSON line", server=self.spec.name)
            return
        if not isinstance(message, dict):
            return
        method = message.get("method")
        if method is None:
            pending = self._pending.get(message.get("id"))  # type: ignore[arg-type]
            if pending is not None and not pending.future.done():
                pending.future.set_result(message)
            return
        if "id" in message:
            await self._answer_server_request(message)
            return
        params = message.get("params")
        token = params.get("progressToken") if isinstance(params, dict) else None
        owner = self._by_token.get(token) if isinstance(token, str) else None
        if owner is not None and owner.progress is not None:
            await owner.progress.relay(message)

    async def _answer_server_request(self, message: rpc.Message) -> None:
        if message.get("method") == "ping":
            reply = rpc.result(message["id"], {})
        else:
            reply = rpc.error(
                message["id"],
                rpc.METHOD_NOT_FOUND,
                f"{message.get('method')} is not available through Bastion",
            )
        with contextlib.suppress(UpstreamUnavailable):
            await self._write(reply)

    async def _read_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        stderr = self._process.stderr
        while True:
            try:
                line = await stderr.readline()
            except ValueError:
                continue
            if not line:
                return
            text = line.decode("utf-8", errors="replace").rstrip()
            self.stderr_tail.append(text)
            log.debug("mcp stdio stderr", server=self.spec.name, line=text)

    def _fail_pending(self) -> None:
        # The stderr tail is logged by the supervisor, never sent to a caller: a server
        # may print its own credentials there.
        detail = "the process exited"
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(UpstreamUnavailable(self.spec.label, detail))

    async def stop(self, grace: float = 2.0) -> None:
        """Close stdin, then SIGTERM, then SIGKILL the process group."""
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            if process.stdin is not None:
                with contextlib.suppress(Exception):
                    process.stdin.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await process.wait()
            for sig in (signal.SIGTERM, signal.SIGKILL):
                if process.returncode is not None:
                    break
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, sig)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(grace):
                        await process.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._exited.set()
        self._fail_pending()
