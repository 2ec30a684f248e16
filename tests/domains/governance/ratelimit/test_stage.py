from __future__ import annotations

from typing import TYPE_CHECKING

from bastion.domains.governance import RateLimitStage
from bastion.infra.ratelimit import MemoryRateLimiter, RateLimitSettings
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.ids import ApiKeyId, TraceId, UserId
from bastion.kernel.policy import (
    PolicyContext,
    PolicyStage,
    PolicyTarget,
    TargetType,
    Verdict,
)
from bastion.kernel.tiers import Tier

if TYPE_CHECKING:
    from conftest import FakeClock

PROMPT = PolicyTarget(TargetType.PROMPT, name="claude")
TOOL = PolicyTarget(TargetType.TOOL, server="github", tool="search")


def ctx(
    tier: Tier = Tier.USER,
    user: str | None = "usr_1",
    api_key: str | None = None,
    target: PolicyTarget = PROMPT,
) -> PolicyContext:
    principal = RequestContext(
        trace_id=TraceId("t"),
        tier=tier,
        auth_method=AuthMethod.ANONYMOUS if tier is Tier.ANONYMOUS else AuthMethod.JWT,
        user_id=UserId(user) if user else None,
        api_key_id=ApiKeyId(api_key) if api_key else None,
    )
    return PolicyContext(principal=principal, target=target)


async def allowed_in_a_row(stage: RateLimitStage, context: PolicyContext) -> int:
    """How many requests at one instant pass before the first deny."""
    count = 0
    while (await stage.evaluate(context)).verdict is Verdict.ALLOW:
        count += 1
        assert count < 10_000
    return count


def test_is_a_policy_stage_named_rate_limit(clock: FakeClock) -> None:
    stage = RateLimitStage(RateLimitSettings(), MemoryRateLimiter(clock_ns=clock))
    assert isinstance(stage, PolicyStage)
    assert stage.name == "rate_limit"


async def test_tier_multipliers_scale_the_burst(clock: FakeClock) -> None:
    settings = RateLimitSettings(requests_per_second=1, burst_multiplier=2)
    stage = RateLimitStage(settings, MemoryRateLimiter(clock_ns=clock))
    bursts = {
        tier.label: await allowed_in_a_row(stage, ctx(tier, user=f"usr_{tier.label}"))
        for tier in Tier
    }
    assert bursts == {
        "anonymous": 1,
        "mcp": 10,
        "a2a": 10,
        "service": 10,
        "user": 2,
        "admin": 20,
    }


async def test_tier_multipliers_scale_the_sustained_rate(clock: FakeClock) -> None:
    settings = RateLimitSettings(requests_per_second=1, burst_multiplier=1)
    stage = RateLimitStage(settings, MemoryRateLimiter(clock_ns=clock))
    user, admin = ctx(Tier.USER, user="u"), ctx(Tier.ADMIN, user="a")
    await allowed_in_a_row(stage, user)
    await allowed_in_a_row(stage, admin)
    clock.advance(0.5)
    assert await allowed_in_a_row(stage, user) == 0
    assert await allowed_in_a_row(stage, admin) == 5


async def test_deny_carries_rule_reason_and_retry_after(clock: FakeClock) -> None:
    settings = RateLimitSettings(requests_per_second=4, burst_multiplier=0.5)
    stage = RateLimitStage(settings, MemoryRateLimiter(clock_ns=clock))
    first = await stage.evaluate(ctx())
    assert first.verdict is Verdict.ALLOW
    assert first.details == {"limit": 2, "remaining": 1, "reset_after_ms": 250}
    await stage.evaluate(ctx())
    clock.advance(0.1)

    verdict = await stage.evaluate(ctx())

    assert verdict.verdict is Verdict.DENY
    assert verdict.rule == "rate_limit.exceeded"
    assert verdict.retry_after_ms == 150
    assert verdict.reason is not None
    assert "tier user" in verdict.reason
    assert "4 requests/s" in verdict.reason
    assert verdict.details == {"tier": "user", "rate_per_second": 4.0, "burst": 2}


async def test_principals_have_separate_buckets(clock: FakeClock) -> None:
    settings = RateLimitSettings(requests_per_second=1, burst_multiplier=1)
    stage = RateLimitStage(settings, MemoryRateLimiter(clock_ns=clock))
    assert await allowed_in_a_row(stage, ctx(user="usr_1")) == 1
    assert await allowed_in_a_row(stage, ctx(user="usr_2")) == 1
    assert await allowed_in_a_row(stage, ctx(user="usr_1", api_key="key_1")) == 1
    assert await allowed_in_a_row(stage, ctx(Tier.ADMIN, user="usr_1")) == 10


async def test_anonymous_callers_share_one_bucket(clock: FakeClock) -> None:
    stage = RateLimitStage(
        RateLimitSettings(requests_per_second=2, burst_multiplier=1),
        MemoryRateLimiter(clock_ns=clock),
    )
    assert (await stage.evaluate(ctx(Tier.ANONYMOUS, user=None))).verdict is Verdict.ALLOW
    assert (await stage.evaluate(ctx(Tier.ANONYMOUS, user=None))).verdict is Verdict.DENY


async def test_target_override_gets_its_own_bucket(clock: FakeClock) -> None:
    settings = RateLimitSettings.model_validate(
        {
            "requests_per_second": 1,
            "burst_multiplier": 2,
            "targets": {"tool": {"requests_per_second": 3}},
        }
    )
    stage = RateLimitStage(settings, MemoryRateLimiter(clock_ns=clock))
    assert await allowed_in_a_row(stage, ctx(target=TOOL)) == 6
    assert await allowed_in_a_row(stage, ctx(target=PROMPT)) == 2
    route = PolicyTarget(TargetType.ROUTE, name="/v1/messages")
    assert await allowed_in_a_row(stage, ctx(target=route)) == 0


async def test_disabled_allows_without_counting(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter(clock_ns=clock)
    stage = RateLimitStage(RateLimitSettings(enabled=False), limiter)
    for _ in range(100):
        assert (await stage.evaluate(ctx())).verdict is Verdict.DISABLED
    assert len(limiter) == 0


async def test_each_agent_has_a_bucket_of_its_own(clock: FakeClock) -> None:
    settings = RateLimitSettings.model_validate(
        {"requests_per_second": 1, "burst_multiplier": 2, "targets": {"agent": {}}}
    )
    stage = RateLimitStage(settings, MemoryRateLimiter(clock_ns=clock))
    helpdesk = PolicyTarget(TargetType.AGENT, name="helpdesk")
    payroll = PolicyTarget(TargetType.AGENT, name="payroll")
    assert await allowed_in_a_row(stage, ctx(target=helpdesk)) == 2
    assert await allowed_in_a_row(stage, ctx(target=payroll)) == 2
    assert await allowed_in_a_row(stage, ctx(target=helpdesk, user="usr_2")) == 2
    assert await allowed_in_a_row(stage, ctx(target=PROMPT)) == 2
