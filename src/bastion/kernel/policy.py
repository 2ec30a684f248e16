"""The data a governance stage sees and returns.

The engine that runs stages lives in ``bastion.infra.governance``; the types live here
so an extension can contribute a stage through ``policies()`` importing only the
public facade.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from bastion.kernel.context import RequestContext


class TargetType(enum.StrEnum):
    PROMPT = "prompt"
    TOOL = "tool"
    ROUTE = "route"
    AGENT = "agent"
    RESOURCE = "resource"
    MCP_PROMPT = "mcp_prompt"


@dataclass(frozen=True, slots=True)
class PolicyTarget:
    """What is being acted on: a prompt, a tool on a server, a route or an agent."""

    type: TargetType
    server: str | None = None
    tool: str | None = None
    name: str | None = None

    def entity(self) -> str | None:
        """The ACL entity name for this target, or None for targets without one."""
        if self.type is TargetType.TOOL and self.server and self.tool:
            return f"{self.server}/{self.tool}"
        if self.type is TargetType.TOOL:
            return self.tool
        return self.name or self.server


@dataclass(frozen=True, slots=True)
class PolicyContext:
    principal: RequestContext
    target: PolicyTarget
    input: object = None


class Verdict(enum.StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    SKIP = "skip"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class StageVerdict:
    """One stage's answer. ``details`` must never carry a raw secret."""

    verdict: Verdict
    rule: str | None = None
    reason: str | None = None
    retry_after_ms: int | None = None
    details: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def allow(cls, **details: object) -> StageVerdict:
        return cls(Verdict.ALLOW, details=details)

    @classmethod
    def skip(cls, reason: str | None = None) -> StageVerdict:
        return cls(Verdict.SKIP, reason=reason)

    @classmethod
    def deny(
        cls, rule: str, reason: str, *, retry_after_ms: int | None = None, **details: object
    ) -> StageVerdict:
        return cls(
            Verdict.DENY, rule=rule, reason=reason, retry_after_ms=retry_after_ms, details=details
        )


@runtime_checkable
class PolicyStage(Protocol):
    """A stage in the governance chain. ``name`` is what ``governance.policies`` lists."""

    name: str

    async def evaluate(self, context: PolicyContext) -> StageVerdict: ...
