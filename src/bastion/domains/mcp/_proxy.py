"""The governed proxy: one client request to one server, method by method.

- ``initialize`` / ``server/discover`` are answered by Bastion from what the upstream
  said about itself (opening the caller's own upstream conversation);
- ``tools/list`` fetches every page upstream, pins and checks each tool, and returns the
  tools the caller may use, in one page;
- ``tools/call``, ``resources/read`` and ``prompts/get`` are governed calls: the tool
  filter and pin checks, then the whole governance chain (recorded), then the upstream,
  then the result scanned for secrets; each writes an ``mcp_tool_executions`` row;
- push channels Bastion does not relay (``subscriptions/listen``, resource subscriptions)
  are refused; everything else is forwarded as is.

A governance deny is a JSON-RPC error (code -32003) whose ``data`` carries the stage,
rule, reason and trace id; the upstream never sees the call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import structlog
from prometheus_client import Counter, Histogram

from bastion.domains.mcp import _jsonrpc as rpc
from bastion.domains.mcp._access import PINNING_STAGE, Access, Refusal
from bastion.domains.mcp._catalog import ToolCatalog
from bastion.domains.mcp._governed import GOVERNED, GovernedMethod
from bastion.domains.mcp._jsonrpc import Inbound, Message
from bastion.domains.mcp._metrics import CALL_SECONDS, CALLS
from bastion.domains.mcp._protocol import (
    MODERN_VERSIONS,
    SERVER_INFO_KEY,
    client_result,
    negotiate_handshake,
    proxy_capabilities,
    server_info,
)
from bastion.domains.mcp._records import Execution, Status, mcp_tool_executions
from bastion.domains.mcp._registry import ServerSpec
from bastion.domains.mcp._upstream import Call as UpstreamCall
from bastion.domains.mcp._upstream import McpUpstream, NotificationSink
from bastion.domains.mcp.errors import RpcFailure
from bastion.infra.audit import AuditWriter
from bastion.infra.scanner import Finding, SecretScanner
from bastion.kernel.context import RequestContext
from bastion.kernel.errors import UpstreamError, UpstreamTimeout
from bastion.kernel.governance import Governance
from bastion.kernel.policy import PolicyContext, PolicyTarget

log = structlog.get_logger("bastion.mcp")

_LIST_PAGE_CAP = 100
_UNRELAYED = frozenset({"subscriptions/listen", "resources/subscribe", "resources/unsubscribe"})


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, and in which protocol era they speak to Bastion."""

    principal: RequestContext
    modern: bool
    protocol_version: str
    mcp_session_id: str | None = None

    @property
    def key(self) -> str:
        return self.principal.principal_key()


_Handler = Callable[[ServerSpec, Caller, Inbound, NotificationSink | None], Awaitable[Message]]
"""One method Bastion answers or governs itself: the reply's ``result`` or ``error``."""


def _denied(refusal: Refusal, trace_id: str, retry_after_ms: int | None = None) -> RpcFailure:
    data: dict[str, object] = {**refusal.data(), "trace_id": trace_id}
    if retry_after_ms is not None:
        data["retry_after_ms"] = retry_after_ms
    return RpcFailure(
        rpc.FORBIDDEN, f"Bastion denied the call ({refusal.stage}): {refusal.reason}", data=data
    )


