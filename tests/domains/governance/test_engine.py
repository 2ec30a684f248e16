"""The policy engine: stages run in the configured order, the first deny wins and later
stages are traced ``skip``, disabled stages are traced ``disabled``, every entry carries
its duration, a stage that raises denies (fail closed, logged), and every decision goes
to the sinks. Also the built chain end to end, with the rate limit and quota stages."""

from __future__ import annotations

import asyncio
import random
import string
from collections.abc import Sequence
from typing import Any

import pytest
from structlog.testing import capture_logs

from bastion.domains.governance import (
    DEFAULT_POLICIES,
    GovernanceSettings,
    PolicyEngine,
    build_governance,
)
from bastion.infra.ratelimit import RateLimitSettings
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.governance import INTERNAL_ERROR, Decision
from bastion.kernel.ids import ApiKeyId, RoleName, TenantId, TraceId, UserId
from bastion.kernel.policy import (
    PolicyContext,
    PolicyStage,
    PolicyTarget,
    StageVerdict,
    TargetType,
    Verdict,
)
from bastion.kernel.tiers import Tier

PROMPT = PolicyTarget(TargetType.PROMPT)
USER_SCOPES = frozenset({"llm:invoke", "mcp:call", "agents:read", "agents:invoke"})
RNG = random.Random(11)
AWS_KEY = (
    "AK" + "IA" + "".join(RNG.choice(string.ascii_uppercase + string.digits) for _ in "x" * 16)
)


def principal(
    user: str = "usr_alice",
    tier: Tier = Tier.USER,
    *,
    api_key: str | None = None,
    trace: str = "trace-engine",
) -> RequestContext:
    return RequestContext(
        trace_id=TraceId(trace),
        tier=tier,
        auth_method=AuthMethod.API_KEY if api_key else AuthMethod.JWT,
        user_id=UserId(user),
        tenant_id=TenantId("acme"),
        role=RoleName(tier.label),
        scopes=frozenset({"*"}) if tier is Tier.ADMIN else USER_SCOPES,
        api_key_id=ApiKeyId(api_key) if api_key else None,
    )


def context(data: object = "hello", who: RequestContext | None = None) -> PolicyContext:
    return PolicyContext(who or principal(), PROMPT, data)


class Recording:
    """A stage with a fixed answer that records each call."""

    def __init__(self, name: str, verdict: StageVerdict, delay: float = 0.0) -> None:
        self.name = name
        self.verdict = verdict
        self.delay = delay
        self.calls = 0

    async def evaluate(self, context: PolicyContext) -> StageVerdict:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.verdict


class Exploding:
    def __init__(self, name: str = "exploding", exc: Exception | None = None) -> None:
        self.name = name
        self.exc = exc or RuntimeError("lookup table corrupted")

    async def evaluate(self, context: PolicyContext) -> StageVerdict:
        raise self.exc


def allow(name: str, **kwargs: Any) -> Recording:
    return Recording(name, StageVerdict.allow(), **kwargs)


def deny(name: str, rule: str = "r", reason: str = "no", **details: Any) -> Recording:
    return Recording(name, StageVerdict.deny(rule, reason, **details))


def trace_of(decision: Decision) -> list[tuple[str, str, str | None]]:
    return [(t.stage, t.result.value, t.rule) for t in decision.trace]


# Ordering, first deny, skip, disabled


async def test_all_allow_runs_every_stage_in_order() -> None:
    stages = [allow("a"), allow("b"), allow("c")]
    decision = await PolicyEngine(stages).evaluate(context())
    assert decision.allowed and decision.decision == "allow"
    assert (decision.stage, decision.rule, decision.reason) == (None, None, None)
    assert trace_of(decision) == [("a", "allow", None), ("b", "allow", None), ("c", "allow", None)]
    assert [s.calls for s in stages] == [1, 1, 1]


