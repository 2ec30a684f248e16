"""Governance as the other domains and extensions see it: the ``GOVERNANCE`` service.

The governance domain (``bastion.domains.governance``) builds the chain from its
``governance:`` namespace and provides it under ``GOVERNANCE``; the gateway, the MCP
proxy, the agents domain and any extension (``helpdesk``) declare
``requires=(GOVERNANCE,)`` and call ``ctx.service(GOVERNANCE)``, typed by the protocol
below, through ``bastion.extension``. ``Decision`` is the chain's answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple, Protocol

from bastion.kernel.context import RequestContext
from bastion.kernel.policy import (
    NO_DETAILS,
    PolicyContext,
    StageVerdict,
    TargetType,
    Verdict,
    tuple_constructor,
)
from bastion.kernel.services import ServiceKey

INTERNAL_ERROR = "internal_error"
BACKEND_UNAVAILABLE_RULE = "governance.backend_unavailable"


class StageTrace(NamedTuple):
    """One stage's line in a decision's trace (a tuple: one is built per stage per call).
    The engine measures ``duration_us`` to a tenth of a microsecond."""

    stage: str
    result: Verdict
    duration_us: float
    rule: str | None = None


class Decision(NamedTuple):
    """The chain's answer: the first deny, or allow. Never carries a raw secret. A named
    tuple, as ``StageVerdict``: one is built for every governed call."""

    allowed: bool
    trace: Sequence[StageTrace]
    stage: str | None = None
    rule: str | None = None
    reason: str | None = None
    retry_after_ms: int | None = None
    details: Mapping[str, object] = NO_DETAILS
    duration_us: float = 0.0

    @property
    def decision(self) -> str:
        return "allow" if self.allowed else "deny"

    def trace_dicts(self) -> list[dict[str, object]]:
        """The trace as stored and served: one object per stage, ``rule`` only when set."""
        return [
            {"stage": stage, "result": result._value_, "duration_us": duration_us}
            if rule is None
            else {
                "stage": stage,
                "result": result._value_,
                "duration_us": duration_us,
                "rule": rule,
            }
            for stage, result, duration_us, rule in self.trace
        ]

    def as_dict(self) -> dict[str, object]:
        """The wire shape of ``/api/v1/governance/evaluate`` (without the trace id)."""
        body: dict[str, object] = {
            "decision": self.decision,
            "stage": self.stage,
            "rule": self.rule,
            "reason": self.reason,
            "trace": self.trace_dicts(),
        }
        if self.retry_after_ms is not None:
            body["retry_after_ms"] = self.retry_after_ms
        if self.details:
            body["details"] = dict(self.details)
        return body


new_stage_trace = tuple_constructor(StageTrace)
new_decision = tuple_constructor(Decision)


# kind -> predicate over the entity name; None means "not managed here"
EntityLookup = Callable[[str], bool]


class EntityCatalog:
    """Which routes, MCP servers, tools and agents exist. Domains register a lookup for the
    kinds they own; an entity of a managed kind that the lookup does not know is denied."""

    def __init__(self) -> None:
        self._lookups: dict[str, EntityLookup] = {}

    def register(self, kind: str, lookup: EntityLookup) -> None:
        self._lookups[kind] = lookup

    def knows(self, kind: str, name: str) -> bool | None:
        lookup = self._lookups.get(kind)
        return None if lookup is None else lookup(name)


class PolicyEvaluator(Protocol):
    """The chain: every stage in order, the first deny wins; recorded unless ``record``
    is False (a dry run)."""

    async def evaluate(self, context: PolicyContext, *, record: bool = True) -> Decision: ...


class ScopeCheck(Protocol):
    """The ``scope_check`` stage on its own: tier, scopes and the entity ACL, for a
    surface that filters what a caller may see (a listing) without running the chain."""

    name: str

    def evaluate(self, context: PolicyContext) -> StageVerdict: ...

    def required_scopes(self, target_type: TargetType) -> tuple[str, ...]: ...


class UsageRecorder(Protocol):
    """Quota windows: what a response consumed, counted for the principal."""

    async def record_usage(
        self,
        principal: RequestContext,
        input_tokens: int,
        output_tokens: int,
        cost_microdollars: int,
    ) -> None: ...


class Governance(Protocol):
    """What ``ctx.service(GOVERNANCE)`` returns."""

    @property
    def engine(self) -> PolicyEvaluator: ...

    @property
    def scope(self) -> ScopeCheck: ...

    @property
    def catalog(self) -> EntityCatalog: ...

    @property
    def quota(self) -> UsageRecorder: ...


GOVERNANCE: ServiceKey[Governance] = ServiceKey(
    "governance", "The governance chain, its scope check, entity catalogue and quotas"
)

__all__ = [
    "BACKEND_UNAVAILABLE_RULE",
    "GOVERNANCE",
    "INTERNAL_ERROR",
    "Decision",
    "EntityCatalog",
    "EntityLookup",
    "Governance",
    "PolicyEvaluator",
    "ScopeCheck",
    "StageTrace",
    "UsageRecorder",
    "new_decision",
    "new_stage_trace",
]
