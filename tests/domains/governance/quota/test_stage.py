from __future__ import annotations

from typing import TYPE_CHECKING

from bastion.domains.governance import QuotaEnforcer, QuotaStage
from bastion.infra.quota import MemoryQuotaStore, QuotaSettings
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.ids import TenantId, TraceId, UserId
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

USER = RequestContext(
    trace_id=TraceId("t"),
    tier=Tier.USER,
    auth_method=AuthMethod.JWT,
    user_id=UserId("usr_1"),
    tenant_id=TenantId("acme"),
)
CONTEXT = PolicyContext(principal=USER, target=PolicyTarget(TargetType.PROMPT, name="claude"))


def stage_for(clock: FakeClock, **raw: object) -> tuple[QuotaStage, QuotaEnforcer]:
    enforcer = QuotaEnforcer(QuotaSettings.model_validate(raw), MemoryQuotaStore(), clock=clock)
    return QuotaStage(enforcer), enforcer


def test_is_a_policy_stage_named_quota(clock: FakeClock) -> None:
    stage, _ = stage_for(clock)
    assert isinstance(stage, PolicyStage)
    assert stage.name == "quota"


async def test_deny_names_the_rule_window_and_limit(clock: FakeClock) -> None:
    stage, enforcer = stage_for(
        clock,
        rules=[
            {
                "name": "team-hourly",
                "subject": "tenant",
                "window": "1h",
                "limits": {"output_tokens": 5000},
            }
        ],
    )
    clock.advance(1800)
    assert (await stage.evaluate(CONTEXT)).verdict is Verdict.ALLOW
    await enforcer.record_usage(USER, input_tokens=10, output_tokens=5200, cost_microdollars=40)

    verdict = await stage.evaluate(CONTEXT)

    assert verdict.verdict is Verdict.DENY
    assert verdict.rule == "quota.tenant.output_tokens"
    assert verdict.reason == (
        "tenant quota of 5000 output tokens per 1h window reached (5200 used); "
        "the window resets in 1800 s"
    )
    assert verdict.retry_after_ms == 1_800_000
    assert verdict.details == {
        "rule_name": "team-hourly",
        "subject": "tenant",
        "subject_id": "acme",
        "window_seconds": 3600,
        "metric": "output_tokens",
        "limit": 5000,
        "used": 5200,
    }


async def test_allows_when_no_rule_applies(clock: FakeClock) -> None:
    stage, _ = stage_for(
        clock, rules=[{"subject": "api_key", "window": 60, "limits": {"requests": 0}}]
    )
    assert (await stage.evaluate(CONTEXT)).verdict is Verdict.ALLOW


async def test_disabled_reports_disabled(clock: FakeClock) -> None:
    stage, _ = stage_for(
        clock, enabled=False, rules=[{"subject": "user", "window": 60, "limits": {"requests": 0}}]
    )
    assert (await stage.evaluate(CONTEXT)).verdict is Verdict.DISABLED