class Plain:
    """A stage whose ``evaluate`` is a plain function (no I/O, no coroutine)."""

    def __init__(self, name: str, answer: object) -> None:
        self.name = name
        self.answer = answer
        self.calls = 0

    def evaluate(self, context: PolicyContext) -> Any:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


async def test_plain_and_coroutine_stages_run_in_one_chain() -> None:
    first, second = Plain("plain", StageVerdict.allow()), allow("async")
    third = Plain("plain-deny", StageVerdict.deny("p.rule", "plain says no"))
    decision = await PolicyEngine([first, second, third, allow("after")]).evaluate(context())
    assert (decision.stage, decision.rule, decision.reason) == (
        "plain-deny",
        "p.rule",
        "plain says no",
    )
    assert trace_of(decision) == [
        ("plain", "allow", None),
        ("async", "allow", None),
        ("plain-deny", "deny", "p.rule"),
        ("after", "skip", None),
    ]
    assert (first.calls, second.calls, third.calls) == (1, 1, 1)


@pytest.mark.parametrize(
    "answer", [RuntimeError("boom"), None, "allow", {"verdict": "allow"}], ids=repr
)
async def test_a_plain_stage_that_raises_or_answers_no_verdict_fails_closed(
    answer: object,
) -> None:
    decision = await PolicyEngine([Plain("odd", answer), allow("after")]).evaluate(context())
    assert not decision.allowed
    assert (decision.stage, decision.rule, decision.reason) == (
        "odd",
        "internal_error",
        "internal_error",
    )


async def test_first_deny_wins_and_later_stages_are_skipped() -> None:
    a, b, c, d = allow("a"), deny("b", "b.rule", "b says no"), deny("c", "c.rule"), allow("d")
    decision = await PolicyEngine([a, b, c, d]).evaluate(context())
    assert not decision.allowed and decision.decision == "deny"
    assert (decision.stage, decision.rule, decision.reason) == ("b", "b.rule", "b says no")
    assert trace_of(decision) == [
        ("a", "allow", None),
        ("b", "deny", "b.rule"),
        ("c", "skip", None),
        ("d", "skip", None),
    ]
    assert (a.calls, b.calls, c.calls, d.calls) == (1, 1, 0, 0)


async def test_order_is_the_configured_order() -> None:
    first, second = deny("first", "first.rule"), deny("second", "second.rule")
    assert (await PolicyEngine([first, second]).evaluate(context())).rule == "first.rule"
    assert (await PolicyEngine([second, first]).evaluate(context())).rule == "second.rule"


async def test_disabled_stages_are_traced_and_not_run() -> None:
    a, b, c = deny("a", "a.rule"), allow("b"), deny("c", "c.rule")
    engine = PolicyEngine([a, b, c], disabled=["a"])
    decision = await engine.evaluate(context())
    assert decision.rule == "c.rule"
    assert trace_of(decision) == [
        ("a", "disabled", None),
        ("b", "allow", None),
        ("c", "deny", "c.rule"),
    ]
    assert a.calls == 0
    # After a deny, a disabled stage is still skipped: nothing after the deny runs.
    engine = PolicyEngine([deny("x", "x.rule"), allow("y")], disabled=["y"])
    assert trace_of(await engine.evaluate(context())) == [
        ("x", "deny", "x.rule"),
        ("y", "skip", None),
    ]


async def test_a_stage_may_skip_or_report_itself_disabled_without_stopping_the_chain() -> None:
    stages: Sequence[PolicyStage] = [
        Recording("optional", StageVerdict.skip("not applicable")),
        Recording("off", StageVerdict(Verdict.DISABLED)),
        deny("last", "last.rule"),
    ]
    decision = await PolicyEngine(stages).evaluate(context())
    assert trace_of(decision) == [
        ("optional", "skip", None),
        ("off", "disabled", None),
        ("last", "deny", "last.rule"),
    ]


