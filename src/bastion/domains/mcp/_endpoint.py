"""``/api/v1/mcp/{server}/mcp``: MCP streamable HTTP for clients of either era.

Before any MCP processing: the ``Origin`` check (a request without ``Origin`` is a
non-browser client and allowed), the server lookup and the caller's access to it. Then:

- ``MCP-Protocol-Version`` absent or a handshake-era version: the handshake era.
  ``initialize`` issues a signed ``Mcp-Session-Id``; every later request must carry it
  (400 without, 404 for one that is not the caller's or was ended); ``DELETE`` ends it.
- any other version: a 2026-07-28 request, validated like the SDK does (the envelope in
  ``params._meta`` and the ``Mcp-Method`` / ``Mcp-Name`` headers must agree).

A reply is JSON, unless the upstream sends notifications for the request (progress,
logs) or stays silent for ``sse_keepalive_seconds``: then it becomes an SSE stream that
relays them (and keepalive comments) before the result. ``GET`` is 405: Bastion keeps
no server-to-client channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import structlog
from mcp.shared.inbound import (
    ERROR_CODE_HTTP_STATUS,
    InboundLadderRejection,
    classify_inbound_request,
    find_duplicated_routing_header,
)
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from bastion.domains.mcp import _jsonrpc as rpc
from bastion.domains.mcp import _sse as sse
from bastion.domains.mcp._access import Access
from bastion.domains.mcp._jsonrpc import Inbound, Message
from bastion.domains.mcp._protocol import MODERN_VERSIONS, negotiate_handshake
from bastion.domains.mcp._proxy import Caller, McpProxy
from bastion.domains.mcp._registry import Registry, ServerSpec
from bastion.domains.mcp._sessions import SessionSigner, SessionTracker
from bastion.domains.mcp._upstream import Upstream
from bastion.domains.mcp.errors import RpcFailure
from bastion.kernel.context import RequestContext, request_context

log = structlog.get_logger("bastion.mcp")

SESSION_HEADER = "mcp-session-id"
_SSE_HEADERS = {"cache-control": "no-cache, no-transform", "x-accel-buffering": "no"}


def _json(
    message: Message, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        rpc.dumps(message), status, headers=dict(headers or {}), media_type="application/json"
    )


@dataclass(frozen=True, slots=True)
class _Accepts:
    json: bool
    sse: bool


def _accepts(request: Request) -> _Accepts:
    accept = request.headers.get("accept", "*/*").lower()
    anything = "*/*" in accept or "application/*" in accept
    return _Accepts("application/json" in accept or anything, "text/event-stream" in accept)


class OriginPolicy:
    def __init__(self, allowed: list[str]) -> None:
        self._any = "*" in allowed
        self._allowed = frozenset(o.lower().rstrip("/") for o in allowed if o != "*")

    def allows(self, origin: str | None) -> bool:
        if origin is None or self._any:
            return True
        return origin.lower().rstrip("/") in self._allowed


class McpEndpoint:
    def __init__(
        self,
        registry: Registry,
        upstreams: Mapping[str, Upstream],
        proxy: McpProxy,
        access: Access,
        signer: SessionSigner,
        tracker: SessionTracker,
        origins: OriginPolicy,
        keepalive_seconds: float,
    ) -> None:
        self._registry = registry
        self._upstreams = upstreams
        self._proxy = proxy
        self._access = access
        self._signer = signer
        self._tracker = tracker
        self._origins = origins
        self._keepalive = keepalive_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        principal = request_context(scope)
        try:
            response = await self._handle(request, principal)
        except RpcFailure as failure:
            data = dict(failure.data or {})
            data.setdefault("trace_id", principal.trace_id)
            failure.data = data
            response = _json(
                rpc.failure(failure.request_id, failure), failure.status, failure.headers
            )
        await response(scope, receive, send)

    async def _handle(self, request: Request, principal: RequestContext) -> Response:
        origin = request.headers.get("origin")
        if not self._origins.allows(origin):
            log.warning("mcp request from a disallowed origin", origin=origin)
            raise RpcFailure(
                rpc.FORBIDDEN, f"Forbidden: origin {origin!r} is not allowed", status=403
            )
        name = request.path_params["server"]
        spec = self._registry.get(name)
        if spec is None:
            raise RpcFailure(rpc.METHOD_NOT_FOUND, f"unknown MCP server '{name}'", status=404)
        refusal = await self._access.server_refusal(spec, principal)
        if refusal is not None:
            raise RpcFailure(rpc.FORBIDDEN, refusal.reason, status=403, data=refusal.data())
        if request.method == "DELETE":
            return await self._end_session(request, spec, principal)
        if request.method != "POST":
            return Response(status_code=405, headers={"allow": "POST, DELETE"})
        accepts = _accepts(request)
        if not (accepts.json or accepts.sse):
            raise RpcFailure(
                rpc.INVALID_REQUEST,
                "Not Acceptable: accept application/json or text/event-stream",
                status=406,
            )
        message = rpc.parse(await request.body())
        version = request.headers.get("mcp-protocol-version")
        modern = version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS
        if not message.is_request:
            # Notifications and responses: there is nothing to relay them to.
            if modern and version not in MODERN_VERSIONS:
                raise RpcFailure(
                    rpc.UNSUPPORTED_PROTOCOL_VERSION,
                    "Unsupported protocol version",
                    status=400,
                    data={"supported": list(MODERN_VERSIONS), "requested": version},
                )
            if not modern and message.method != "notifications/initialized":
                self._session(request, spec, principal, version)
            return Response(status_code=202)
        if modern:
            caller = self._modern_caller(request, message, principal)
            return await self._respond(spec, caller, message, accepts, {})
        if message.method == "initialize":
            return await self._initialize(spec, principal, message, accepts)
        session_id, session_version = self._session(request, spec, principal, version)
        caller = Caller(principal, False, session_version, session_id)
        return await self._respond(spec, caller, message, accepts, {})

    # Eras

    def _modern_caller(
        self, request: Request, message: Inbound, principal: RequestContext
    ) -> Caller:
        raw_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        duplicated = find_duplicated_routing_header(raw_headers)
        verdict = (
            InboundLadderRejection(
                code=rpc.HEADER_MISMATCH, message=f"{duplicated} header appears more than once"
            )
            if duplicated is not None
            else classify_inbound_request(
                message.raw,
                headers=dict(request.headers.items()),
                supported_modern_versions=MODERN_VERSIONS,
            )
        )
        if isinstance(verdict, InboundLadderRejection):
            raise RpcFailure(
                verdict.code,
                verdict.message,
                status=ERROR_CODE_HTTP_STATUS.get(verdict.code, 400),
                data=verdict.data if isinstance(verdict.data, dict) else None,
                request_id=message.id,
            )
        return Caller(principal, True, verdict.protocol_version)

    def _session(
        self, request: Request, spec: ServerSpec, principal: RequestContext, version: str | None
    ) -> tuple[str, str]:
        token = request.headers.get(SESSION_HEADER)
        if token is None:
            raise RpcFailure(
                rpc.INVALID_REQUEST,
                "Bad Request: Mcp-Session-Id is required (send initialize first)",
                status=400,
            )
        key = principal.principal_key()
        session = self._signer.verify(token, spec.name, key)
        if session is None or self._tracker.terminated(session.id):
            raise RpcFailure(rpc.INVALID_REQUEST, "Session not found", status=404)
        if version is not None and version != session.protocol_version:
            raise RpcFailure(
                rpc.INVALID_REQUEST,
                f"Bad Request: MCP-Protocol-Version {version} does not match the session's "
                f"{session.protocol_version}",
                status=400,
            )
        self._tracker.seen(spec.name, key, session.id)
        return session.id, session.protocol_version

    async def _initialize(
        self, spec: ServerSpec, principal: RequestContext, message: Inbound, accepts: _Accepts
    ) -> Response:
        version = negotiate_handshake((message.params or {}).get("protocolVersion"))
        key = principal.principal_key()
        token, sid = self._signer.issue(spec.name, key, version)
        caller = Caller(principal, False, version, sid)
        reply = await self._proxy.handle(spec, caller, message)
        if "error" in reply:
            return _json(reply)
        self._tracker.seen(spec.name, key, sid)
        log.info("mcp session opened", server=spec.name, session=sid, version=version)
        return _json(reply, headers={SESSION_HEADER: token})

    async def _end_session(
        self, request: Request, spec: ServerSpec, principal: RequestContext
    ) -> Response:
        session_id, _ = self._session(request, spec, principal, None)
        key = principal.principal_key()
        if self._tracker.end(spec.name, key, session_id):
            await self._upstreams[spec.name].release(key)
        log.info("mcp session ended", server=spec.name, session=session_id)
        return Response(status_code=200)

    # Replies

    async def _respond(
        self,
        spec: ServerSpec,
        caller: Caller,
        message: Inbound,
        accepts: _Accepts,
        headers: Mapping[str, str],
    ) -> Response:
        if not accepts.sse:
            return _json(await self._proxy.handle(spec, caller, message), headers=headers)
        notes: asyncio.Queue[Message] = asyncio.Queue()
        task = asyncio.create_task(self._proxy.handle(spec, caller, message, notes.put))
        first: Message | None = None
        if accepts.json:
            first = await self._first_note(task, notes)
            if first is None and task.done():
                return _json(task.result(), headers=headers)
        return StreamingResponse(
            self._stream(task, notes, first),
            media_type="text/event-stream",
            headers={**_SSE_HEADERS, **headers},
        )

    async def _first_note(
        self, task: asyncio.Task[Message], notes: asyncio.Queue[Message]
    ) -> Message | None:
        """The first notification, or None when the reply came first or time ran out."""
        getter = asyncio.ensure_future(notes.get())
        done, _ = await asyncio.wait(
            {task, getter}, timeout=self._keepalive, return_when=asyncio.FIRST_COMPLETED
        )
        if getter in done:
            return getter.result()
        getter.cancel()
        return None

    async def _stream(
        self, task: asyncio.Task[Message], notes: asyncio.Queue[Message], first: Message | None
    ) -> AsyncIterator[bytes]:
        try:
            yield sse.event(rpc.dumps(first)) if first is not None else sse.KEEPALIVE
            while True:
                getter = asyncio.ensure_future(notes.get())
                done, _ = await asyncio.wait(
                    {task, getter}, timeout=self._keepalive, return_when=asyncio.FIRST_COMPLETED
                )
                if getter in done:
                    yield sse.event(rpc.dumps(getter.result()))
                    continue
                getter.cancel()
                if task in done:
                    while not notes.empty():
                        yield sse.event(rpc.dumps(notes.get_nowait()))
                    yield sse.event(rpc.dumps(task.result()))
                    return
                yield sse.KEEPALIVE
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
