from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

import structlog

from bastion.domains.governance import _budget
from bastion.domains.governance._budget import BudgetExceeded
from bastion.domains.governance._input import begin as begin_input
from bastion.domains.governance._input import end as end_input
from bastion.kernel.errors import BackendUnavailableError
from bastion.kernel.governance import (
    BACKEND_UNAVAILABLE_RULE,
    INTERNAL_ERROR,
    Decision,
    StageTrace,
    new_decision,
    new_stage_trace,
)
from bastion.kernel.policy import NO_DETAILS, PolicyContext, PolicyStage, StageVerdict, Verdict

log = structlog.get_logger("bastion.governance")

DecisionSink = Callable[[PolicyContext, Decision], Awaitable[object] | None]
"""Called with every decision. A coroutine function, or a plain function that returns None
when it is done and an awaitable when it has to wait (the audit queue is full)."""
TIME_BUDGET_RULE = "governance.time_budget"
_DENY, _SKIP, _DISABLED = Verdict.DENY, Verdict.SKIP, Verdict.DISABLED


class PolicyEngine:
    """Runs the configured stages in order; the first deny wins.

    A stage that raises denies with reason ``internal_error`` (fail closed); one whose shared
    backend is down (``BackendUnavailableError``) denies with rule
    ``governance.backend_unavailable``, logged once per outage. A chain that
    runs past its time budget (``budget_ms``) denies with rule ``governance.time_budget``
    (fail closed): the clock is read after every stage anyway, so the check costs one
    comparison; a stage already running is not interrupted (stages are synchronous), the
    stages after it are skipped. Every
    decision, allow or deny, goes to the sinks (audit rows, SIEM events); a sink only
    enqueues, and waits only when the audit queue is full (backpressure, never loss).
    """

    def __init__(
        self,
        stages: Sequence[PolicyStage],
        *,
        disabled: Sequence[str] = (),
        sinks: Sequence[DecisionSink] = (),
        redact: Callable[[str], str] | None = None,
        budget_ms: float | None = None,
    ) -> None:
        self._stages = list(stages)
        self._budget_ms = budget_ms
        # Nanoseconds, compared with the clock; "never" when there is no budget.
        self._budget_ns = int(budget_ms * 1e6) if budget_ms is not None else _budget.NEVER
        self._disabled = frozenset(disabled)
        self._plan = [(s, s.name, s.name in self._disabled) for s in self._stages]
        self._sinks = list(sinks)
        # A stage's exception text may quote its input; it is logged only once redacted.
        self._redact = redact
        self._down: set[str] = set()

    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self._stages]

    def add_sink(self, sink: DecisionSink) -> None:
        self._sinks.append(sink)

    async def evaluate(self, context: PolicyContext, *, record: bool = True) -> Decision:
        """Run the chain. ``record=False`` is for operator dry runs (``governance test``)."""
        decision = await self._run(context)
        if record:
            for sink in self._sinks:
                pending = sink(context, decision)
                if pending is not None:
                    await pending
        return decision

    async def _run(self, context: PolicyContext) -> Decision:
        begin_input(context)
        try:
            trace: list[StageTrace] = []
            append = trace.append
            clock = time.perf_counter_ns
            # One clock read per stage: each stage ends where the next one starts.
            started = last = clock()
            denied: StageVerdict | None = None
            denied_stage: str | None = None
            deadline = started + self._budget_ns
            down = self._down
            for stage, name, disabled in self._plan:
                if denied is not None:
                    append(new_stage_trace((name, _SKIP, 0.0, None)))
                    continue
                if disabled:
                    append(new_stage_trace((name, _DISABLED, 0.0, None)))
                    continue
                try:
                    _budget.deadline_ns = deadline
                    answer = stage.evaluate(context)
                    verdict = answer if isinstance(answer, StageVerdict) else await answer
                except BudgetExceeded:
                    verdict = self._over_budget(name, clock() - started)
                except BackendUnavailableError as exc:
                    verdict = self._backend_down(name, exc)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    log.error(
                        "governance stage failed; denying",
                        stage=name,
                        error=self._redact(error) if self._redact is not None else error,
                        trace_id=context.principal.trace_id,
                    )
                    verdict = StageVerdict.deny(INTERNAL_ERROR, INTERNAL_ERROR)
                else:
                    if down and name in down:
                        down.discard(name)
                        log.info("governance stage backend available again", stage=name)
                now = clock()
                result = verdict.verdict
                # Tenths of a microsecond by integer division: round(x, 1) costs more than a stage.
                append(new_stage_trace((name, result, (now - last) // 100 / 10, verdict.rule)))
                last = now
                if result is _DENY:
                    denied, denied_stage = verdict, name
                elif now > deadline:
                    denied, denied_stage = self._over_budget(name, now - started), name
            total = (clock() - started) // 100 / 10
        finally:
            end_input()
            _budget.deadline_ns = _budget.NEVER
        if denied is None:
            return new_decision((True, tuple(trace), None, None, None, None, NO_DETAILS, total))
        return Decision(
            False,
            tuple(trace),
            stage=denied_stage,
            rule=denied.rule,
            reason=denied.reason,
            retry_after_ms=denied.retry_after_ms,
            details=denied.details,
            duration_us=total,
        )

    def _backend_down(self, stage: str, exc: BackendUnavailableError) -> StageVerdict:
        # One line when a backend goes down, not one per request while it stays down; the
        # caller's reason names the stage, never the backend's address.
        if stage not in self._down:
            self._down.add(stage)
            error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "governance stage backend unavailable; denying until it answers",
                stage=stage,
                error=self._redact(error) if self._redact is not None else error,
            )
        return StageVerdict.deny(
            BACKEND_UNAVAILABLE_RULE,
            f"the {stage} stage's backend is unavailable",
            retry_after_ms=1000,
        )

    def _over_budget(self, stage: str, elapsed_ns: int) -> StageVerdict:
        reason = (
            f"governance time budget of {self._budget_ms:g} ms exceeded "
            f"({elapsed_ns / 1e6:.1f} ms when stage '{stage}' finished); "
            "see governance.time_budget_ms"
        )
        return StageVerdict.deny(TIME_BUDGET_RULE, reason)