async def test_every_trace_entry_has_a_duration_in_microseconds() -> None:
    stages = [allow("fast"), allow("slow", delay=0.003), deny("d"), allow("after")]
    decision = await PolicyEngine(stages, disabled=["fast"]).evaluate(context())
    entries = decision.trace_dicts()
    assert [set(e) for e in entries] == [
        {"stage", "result", "duration_us"},
        {"stage", "result", "duration_us"},
        {"stage", "result", "duration_us", "rule"},
        {"stage", "result", "duration_us"},
    ]
    assert all(isinstance(e["duration_us"], float) for e in entries)
    by_stage = {str(e["stage"]): float(str(e["duration_us"])) for e in entries}
    assert by_stage["fast"] == 0.0 and by_stage["after"] == 0.0
    assert 3_000 <= by_stage["slow"] < 1_000_000
    assert 0 < by_stage["d"] < 3_000
    assert decision.duration_us >= by_stage["slow"]


async def test_decision_wire_shape() -> None:
    decision = await PolicyEngine(
        [
            allow("a"),
            Recording(
                "limit",
                StageVerdict.deny("limit.hit", "slow down", retry_after_ms=250, bucket="b1"),
            ),
        ]
    ).evaluate(context())
    body = decision.as_dict()
    assert list(body) == [
        "decision",
        "stage",
        "rule",
        "reason",
        "trace",
        "retry_after_ms",
        "details",
    ]
    assert body["decision"] == "deny"
    assert (body["stage"], body["rule"], body["reason"]) == ("limit", "limit.hit", "slow down")
    assert body["retry_after_ms"] == 250 and body["details"] == {"bucket": "b1"}
    allowed = (await PolicyEngine([allow("a")]).evaluate(context())).as_dict()
    assert list(allowed) == ["decision", "stage", "rule", "reason", "trace"]


# Fail closed


async def test_a_stage_that_raises_denies_with_internal_error_and_is_logged() -> None:
    after = allow("after")
    engine = PolicyEngine([allow("before"), Exploding(), after])
    with capture_logs() as logs:
        decision = await engine.evaluate(context(who=principal(trace="trace-boom")))
    assert not decision.allowed
    assert (decision.stage, decision.rule, decision.reason) == (
        "exploding",
        INTERNAL_ERROR,
        INTERNAL_ERROR,
    )
    assert INTERNAL_ERROR == "internal_error"
    assert trace_of(decision) == [
        ("before", "allow", None),
        ("exploding", "deny", "internal_error"),
        ("after", "skip", None),
    ]
    assert after.calls == 0
    errors = [e for e in logs if e["log_level"] == "error"]
    assert len(errors) == 1
    assert errors[0]["stage"] == "exploding"
    assert errors[0]["trace_id"] == "trace-boom"
    assert errors[0]["error"] == "RuntimeError: lookup table corrupted"
    # The internal error's text does not reach the caller.
    assert "corrupted" not in repr(decision.as_dict())


@pytest.mark.parametrize(
    "exc", [KeyError("missing"), ZeroDivisionError("x"), TimeoutError(), ValueError("")]
)
async def test_any_exception_fails_closed(exc: Exception) -> None:
    with capture_logs():
        decision = await PolicyEngine([Exploding(exc=exc)]).evaluate(context())
    assert (decision.decision, decision.rule) == ("deny", "internal_error")


async def test_the_fail_closed_log_line_never_carries_a_secret_from_the_input() -> None:
    class Parser:
        name = "parser"

        async def evaluate(self, context: PolicyContext) -> StageVerdict:
            raise ValueError(f"cannot parse input {context.input!r}")

    governance = build_governance(
        GovernanceSettings.model_validate({"policies": ["parser", "scope_check"]}),
        RateLimitSettings(),
        {"probe": [Parser()]},
    )
    with capture_logs() as logs:
        decision = await governance.engine.evaluate(context(f"deploy with {AWS_KEY}"))
    await governance.aclose()
    assert (decision.stage, decision.rule) == ("parser", "internal_error")
    (event,) = [e for e in logs if e["log_level"] == "error"]
    assert AWS_KEY not in repr(event)
    assert "AKIA[REDACTED:aws-access-key-id]" in event["error"]


