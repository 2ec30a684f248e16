"""The data a governance stage sees and returns.

The engine that runs stages lives in ``bastion.infra.governance``; the types live here
so an extension can contribute a stage through ``policies()`` importing only the
public facade.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Mapping
from types import MappingProxyType
from typing import NamedTuple, Protocol, runtime_checkable

from bastion.kernel.context import RequestContext


class TargetType(enum.StrEnum):
    PROMPT = "prompt"
    TOOL = "tool"
    ROUTE = "route"
    AGENT = "agent"
    RESOURCE = "resource"
    MCP_PROMPT = "mcp_prompt"


class PolicyTarget(NamedTuple):
    """What is being acted on: a prompt, a tool on a server, a route or an agent.

    This and the other per-call types here are named tuples rather than frozen
    dataclasses: several are built for every governed call, and a frozen dataclass costs
    about three times as much to construct (one ``object.__setattr__`` per field)."""

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


class PolicyContext(NamedTuple):
    """One call to govern: who, on what, with which input (a prompt's text, a tool's
    arguments as JSON, a request body)."""

    principal: RequestContext
    target: PolicyTarget
    input: object = None


class Verdict(enum.StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    SKIP = "skip"
    DISABLED = "disabled"


NO_DETAILS: Mapping[str, object] = MappingProxyType({})


class StageVerdict(NamedTuple):
    """One stage's answer. ``details`` must never carry a raw secret."""

    verdict: Verdict
    rule: str | None = None
    reason: str | None = None
    retry_after_ms: int | None = None
    details: Mapping[str, object] = NO_DETAILS

    @classmethod
    def allow(cls, **details: object) -> StageVerdict:
        return cls(Verdict.ALLOW, None, None, None, details or NO_DETAILS)

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
    """A stage in the governance chain. ``name`` is what ``governance.policies`` lists.

    ``evaluate`` is a coroutine function, or a plain function when the stage does no I/O
    (the engine then calls it without creating a coroutine: every governed call runs every
    stage)."""

    name: str

    def evaluate(self, context: PolicyContext) -> StageVerdict | Awaitable[StageVerdict]: ...