class McpProxy:
    def __init__(
        self,
        upstreams: Mapping[str, McpUpstream],
        catalog: ToolCatalog,
        access: Access,
        governance: Governance,
        scanner: SecretScanner,
        writer: AuditWriter,
        *,
        response_secrets: Literal["redact", "audit"],
    ) -> None:
        self._upstreams = upstreams
        self._catalog = catalog
        self._access = access
        self._engine = governance.engine
        self._scanner = scanner
        self._writer = writer
        self._redact = response_secrets == "redact"
        # prometheus_client's labels() takes a lock and builds a key on every call.
        self._counters: dict[tuple[str, str, str], Counter] = {}
        self._seconds: dict[str, Histogram] = {}
        self._handlers: dict[str, _Handler] = {
            "ping": self._ping,
            "initialize": self._initialize,
            "server/discover": self._discover,
            "tools/list": self._list_tools,
            **{method: partial(self._governed, how) for method, how in GOVERNED.items()},
        }

    async def handle(
        self,
        spec: ServerSpec,
        caller: Caller,
        message: Inbound,
        on_notification: NotificationSink | None = None,
    ) -> Message:
        """The JSON-RPC reply to one request (never raises for a protocol-level failure)."""
        try:
            result = await self._dispatch(spec, caller, message, on_notification)
        except RpcFailure as failure:
            return rpc.failure(message.id, failure)
        except UpstreamTimeout as exc:
            return rpc.error(message.id, rpc.REQUEST_TIMEOUT, str(exc))
        except UpstreamError as exc:
            return rpc.error(message.id, rpc.INTERNAL_ERROR, str(exc))
        if "error" in result and "result" not in result:
            return {"jsonrpc": "2.0", "id": message.id, "error": result["error"]}
        return rpc.result(message.id, result["result"])

    async def _dispatch(
        self,
        spec: ServerSpec,
        caller: Caller,
        message: Inbound,
        on_notification: NotificationSink | None,
    ) -> Message:
        method = message.method
        assert method is not None
        handler = self._handlers.get(method)
        if handler is not None:
            return await handler(spec, caller, message, on_notification)
        if method in _UNRELAYED:
            raise RpcFailure(
                rpc.METHOD_NOT_FOUND, f"{method} is not available through Bastion", status=200
            )
        params = message.params or {}
        upstream = self._upstreams[spec.name]
        if method == "logging/setLevel" and (await upstream.info(caller.key)).era == "modern":
            return {"result": {}}
        reply = await upstream.request(
            caller.key, UpstreamCall(method, params, spec.timeout_seconds, on_notification)
        )
        return self._shaped(method, caller, reply)

    def _shaped(self, method: str, caller: Caller, reply: Message) -> Message:
        result = reply.get("result")
        if isinstance(result, dict):
            return {"result": client_result(method, result, modern=caller.modern)}
        if "error" in reply:
            return {"error": reply["error"]}
        return {"result": result}

    # Bastion's own answers

    async def _ping(
        self, spec: ServerSpec, caller: Caller, message: Inbound, _: NotificationSink | None
    ) -> Message:
        return {"result": {}}

    async def _initialize(
        self, spec: ServerSpec, caller: Caller, message: Inbound, _: NotificationSink | None
    ) -> Message:
        params = message.params or {}
        info = await self._upstreams[spec.name].info(caller.key)
        result: dict[str, Any] = {
            "protocolVersion": negotiate_handshake(params.get("protocolVersion")),
            "capabilities": proxy_capabilities(info.capabilities),
            "serverInfo": server_info(spec.name),
        }
        if info.instructions:
            result["instructions"] = info.instructions
        return {"result": result}

    async def _discover(
        self, spec: ServerSpec, caller: Caller, message: Inbound, _: NotificationSink | None
    ) -> Message:
        info = await self._upstreams[spec.name].info(caller.key)
        result: dict[str, Any] = {
            "supportedVersions": list(MODERN_VERSIONS),
            "capabilities": proxy_capabilities(info.capabilities),
            "_meta": {SERVER_INFO_KEY: server_info(spec.name)},
        }
        if info.instructions:
            result["instructions"] = info.instructions
        return {"result": client_result("server/discover", result, modern=True)}

    # Tools

    async def list_upstream_tools(
        self, spec: ServerSpec, principal_key: str, principal: RequestContext | None
    ) -> list[dict[str, Any]]:
        """Every page of the server's ``tools/list``, through the pins; the tools that are
        not quarantined. Raises ``RpcFailure`` with the server's error if it refuses."""
        upstream = self._upstreams[spec.name]
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(_LIST_PAGE_CAP):
            params = {"cursor": cursor} if cursor is not None else None
            reply = await upstream.request(
                principal_key, UpstreamCall("tools/list", params, spec.timeout_seconds)
            )
            result = reply.get("result")
            if not isinstance(result, dict):
                raw_error = reply.get("error")
                error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
                code = error.get("code")
                data = error.get("data")
                raise RpcFailure(
                    code if isinstance(code, int) else rpc.INTERNAL_ERROR,
                    str(error.get("message", "tools/list failed upstream")),
                    data=data if isinstance(data, dict) else None,
                )
            page = result.get("tools")
            if isinstance(page, list):
                tools.extend(t for t in page if isinstance(t, dict))
            next_cursor = result.get("nextCursor")
            if not isinstance(next_cursor, str) or not next_cursor or next_cursor == cursor:
                break
            cursor = next_cursor
        return await self._catalog.observe(spec.name, tools, principal)

    async def _list_tools(
        self, spec: ServerSpec, caller: Caller, message: Inbound, _: NotificationSink | None
    ) -> Message:
        offered = await self.list_upstream_tools(spec, caller.key, caller.principal)
        visible = await self._access.visible_tools(spec, caller.principal, offered)
        return {"result": client_result("tools/list", {"tools": visible}, modern=caller.modern)}

    async def _check_tool(
        self, execution: Execution, spec: ServerSpec, caller: Caller, tool: str
    ) -> None:
        """The tool filter, then the pins; a refusal denies the call."""
        refusal = self._access.tool_filter(spec, tool)
        if refusal is None:
            refusal = await self._pin_refusal(spec, caller, tool)
        if refusal is not None:
            execution.deny(refusal.stage, refusal.rule, refusal.reason)
            raise _denied(refusal, caller.principal.trace_id)

    def _tool_schema(self, spec: ServerSpec, tool: str) -> Mapping[str, Any] | None:
        schema = (self._catalog.definition(spec.name, tool) or {}).get("inputSchema")
        return schema if isinstance(schema, dict) else None

    async def _pin_refusal(self, spec: ServerSpec, caller: Caller, tool: str) -> Refusal | None:
        if not self._catalog.knows(spec.name, tool):
            # Never listed here: list now, so the tool is pinned (and checked) before use.
            try:
                await self.list_upstream_tools(spec, caller.key, caller.principal)
            except RpcFailure as exc:
                log.warning("mcp tools/list failed before a call", server=spec.name, error=str(exc))
        pin = await self._catalog.current_pin(spec.name, tool)
        if pin is None or not pin.quarantined:
            return None
        changes = ", ".join(pin.changes()) or "definition"
        return Refusal(
            PINNING_STAGE,
            "pin.quarantined",
            f"tool '{tool}' on MCP server '{spec.name}' changed since it was pinned "
            f"({changes}) and is quarantined until an admin approves it",
        )

    # The governed call

    async def _governed(
        self,
        governed: GovernedMethod,
        spec: ServerSpec,
        caller: Caller,
        message: Inbound,
        on_notification: NotificationSink | None,
    ) -> Message:
        method = message.method
        assert method is not None
        params = message.params or {}
        subject = governed.subject(method, spec.name, params)
        execution = self._execution(spec, caller, method, subject.name, subject.arguments)
        try:
            schema: Mapping[str, Any] | None = None
            if governed.tool_checks:
                await self._check_tool(execution, spec, caller, subject.name)
            await self._govern(execution, caller, subject.target, subject.data)
            if governed.tool_checks:
                schema = self._tool_schema(spec, subject.name)
            call = UpstreamCall(
                method, params, spec.timeout_seconds, on_notification, tool_schema=schema
            )
            return await self._forward(spec, caller, execution, call)
        except asyncio.CancelledError:
            execution.cancelled()
            raise
        finally:
            await self._record(execution)

    def _execution(
        self, spec: ServerSpec, caller: Caller, method: str, name: str, arguments: object
    ) -> Execution:
        return Execution(
            caller.principal,
            spec.name,
            method,
            name,
            arguments,
            caller.protocol_version,
            caller.mcp_session_id,
        )

    async def _govern(
        self, execution: Execution, caller: Caller, target: PolicyTarget, data: object
    ) -> None:
        decision = await self._engine.evaluate(PolicyContext(caller.principal, target, data))
        if decision.allowed:
            return
        refusal = Refusal(
            decision.stage or "governance", decision.rule, decision.reason or "denied"
        )
        execution.deny(refusal.stage, refusal.rule, refusal.reason)
        raise _denied(refusal, caller.principal.trace_id, decision.retry_after_ms)

    async def _forward(
        self, spec: ServerSpec, caller: Caller, execution: Execution, call: UpstreamCall
    ) -> Message:
        started = time.perf_counter()
        try:
            reply = await self._upstreams[spec.name].request(caller.key, call)
        except UpstreamTimeout as exc:
            execution.status, execution.reason = Status.TIMEOUT, exc.detail
            raise
        except UpstreamError as exc:
            execution.status, execution.reason = Status.ERROR, exc.detail
            raise
        finally:
            execution.upstream_ms = (time.perf_counter() - started) * 1000
        shaped = self._shaped(call.method, caller, reply)
        payload_key = "result" if "result" in shaped else "error"
        payload = shaped[payload_key]
        findings: list[Finding]
        if self._redact:
            payload, findings = self._scanner.redact_json(payload)
        else:
            findings = self._scanner.scan_json(payload)
        if findings:
            execution.findings = [{"pattern_id": f.pattern_id, "path": f.path} for f in findings]
            log.warning(
                "secret in an MCP result",
                server=spec.name,
                method=call.method,
                name=execution.tool,
                patterns=sorted({f.pattern_id for f in findings}),
                redacted=self._redact,
                trace_id=caller.principal.trace_id,
            )
        if payload_key == "error":
            execution.status = Status.ERROR
            execution.reason = str(payload.get("message")) if isinstance(payload, dict) else None
        elif isinstance(payload, dict) and payload.get("isError") is True:
            execution.status, execution.reason = Status.ERROR, "the tool reported an error"
        else:
            execution.status = Status.SUCCESS
        return {payload_key: payload}

    async def _record(self, execution: Execution) -> None:
        row = execution.row()
        key = (execution.server, execution.method, execution.status.value)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = CALLS.labels(*key)
        counter.inc()
        seconds = self._seconds.get(execution.server)
        if seconds is None:
            seconds = self._seconds[execution.server] = CALL_SECONDS.labels(execution.server)
        seconds.observe(row["duration_ms"] / 1000)
        await self._writer.write(mcp_tool_executions, row)