async def test_an_unreachable_redis_rate_limiter_fails_closed() -> None:
    governance = build_governance(
        GovernanceSettings(),
        RateLimitSettings(backend="redis", redis_url="redis://127.0.0.1:1/0", redis_timeout_ms=200),
    )
    try:
        with capture_logs() as logs:
            decision = await governance.engine.evaluate(context())
    finally:
        await governance.aclose()
    assert (decision.stage, decision.rule, decision.reason, decision.retry_after_ms) == (
        "rate_limit",
        "governance.backend_unavailable",
        "the rate_limit stage's backend is unavailable",
        1000,
    )
    assert [t.result.value for t in decision.trace] == ["allow", "allow", "allow", "deny", "skip"]
    (event,) = [e for e in logs if e["log_level"] == "warning"]
    assert event["stage"] == "rate_limit"
    assert event["error"].startswith("RateLimitBackendError: rate limit backend unavailable")


# Sinks


async def test_every_decision_reaches_every_sink() -> None:
    seen: list[tuple[str, str, str | None]] = []

    async def sink_a(ctx: PolicyContext, decision: Decision) -> None:
        seen.append(("a", ctx.principal.trace_id, decision.rule))

    async def sink_b(ctx: PolicyContext, decision: Decision) -> None:
        seen.append(("b", ctx.principal.trace_id, decision.rule))

    engine = PolicyEngine([Recording("gate", StageVerdict.allow())], sinks=[sink_a])
    engine.add_sink(sink_b)
    await engine.evaluate(context(who=principal(trace="t1")))
    failing = PolicyEngine([deny("gate", "gate.rule")], sinks=[sink_a, sink_b])
    await failing.evaluate(context(who=principal(trace="t2")))
    with capture_logs():
        await PolicyEngine([Exploding()], sinks=[sink_a]).evaluate(
            context(who=principal(trace="t3"))
        )
    assert seen == [
        ("a", "t1", None),
        ("b", "t1", None),
        ("a", "t2", "gate.rule"),
        ("b", "t2", "gate.rule"),
        ("a", "t3", "internal_error"),
    ]


# The built chain


async def test_default_chain_order_and_an_allow_through_every_stage() -> None:
    governance = build_governance(GovernanceSettings(), RateLimitSettings())
    assert governance.engine.stage_names == list(DEFAULT_POLICIES)
    assert DEFAULT_POLICIES == ("scope_check", "secret_scan", "blocklist", "rate_limit", "quota")
    decision = await governance.engine.evaluate(context("summarise the release notes"))
    assert decision.allowed
    assert [(t.stage, t.result.value) for t in decision.trace] == [
        (name, "allow") for name in DEFAULT_POLICIES
    ]
    await governance.aclose()


async def test_default_chain_denies_at_the_right_stage() -> None:
    governance = build_governance(
        GovernanceSettings.model_validate(
            {"blocklist": {"content": [{"id": "codename", "literal": "nightjar"}]}}
        ),
        RateLimitSettings(),
    )
    engine = governance.engine
    cases = [
        (principal(tier=Tier.ANONYMOUS), "hi", "scope_check", "scope.tier"),
        (principal(), f"key {AWS_KEY}", "secret_scan", "secret.aws-access-key-id"),
        (principal(), "about nightjar", "blocklist", "blocklist.codename"),
        # A secret and a blocked word: the earlier stage names the deny.
        (principal(), f"nightjar {AWS_KEY}", "secret_scan", "secret.aws-access-key-id"),
    ]
    for who, data, stage, rule in cases:
        decision = await engine.evaluate(context(data, who))
        assert (decision.stage, decision.rule) == (stage, rule), decision
        position = DEFAULT_POLICIES.index(stage)
        assert [t.result.value for t in decision.trace] == (
            ["allow"] * position + ["deny"] + ["skip"] * (len(DEFAULT_POLICIES) - position - 1)
        )
    await governance.aclose()


