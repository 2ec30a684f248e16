"""Governed MCP tool calls, as a domain other than the mcp domain makes them.

The mcp domain provides ``TOOL_CALLS``: the same ``tools/list`` and ``tools/call`` an MCP
client makes through ``/api/v1/mcp/<server>/mcp``, with the same governance (the chain on
target ``tool``, pins and quarantine, credential injection, the secret scan of results)
and the same ``mcp_tool_executions`` row, carrying the principal's agent, task and
context ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bastion.kernel.context import RequestContext
from bastion.kernel.services import ServiceKey


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the principal may call: its MCP definition, as ``tools/list`` shows it."""

    server: str
    name: str
    description: str
    input_schema: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ToolRefusal:
    """Bastion refused the call (governance, a quarantined tool, an unknown server or
    tool): the JSON-RPC error it would have answered an MCP client with."""

    code: int
    message: str
    stage: str | None = None
    rule: str | None = None


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """The result of one call: MCP content blocks (text, image, resource ...), whether the
    tool itself reported an error, or Bastion's refusal (then ``content`` is empty)."""

    content: Sequence[Mapping[str, Any]] = ()
    is_error: bool = False
    structured: Mapping[str, Any] | None = None
    refusal: ToolRefusal | None = None

    def text(self) -> str:
        """The text blocks joined, or the refusal's message."""
        if self.refusal is not None:
            return self.refusal.message
        return "\n".join(str(b.get("text", "")) for b in self.content if b.get("type") == "text")


class ToolCalls(Protocol):
    async def tools(self, principal: RequestContext, server: str) -> Sequence[ToolSpec]:
        """The tools of ``server`` the principal may see (``NotFoundError`` for a server
        that is not registered or that the principal may not reach)."""
        ...

    async def call(
        self,
        principal: RequestContext,
        server: str,
        tool: str,
        arguments: Mapping[str, Any],
    ) -> ToolOutcome:
        """Call one tool, governed; a refusal is a ``ToolOutcome`` with ``refusal``."""
        ...


TOOL_CALLS: ServiceKey[ToolCalls] = ServiceKey(
    "tool_calls", "Governed MCP tools/list and tools/call as a principal, in process"
)
