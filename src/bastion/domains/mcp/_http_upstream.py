"""A remote server over streamable HTTP, in either protocol era.

Modern (2026-07-28) servers are stateless: every request is one POST carrying Bastion's
envelope, so principals share nothing but the connection pool. Handshake-era servers get
one session per principal (``initialize``, then ``Mcp-Session-Id`` on every request),
re-opened once if the server forgets it (404) and closed with ``DELETE`` when idle.

Only the registry's credential headers are sent: the caller's ``Authorization`` (or any
other header of theirs) never reaches the server. Every server shares one pooled aiohttp
session (:func:`create_http_session`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import structlog

from bastion import __version__
from bastion.domains.mcp import _jsonrpc as rpc
from bastion.domains.mcp._protocol import (
    CLIENT_INFO,
    HANDSHAKE_VERSIONS,
    LATEST_HANDSHAKE,
    LATEST_MODERN,
    upstream_params,
)
from bastion.domains.mcp._registry import ServerSpec
from bastion.domains.mcp._sse import SseParser
from bastion.domains.mcp._upstream import (
    Call,
    Era,
    McpUpstream,
    ProgressBinding,
    UpstreamInfo,
    UpstreamState,
    discover_info,
    initialize_info,
    modern_headers,
    progress_binding,
)
from bastion.infra.http.client import create_http_session as _create_session
from bastion.infra.http.client import describe, transport_error
from bastion.kernel.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)

log = structlog.get_logger("bastion.mcp")

_ACCEPT = "application/json, text/event-stream"
_POST_HEADERS = {"accept": _ACCEPT, "content-type": "application/json"}
# Below the 5 s keep-alive of common servers (uvicorn, Node): aiohttp does not retry a
# POST on a pooled connection the server closed meanwhile, so never reuse one that old.
_KEEPALIVE_SECONDS = 4.0
_QUIET_ERRORS = (aiohttp.ClientError, TimeoutError)
_PROBE_TIMEOUT_SECONDS = 10.0
_STREAM_END_SECONDS = 0.1


class _SessionGone(Exception):
    """The server answered 404 for a session id: it no longer knows the session."""


@dataclass(slots=True)
class _Session:
    id: str | None
    version: str
    info: UpstreamInfo
    last_used: float = field(default_factory=time.monotonic)


def create_http_session(connect_timeout: float) -> aiohttp.ClientSession:
    """One pool for every remote server; close it on shutdown. It keeps no cookies, so no
    principal's upstream cookies ever reach another principal's requests. Reads have no
    bound of their own: each call runs under its server's ``timeout_seconds``."""
    return _create_session(
        user_agent=f"bastion/{__version__}",
        headers={"accept-encoding": "identity"},
        connect_timeout=connect_timeout,
        keepalive_timeout=_KEEPALIVE_SECONDS,
    )


