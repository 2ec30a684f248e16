"""The data a governance stage sees and returns.

The engine that runs stages lives in the governance domain; the types live here
so an extension can contribute a stage through ``policies()`` importing only the
public facade.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, TypeVar, cast, runtime_checkable

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
        if cls is StageVerdict:
            return _new_stage_verdict((Verdict.ALLOW, None, None, None, details or NO_DETAILS))
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


_T = TypeVar("_T", bound=tuple[Any, ...])


def tuple_constructor(cls: type[_T]) -> Callable[[tuple[Any, ...]], _T]:
    """Instances of the named tuple ``cls`` from a tuple of every field, built in C.

    A named tuple's generated ``__new__`` is a Python function; ``tuple.__new__`` builds
    the same instance without it (142 ns instead of 209 for a four-field tuple). For the
    types built several times per governed call."""
    return cast(Callable[[tuple[Any, ...]], _T], partial(tuple.__new__, cls))


_new_stage_verdict = tuple_constructor(StageVerdict)


@runtime_checkable
class PolicyStage(Protocol):
    """A stage in the governance chain. ``name`` is what ``governance.policies`` lists.

    ``evaluate`` is a coroutine function, or a plain function when the stage does no I/O
    (the engine then calls it without creating a coroutine: every governed call runs every
    stage)."""

    name: str

    def evaluate(self, context: PolicyContext) -> StageVerdict | Awaitable[StageVerdict]: ...
