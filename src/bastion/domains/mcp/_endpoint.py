"""``/api/v1/mcp/{server}/mcp``: MCP streamable HTTP for clients of either era.

Before any MCP processing: the ``Origin`` check (a request without ``Origin`` is a
non-browser client and allowed), the server lookup and the caller's access to it. Then:

- ``MCP-Protocol-Version`` absent or a handshake-era version: the handshake era.
  ``initialize`` issues a signed ``Mcp-Session-Id``; every later request must carry it
  (400 without, 404 for one that is not the caller's or was ended); ``DELETE`` ends it.
- any other version: a 2026-07-28 request, validated like the SDK does (the envelope in
  ``params._meta`` and the ``MCP-Protocol-Version`` / ``Mcp-Method`` / ``Mcp-Name``
  headers must agree).

The reply is JSON unless the upstream streams notifications for the request or stays
silent past ``sse_keepalive_seconds`` (see ``Reply``). ``GET`` is 405: Bastion keeps no
server-to-client channel. This is a raw ASGI app: it sits on the hot path of every call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import structlog
from mcp.shared.inbound import (
    ERROR_CODE_HTTP_STATUS,
    MCP_METHOD_HEADER,
    MCP_NAME_HEADER,
    MCP_PROTOCOL_VERSION_HEADER,
    InboundLadderRejection,
    classify_inbound_request,
)
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.domains.mcp import _jsonrpc as rpc
from bastion.domains.mcp._access import Access
from bastion.domains.mcp._jsonrpc import Inbound
from bastion.domains.mcp._protocol import MODERN_VERSIONS, negotiate_handshake
from bastion.domains.mcp._proxy import Caller, McpProxy
from bastion.domains.mcp._registry import Registry, ServerSpec
from bastion.domains.mcp._reply import Reply, send_empty, send_json
from bastion.domains.mcp._sessions import SessionSigner, SessionTracker
from bastion.domains.mcp._upstream import McpUpstream
from bastion.domains.mcp.errors import RpcFailure
from bastion.kernel.context import RequestContext, request_context

log = structlog.get_logger("bastion.mcp")

SESSION_HEADER = "mcp-session-id"
_ROUTING = (MCP_PROTOCOL_VERSION_HEADER, MCP_METHOD_HEADER, MCP_NAME_HEADER)
_WANTED = frozenset(n.encode() for n in ("origin", "accept", SESSION_HEADER, *_ROUTING))


@dataclass(slots=True)
class _Request:
    """What the endpoint reads of an HTTP request: its method and the headers it needs."""

    method: str
    headers: dict[str, str]
    duplicated: str | None

    @classmethod
    def of(cls, scope: Scope) -> _Request:
        headers: dict[str, str] = {}
        duplicated: str | None = None
        for raw_name, raw_value in scope["headers"]:
            if raw_name in _WANTED:
                name = raw_name.decode("latin-1")
                if name in headers and name in _ROUTING:
                    duplicated = name
                headers[name] = raw_value.decode("latin-1")
        return cls(scope["method"], headers, duplicated)

    @property
    def accepts(self) -> tuple[bool, bool]:
        """Whether the client accepts JSON, and SSE."""
        accept = self.headers.get("accept", "*/*").lower()
        anything = "*/*" in accept or "application/*" in accept
        return "application/json" in accept or anything, "text/event-stream" in accept


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


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
        upstreams: Mapping[str, McpUpstream],
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

    def bound(self, server: str) -> ASGIApp:
        """The endpoint of one server, for an exact-path route."""
        return _Bound(self, server)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.serve(scope, receive, send, scope["path_params"]["server"])

    async def serve(self, scope: Scope, receive: Receive, send: Send, server: str) -> None:
        principal = request_context(scope)
        try:
            await self._handle(scope, receive, send, principal, server)
        except RpcFailure as failure:
            data = dict(failure.data or {})
            data.setdefault("trace_id", principal.trace_id)
            failure.data = data
            body = rpc.dumps(rpc.failure(failure.request_id, failure))
            await send_json(send, body, failure.status, failure.headers)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, principal: RequestContext, name: str
    ) -> None:
        request = _Request.of(scope)
        origin = request.headers.get("origin")
        if not self._origins.allows(origin):
            log.warning("mcp request from a disallowed origin", origin=origin)
            raise RpcFailure(
                rpc.FORBIDDEN, f"Forbidden: origin {origin!r} is not allowed", status=403
            )
        spec = self._registry.get(name)
        if spec is None:
            raise RpcFailure(rpc.METHOD_NOT_FOUND, f"unknown MCP server '{name}'", status=404)
        refusal = await self._access.server_refusal(spec, principal)
        if refusal is not None:
            raise RpcFailure(rpc.FORBIDDEN, refusal.reason, status=403, data=refusal.data())
        if request.method == "DELETE":
            await self._end_session(request, spec, principal)
            await send_empty(send, 200)
            return
        if request.method != "POST":
            await send_empty(send, 405, {"allow": "POST, DELETE"})
            return
        json_ok, sse_ok = request.accepts
        if not (json_ok or sse_ok):
            raise RpcFailure(
                rpc.INVALID_REQUEST,
                "Not Acceptable: accept application/json or text/event-stream",
                status=406,
            )
        message = rpc.parse(await _body(receive))
        version = request.headers.get(MCP_PROTOCOL_VERSION_HEADER)
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
            if not modern:
                self._session(request, spec, principal, version)
            await send_empty(send, 202)
            return
        if modern:
            caller = self._modern_caller(request, message, principal)
        elif message.method == "initialize":
            await self._initialize(send, spec, principal, message)
            return
        else:
            session_id, session_version = self._session(request, spec, principal, version)
            caller = Caller(principal, False, session_version, session_id)
        reply = Reply(send, receive, json_ok=json_ok, sse_ok=sse_ok, keepalive=self._keepalive)
        try:
            answer = await self._proxy.handle(spec, caller, message, reply.note)
        except asyncio.CancelledError:
            await reply.abandon()
            task = asyncio.current_task()
            if reply.disconnected and task is not None:
                task.uncancel()  # the client left; nothing to answer
                return
            raise
        await reply.finish(answer)

    # Eras

    def _modern_caller(
        self, request: _Request, message: Inbound, principal: RequestContext
    ) -> Caller:
        verdict = (
            InboundLadderRejection(
                code=rpc.HEADER_MISMATCH,
                message=f"{request.duplicated} header appears more than once",
            )
            if request.duplicated is not None
            else classify_inbound_request(
                message.raw, headers=request.headers, supported_modern_versions=MODERN_VERSIONS
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
        self, request: _Request, spec: ServerSpec, principal: RequestContext, version: str | None
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
        self, send: Send, spec: ServerSpec, principal: RequestContext, message: Inbound
    ) -> None:
        version = negotiate_handshake((message.params or {}).get("protocolVersion"))
        key = principal.principal_key()
        token, sid = self._signer.issue(spec.name, key, version)
        answer = await self._proxy.handle(spec, Caller(principal, False, version, sid), message)
        if "error" in answer:
            await send_json(send, rpc.dumps(answer))
            return
        self._tracker.seen(spec.name, key, sid)
        log.info("mcp session opened", server=spec.name, session=sid, version=version)
        await send_json(send, rpc.dumps(answer), headers={SESSION_HEADER: token})

    async def _end_session(
        self, request: _Request, spec: ServerSpec, principal: RequestContext
    ) -> None:
        session_id, _ = self._session(request, spec, principal, None)
        key = principal.principal_key()
        if self._tracker.end(spec.name, key, session_id):
            await self._upstreams[spec.name].release(key)
        log.info("mcp session ended", server=spec.name, session=session_id)


class _Bound:
    """An ASGI app (not a function: Starlette would treat that as request-response)."""

    __slots__ = ("_endpoint", "_server")

    def __init__(self, endpoint: McpEndpoint, server: str) -> None:
        self._endpoint = endpoint
        self._server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._endpoint.serve(scope, receive, send, self._server)
