"""``TOOL_CALLS``: ``tools/list`` and ``tools/call`` made in process (an A2A native
agent's), through the governed proxy every MCP client's request goes through.

The server gate is the endpoint's (registered, ``min_tier``, ``required_scopes``, the
server's ACL); then ``McpProxy.handle`` with a modern-era caller does the rest as for an
HTTP client: pins and quarantine, the governance chain on target ``tool`` (recorded),
credential injection, the secret scan of the result, the ``mcp_tool_executions`` row
with the principal's agent, task and context ids.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from bastion.domains.mcp import _jsonrpc as rpc
from bastion.domains.mcp._access import Access, Refusal
from bastion.domains.mcp._jsonrpc import Inbound, Message
from bastion.domains.mcp._protocol import LATEST_MODERN
from bastion.domains.mcp._proxy import Caller, McpProxy
from bastion.domains.mcp._registry import Registry, ServerSpec
from bastion.kernel.context import RequestContext
from bastion.kernel.errors import NotFoundError
from bastion.kernel.tool_calls import ToolOutcome, ToolRefusal, ToolSpec

_ids = itertools.count(1)


def _request(method: str, params: dict[str, Any] | None) -> Inbound:
    request_id = next(_ids)
    raw: Message = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        raw["params"] = params
    return Inbound(raw, request_id, method, params)


class McpToolCalls:
    """The mcp domain's ``ToolCalls``: the registry, the access checks and the proxy of
    its ``McpService``, the ones ``/api/v1/mcp/{server}/mcp`` serves with."""

    def __init__(self, registry: Registry, access: Access, proxy: McpProxy) -> None:
        self._registry = registry
        self._access = access
        self._proxy = proxy

    async def tools(self, principal: RequestContext, server: str) -> Sequence[ToolSpec]:
        spec = self._registry.get(server)
        if spec is None:
            raise NotFoundError(f"unknown MCP server '{server}'")
        refusal = await self._access.server_refusal(spec, principal)
        if refusal is not None:
            raise NotFoundError(f"MCP server '{server}' is not available: {refusal.reason}")
        listing = _request("tools/list", None)
        reply = await self._proxy.handle(spec, self._caller(principal), listing)
        result = reply.get("result")
        if not isinstance(result, dict):
            message = _error(reply).get("message", "tools/list failed")
            raise NotFoundError(f"MCP server '{server}' did not list its tools: {message}")
        listed = result.get("tools")
        return [
            _spec(server, tool)
            for tool in (listed if isinstance(listed, list) else [])
            if isinstance(tool, dict) and isinstance(tool.get("name"), str)
        ]

    async def call(
        self,
        principal: RequestContext,
        server: str,
        tool: str,
        arguments: Mapping[str, Any],
    ) -> ToolOutcome:
        spec = self._registry.get(server)
        if spec is None:
            return ToolOutcome(
                refusal=ToolRefusal(rpc.METHOD_NOT_FOUND, f"unknown MCP server '{server}'")
            )
        refusal = await self._access.server_refusal(spec, principal)
        if refusal is not None:
            return ToolOutcome(refusal=_refused(refusal))
        return await self._call(spec, principal, tool, arguments)

    async def _call(
        self,
        spec: ServerSpec,
        principal: RequestContext,
        tool: str,
        arguments: Mapping[str, Any],
    ) -> ToolOutcome:
        message = _request("tools/call", {"name": tool, "arguments": dict(arguments)})
        reply = await self._proxy.handle(spec, self._caller(principal), message)
        result = reply.get("result")
        if not isinstance(result, dict):
            return ToolOutcome(refusal=_rpc_refusal(_error(reply)))
        content = result.get("content")
        blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
        structured = result.get("structuredContent")
        return ToolOutcome(
            content=blocks,
            is_error=result.get("isError") is True,
            structured=structured if isinstance(structured, dict) else None,
        )

    @staticmethod
    def _caller(principal: RequestContext) -> Caller:
        # A modern-era caller: every request self-contained, no session to open.
        return Caller(principal, modern=True, protocol_version=LATEST_MODERN)


def _spec(server: str, tool: dict[str, Any]) -> ToolSpec:
    schema = tool.get("inputSchema")
    description = tool.get("description")
    return ToolSpec(
        server=server,
        name=tool["name"],
        description=description if isinstance(description, str) else "",
        input_schema=schema if isinstance(schema, dict) else {"type": "object"},
    )


def _error(reply: Message) -> dict[str, Any]:
    error = reply.get("error")
    return error if isinstance(error, dict) else {}


def _refused(refusal: Refusal) -> ToolRefusal:
    return ToolRefusal(rpc.FORBIDDEN, refusal.reason, refusal.stage, refusal.rule)


def _rpc_refusal(error: Mapping[str, Any]) -> ToolRefusal:
    """A JSON-RPC error as a refusal; its stage and rule when Bastion denied the call
    (``-32003`` with the stage in ``data``), none for the server's own errors."""
    code = error.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else rpc.INTERNAL_ERROR
    message = str(error.get("message") or "the call failed")
    data = error.get("data")
    stage = rule = None
    if code == rpc.FORBIDDEN and isinstance(data, dict):
        stage = data.get("stage") if isinstance(data.get("stage"), str) else None
        rule = data.get("rule") if isinstance(data.get("rule"), str) else None
    return ToolRefusal(code, message, stage, rule)