class HttpUpstream(McpUpstream):
    """``connect_timeout``: the pooled session's (``mcp.connect_timeout_seconds``)."""

    def __init__(
        self, spec: ServerSpec, http: aiohttp.ClientSession, *, connect_timeout: float
    ) -> None:
        super().__init__(spec)
        assert spec.url is not None
        self._url = spec.url
        self._http = http
        self._connect_timeout = connect_timeout
        self._ids = itertools.count(1)
        self._era: Era | None = "legacy" if spec.protocol == "legacy" else None
        self._modern_info: UpstreamInfo | None = None
        self._era_lock = asyncio.Lock()
        self._sessions: dict[str, _Session] = {}
        self._opening: dict[str, asyncio.Lock] = {}
        self._last_error: str | None = None
        self._background: set[asyncio.Task[None]] = set()

    # Era

    async def _detect(self) -> Era:
        if self._era is not None:
            return self._era
        async with self._era_lock:
            if self._era is not None:
                return self._era
            info = await self._discover()
            if info is not None:
                self._modern_info, self._era = info, "modern"
            elif self.spec.protocol == "modern":
                raise UpstreamProtocolError(
                    self.spec.label, "server/discover failed and protocol is 'modern'"
                )
            else:
                self._era = "legacy"
            log.info("mcp upstream era", server=self.spec.name, era=self._era)
            return self._era

    async def _discover(self) -> UpstreamInfo | None:
        """The server's discover result, or None when it is not a 2026-07-28 server."""
        call = Call("server/discover", None, min(_PROBE_TIMEOUT_SECONDS, self.spec.timeout_seconds))
        params = upstream_params(None, modern_version=LATEST_MODERN)
        try:
            reply, _ = await self._exchange(call, params, modern_headers(call, params), None)
        except UpstreamRejected as exc:
            # A handshake-era server refuses a request without a session (400, 404, 405,
            # 406); anything else (auth, an outage) says nothing about the era.
            if exc.status in (401, 403, 407) or exc.status >= 500:
                raise
            return None
        except (UpstreamProtocolError, _SessionGone):
            return None
        return discover_info(reply.get("result"))

    # Requests

    async def request(self, principal: str, call: Call) -> rpc.Message:
        try:
            return await self._request(principal, call)
        except UpstreamError as exc:
            self._last_error = str(exc)
            raise

    async def info(self, principal: str) -> UpstreamInfo:
        try:
            if await self._detect() == "modern":
                assert self._modern_info is not None
                return self._modern_info
            return (await self._session(principal)).info
        except UpstreamError as exc:
            self._last_error = str(exc)
            raise

    async def _request(self, principal: str, call: Call) -> rpc.Message:
        if await self._detect() == "modern":
            params = upstream_params(call.params, modern_version=LATEST_MODERN)
            reply, _ = await self._exchange(
                call, params, modern_headers(call, params), None, binding=True
            )
            return reply
        for attempt in (1, 2):
            session = await self._session(principal)
            params = upstream_params(call.params, modern_version=None)
            try:
                reply, _ = await self._exchange(
                    call, params, self._session_headers(session), session, binding=True
                )
            except _SessionGone:
                self._drop(principal, session)
                if attempt == 2:
                    raise UpstreamUnavailable(
                        self.spec.label, "the server keeps forgetting the session"
                    ) from None
                continue
            session.last_used = time.monotonic()
            return reply
        raise AssertionError("unreachable")

    def _session_headers(self, session: _Session) -> dict[str, str]:
        headers = {"mcp-protocol-version": session.version}
        if session.id is not None:
            headers["mcp-session-id"] = session.id
        return headers

    async def _exchange(
        self,
        call: Call,
        params: dict[str, Any] | None,
        headers: Mapping[str, str],
        session: _Session | None,
        *,
        binding: bool = False,
    ) -> tuple[rpc.Message, Mapping[str, str]]:
        request_id = next(self._ids)
        progress: ProgressBinding | None = None
        if binding:
            progress = progress_binding(call.on_notification)
            params = progress.bind(params)
        body: rpc.Message = {"jsonrpc": "2.0", "id": request_id, "method": call.method}
        if params is not None:
            body["params"] = params
        try:
            async with asyncio.timeout(call.timeout):
                return await self._post(body, headers, request_id, session, progress)
        except TimeoutError:
            if session is not None:
                self._cancel_later(session, request_id)
            raise UpstreamTimeout(self.spec.label, call.timeout) from None

    async def _post(
        self,
        body: rpc.Message,
        headers: Mapping[str, str],
        request_id: int,
        session: _Session | None,
        progress: ProgressBinding | None,
    ) -> tuple[rpc.Message, Mapping[str, str]]:
        all_headers = {**self.spec.headers, **headers, **_POST_HEADERS}
        try:
            async with self._http.post(
                self._url, data=orjson.dumps(body), headers=all_headers, allow_redirects=False
            ) as response:
                ctype = response.content_type
                if response.status == 404 and session is not None and session.id is not None:
                    await response.read()
                    raise _SessionGone
                if ctype == "text/event-stream" and response.status < 400:
                    return (
                        await self._read_stream(response, request_id, session, progress),
                        response.headers,
                    )
                raw = await response.read()
                if ctype == "application/json":
                    message = _decode(self.spec.label, raw)
                    if "result" in message or "error" in message:
                        return message, response.headers
                detail = f"HTTP {response.status} without a JSON-RPC response"
                if response.status >= 400:
                    raise UpstreamRejected(
                        self.spec.label, response.status, raw, response.headers, detail=detail
                    )
                raise UpstreamProtocolError(self.spec.label, detail)
        except (aiohttp.ClientError, OSError) as exc:
            raise transport_error(
                self.spec.label,
                exc,
                connect_timeout=self._connect_timeout,
                read_timeout=self.spec.timeout_seconds,
            ) from None

    async def _read_stream(
        self,
        response: aiohttp.ClientResponse,
        request_id: int,
        session: _Session | None,
        progress: ProgressBinding | None,
    ) -> rpc.Message:
        parser = SseParser()
        async for chunk in response.content.iter_any():
            for event in parser.feed(chunk):
                if event.event != "message" or not event.data:
                    continue
                message = _decode(self.spec.label, event.data.encode())
                if message.get("id") == request_id and ("result" in message or "error" in message):
                    # The stream normally ends right after; reading that end keeps the
                    # connection for the next request.
                    with contextlib.suppress(*_QUIET_ERRORS):
                        async with asyncio.timeout(_STREAM_END_SECONDS):
                            await response.read()
                    return message
                method = message.get("method")
                if isinstance(method, str) and "id" in message:
                    if session is not None:
                        await self._answer_server_request(session, message)
                elif isinstance(method, str) and progress is not None:
                    await progress.relay(message)
        raise UpstreamUnavailable(self.spec.label, "the response stream ended without a result")

    async def _answer_server_request(self, session: _Session, message: rpc.Message) -> None:
        """Bastion advertises no client capabilities upstream, so it refuses what the
        server asks of the client, except ``ping``."""
        if message.get("method") == "ping":
            reply = rpc.result(message["id"], {})
        else:
            reply = rpc.error(
                message["id"],
                rpc.METHOD_NOT_FOUND,
                f"{message.get('method')} is not available through Bastion",
            )
        await self._send_quietly(session, reply)

    async def _send_quietly(self, session: _Session, message: rpc.Message) -> None:
        headers = {**self.spec.headers, **self._session_headers(session), **_POST_HEADERS}
        try:
            async with asyncio.timeout(self.spec.timeout_seconds):
                async with self._http.post(
                    self._url, data=orjson.dumps(message), headers=headers, allow_redirects=False
                ) as response:
                    await response.read()
        except _QUIET_ERRORS as exc:
            log.debug(
                "mcp upstream message not delivered", server=self.spec.name, error=describe(exc)
            )

    def _cancel_later(self, session: _Session, request_id: int) -> None:
        note: rpc.Message = {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": request_id, "reason": "timed out in Bastion"},
        }
        task = asyncio.get_running_loop().create_task(self._send_quietly(session, note))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # Sessions

    async def _session(self, principal: str) -> _Session:
        session = self._sessions.get(principal)
        if session is not None:
            return session
        lock = self._opening.setdefault(principal, asyncio.Lock())
        try:
            async with lock:
                session = self._sessions.get(principal)
                if session is None:
                    session = await self._open()
                    self._sessions[principal] = session
                return session
        finally:
            if not lock.locked():
                self._opening.pop(principal, None)

    async def _open(self) -> _Session:
        call = Call(
            "initialize",
            {
                "protocolVersion": LATEST_HANDSHAKE,
                "capabilities": {},
                "clientInfo": CLIENT_INFO,
            },
            self.spec.timeout_seconds,
        )
        reply, headers = await self._exchange(call, dict(call.params or {}), {}, None)
        info = initialize_info(reply.get("result"))
        if info is None:
            raise UpstreamProtocolError(self.spec.label, f"initialize failed: {reply.get('error')}")
        if info.protocol_version not in HANDSHAKE_VERSIONS:
            log.info(
                "mcp upstream older protocol", server=self.spec.name, version=info.protocol_version
            )
        session = _Session(headers.get("mcp-session-id"), info.protocol_version, info)
        await self._send_quietly(session, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        return session

    def _drop(self, principal: str, session: _Session) -> None:
        if self._sessions.get(principal) is session:
            del self._sessions[principal]

    async def _terminate(self, session: _Session) -> None:
        if session.id is None:
            return
        headers = {**self.spec.headers, **self._session_headers(session)}
        try:
            async with asyncio.timeout(5):
                async with self._http.delete(
                    self._url, headers=headers, allow_redirects=False
                ) as response:
                    await response.read()
        except _QUIET_ERRORS as exc:
            log.debug(
                "mcp upstream session not deleted", server=self.spec.name, error=describe(exc)
            )

    async def release(self, principal: str) -> None:
        session = self._sessions.pop(principal, None)
        self._opening.pop(principal, None)
        if session is not None:
            await self._terminate(session)

    async def reap(self, idle_seconds: float) -> int:
        cutoff = time.monotonic() - idle_seconds
        idle = [p for p, s in self._sessions.items() if s.last_used < cutoff]
        for principal in idle:
            await self.release(principal)
        return len(idle)

    async def aclose(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        self._opening.clear()
        await asyncio.gather(*(self._terminate(s) for s in sessions), return_exceptions=True)

    def health(self) -> UpstreamState:
        version = (
            LATEST_MODERN
            if self._era == "modern"
            else next((s.version for s in self._sessions.values()), None)
        )
        return UpstreamState(
            last_error=self._last_error,
            era=self._era,
            protocol_version=version,
            sessions=len(self._sessions),
        )


def _decode(label: str, raw: bytes) -> rpc.Message:
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamProtocolError(label, "the server sent invalid JSON") from None
    if not isinstance(message, dict):
        raise UpstreamProtocolError(label, "the server sent a JSON value that is not a message")
    return message
