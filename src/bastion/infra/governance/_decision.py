from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from bastion.kernel.policy import NO_DETAILS, Verdict, tuple_constructor


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