async def test_rate_limit_stage_allows_the_burst_then_denies_with_retry_after() -> None:
    governance = build_governance(
        GovernanceSettings(), RateLimitSettings(requests_per_second=1, burst_multiplier=3)
    )
    engine = governance.engine
    alice = principal("usr_alice")
    decisions = [await engine.evaluate(context(who=alice)) for _ in range(5)]
    assert [d.decision for d in decisions] == ["allow"] * 3 + ["deny"] * 2
    denied = decisions[3]
    assert (denied.stage, denied.rule) == ("rate_limit", "rate_limit.exceeded")
    assert denied.retry_after_ms is not None and 0 < denied.retry_after_ms <= 1000
    assert denied.reason == (
        "rate limit for tier user exceeded: 1 requests/s with bursts of 3; "
        f"retry in {denied.retry_after_ms} ms"
    )
    assert denied.details == {"tier": "user", "rate_per_second": 1.0, "burst": 3}
    assert [t.result.value for t in denied.trace][-1] == "skip"
    # Buckets are per principal, and the tier multiplier applies (admin: 10x).
    assert (await engine.evaluate(context(who=principal("usr_bob")))).allowed
    admin = principal("usr_root", Tier.ADMIN)
    admin_decisions = [await engine.evaluate(context(who=admin)) for _ in range(31)]
    assert sum(d.allowed for d in admin_decisions) == 30
    await governance.aclose()


async def test_rate_limit_disabled_is_traced_disabled() -> None:
    governance = build_governance(GovernanceSettings(), RateLimitSettings(enabled=False))
    decision = await governance.engine.evaluate(context())
    assert decision.allowed
    assert ("rate_limit", "disabled") in [(t.stage, t.result.value) for t in decision.trace]
    await governance.aclose()


async def test_quota_stage_allows_n_requests_per_window_then_denies() -> None:
    settings = GovernanceSettings.model_validate(
        {
            "quota": {
                "rules": [
                    {"subject": "user", "window": "1h", "limits": {"requests": 3}},
                    {"subject": "api_key", "window": "1d", "limits": {"requests": 2}},
                ]
            }
        }
    )
    governance = build_governance(settings, RateLimitSettings(requests_per_second=1000))
    engine = governance.engine
    alice = principal("usr_alice")
    decisions = [await engine.evaluate(context(who=alice)) for _ in range(4)]
    assert [d.decision for d in decisions] == ["allow", "allow", "allow", "deny"]
    denied = decisions[3]
    assert (denied.stage, denied.rule) == ("quota", "quota.user.requests")
    assert denied.retry_after_ms is not None and 0 < denied.retry_after_ms <= 3_600_000
    assert denied.reason is not None and denied.reason.startswith(
        "user quota of 3 requests per 1h window reached (3 used)"
    )
    assert denied.details["subject_id"] == "usr_alice"
    assert (denied.details["limit"], denied.details["used"]) == (3, 3)
    # Another user has a window of their own; an API key is counted under its own rule.
    bob_key = principal("usr_bob", api_key="key_bob")
    bob = [await engine.evaluate(context(who=bob_key)) for _ in range(3)]
    assert [d.decision for d in bob] == ["allow", "allow", "deny"]
    assert bob[2].rule == "quota.api_key.requests"
    await governance.aclose()


async def test_a_deny_before_the_quota_stage_does_not_use_quota() -> None:
    settings = GovernanceSettings.model_validate(
        {"quota": {"rules": [{"subject": "user", "window": 3600, "limits": {"requests": 2}}]}}
    )
    governance = build_governance(settings, RateLimitSettings(requests_per_second=1000))
    engine = governance.engine
    alice = principal("usr_alice")
    for _ in range(5):
        assert (await engine.evaluate(context(f"key {AWS_KEY}", alice))).stage == "secret_scan"
    assert [(await engine.evaluate(context(who=alice))).decision for _ in range(3)] == [
        "allow",
        "allow",
        "deny",
    ]
    await governance.aclose()
