"""Who may see and use what: a server as a whole, and each tool on it.

A server is refused by its own ``min_tier`` and ``required_scopes`` and by the governance
scope stage (tier and scopes for tools, the server's ACL). A tool is hidden by the
server's ``tools.allow`` / ``tools.deny`` globs and by the scope stage for ``server/tool``
(admin-only prefixes, the tool's ACL). These checks run the scope stage directly, without
recording a decision: they filter listings; the recorded decision is the one ``tools/call``
makes through the whole chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bastion.domains.mcp._registry import ServerSpec
from bastion.kernel.context import RequestContext
from bastion.kernel.governance import Governance
from bastion.kernel.policy import PolicyContext, PolicyTarget, TargetType, Verdict

SERVER_STAGE = "mcp.server"
TOOL_FILTER_STAGE = "mcp.tool_filter"
PINNING_STAGE = "mcp.pinning"


@dataclass(frozen=True, slots=True)
class Refusal:
    stage: str
    rule: str | None
    reason: str

    def data(self) -> dict[str, object]:
        return {"stage": self.stage, "rule": self.rule, "reason": self.reason}


_CACHE_MAX = 10_000
_Identity = tuple[str, object, frozenset[str], object, object, object]


class Access:
    def __init__(self, governance: Governance) -> None:
        self._scope = governance.scope
        # Whether a principal may use a server depends only on its identity and on static
        # configuration (requirements, ACL, the registry), so it is computed once.
        self._servers: dict[_Identity, Refusal | None] = {}

    async def server_refusal(self, spec: ServerSpec, principal: RequestContext) -> Refusal | None:
        key: _Identity = (
            spec.name,
            principal.tier,
            principal.scopes,
            principal.role,
            principal.user_id,
            principal.tenant_id,
        )
        if key in self._servers:
            return self._servers[key]
        refusal = await self._server_refusal(spec, principal)
        if len(self._servers) >= _CACHE_MAX:
            self._servers.clear()
        self._servers[key] = refusal
        return refusal

    async def _server_refusal(self, spec: ServerSpec, principal: RequestContext) -> Refusal | None:
        reason = spec.refusal(principal)
        if reason is not None:
            return Refusal(SERVER_STAGE, "server.requirements", reason)
        verdict = self._scope.evaluate(
            PolicyContext(principal, PolicyTarget(TargetType.TOOL, server=spec.name))
        )
        if verdict.verdict is Verdict.DENY:
            return Refusal(self._scope.name, verdict.rule, verdict.reason or "denied")
        return None

    def tool_filter(self, spec: ServerSpec, tool: str) -> Refusal | None:
        rule = spec.tool_filter_rule(tool)
        if rule is None:
            return None
        return Refusal(
            TOOL_FILTER_STAGE,
            f"tools.{rule}",
            f"tool '{tool}' is not offered through Bastion by MCP server '{spec.name}' "
            f"(tools.{rule})",
        )

    async def tool_visible(self, spec: ServerSpec, principal: RequestContext, tool: str) -> bool:
        if self.tool_filter(spec, tool) is not None:
            return False
        verdict = self._scope.evaluate(
            PolicyContext(principal, PolicyTarget(TargetType.TOOL, server=spec.name, tool=tool))
        )
        return verdict.verdict is not Verdict.DENY

    async def visible_tools(
        self, spec: ServerSpec, principal: RequestContext, tools: Iterable[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        return [
            dict(tool)
            for tool in tools
            if await self.tool_visible(spec, principal, str(tool.get("name")))
        ]
