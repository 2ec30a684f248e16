"""Enforcement semantics, run on both the in-process and the Redis store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from bastion.domains.governance import QuotaEnforcer
from bastion.infra.quota import (
    QuotaMetric,
    QuotaRule,
    QuotaSettings,
    QuotaStore,
    SubjectType,
    Usage,
)
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.ids import ApiKeyId, TenantId, TraceId, UserId
from bastion.kernel.tiers import Tier

if TYPE_CHECKING:
    from conftest import FakeClock

StoreFactory = Callable[[], QuotaStore]


def principal(
    user: str | None = "usr_1", tenant: str | None = "acme", api_key: str | None = None
) -> RequestContext:
    return RequestContext(
        trace_id=TraceId("t"),
        tier=Tier.USER,
        auth_method=AuthMethod.API_KEY if api_key else AuthMethod.JWT,
        user_id=UserId(user) if user else None,
        tenant_id=TenantId(tenant) if tenant else None,
        api_key_id=ApiKeyId(api_key) if api_key else None,
    )


def enforcer(
    make_store: StoreFactory, clock: FakeClock, *rules: dict[str, object]
) -> tuple[QuotaEnforcer, tuple[QuotaRule, ...]]:
    settings = QuotaSettings.model_validate({"rules": list(rules)})
    return QuotaEnforcer(settings, make_store(), clock=clock), settings.rules


async def admitted(quotas: QuotaEnforcer, who: RequestContext, attempts: int) -> int:
    return sum([await quotas.admit(who) is None for _ in range(attempts)])


async def test_requests_within_the_window_are_counted(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    quotas, (rule,) = enforcer(
        make_store, clock, {"subject": "user", "window": "1h", "limits": {"requests": 3}}
    )
    clock.advance(600)
    assert await admitted(quotas, principal(), 3) == 3

    breach = await quotas.admit(principal())

    assert breach is not None
    assert breach.rule_id == "quota.user.requests"
    assert (breach.metric, breach.limit, breach.used) == (QuotaMetric.REQUESTS, 3, 3)
    assert breach.subject_id == "usr_1"
    assert breach.retry_after_ms == 3000 * 1000
    assert await quotas.usage(principal(), rule) == Usage(requests=3)


async def test_denied_requests_are_not_counted(make_store: StoreFactory, clock: FakeClock) -> None:
    quotas, (rule,) = enforcer(
        make_store, clock, {"subject": "user", "window": "1h", "limits": {"requests": 1}}
    )
    assert await admitted(quotas, principal(), 5) == 1
    assert await quotas.usage(principal(), rule) == Usage(requests=1)


async def test_recorded_usage_denies_the_next_request(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    quotas, (rule,) = enforcer(
        make_store,
        clock,
        {"subject": "user", "window": "1d", "limits": {"output_tokens": 1000}},
    )
    assert await quotas.admit(principal()) is None
    await quotas.record_usage(principal(), input_tokens=50, output_tokens=600, cost_microdollars=9)
    assert await quotas.admit(principal()) is None
    await quotas.record_usage(principal(), input_tokens=50, output_tokens=600, cost_microdollars=9)

    breach = await quotas.admit(principal())

    assert breach is not None
    assert breach.rule_id == "quota.user.output_tokens"
    assert (breach.limit, breach.used) == (1000, 1200)
    assert "1000 output tokens per 1d window" in breach.reason
    assert await quotas.usage(principal(), rule) == Usage(2, 100, 1200, 18)


@pytest.mark.parametrize(
    ("limits", "usage", "metric"),
    [
        ({"input_tokens": 100}, (100, 0, 0), "input_tokens"),
        ({"cost_microdollars": 5_000}, (0, 0, 5_000), "cost_microdollars"),
    ],
)
async def test_each_metric_is_enforced(
    make_store: StoreFactory,
    clock: FakeClock,
    limits: dict[str, int],
    usage: tuple[int, int, int],
    metric: str,
) -> None:
    quotas, _ = enforcer(make_store, clock, {"subject": "user", "window": "1h", "limits": limits})
    await quotas.record_usage(principal(), *usage)
    breach = await quotas.admit(principal())
    assert breach is not None
    assert breach.rule_id == f"quota.user.{metric}"


async def test_usage_below_the_limit_admits(make_store: StoreFactory, clock: FakeClock) -> None:
    quotas, _ = enforcer(
        make_store, clock, {"subject": "user", "window": "1h", "limits": {"input_tokens": 100}}
    )
    await quotas.record_usage(principal(), 99, 0, 0)
    assert await quotas.admit(principal()) is None


async def test_a_zero_limit_denies_everything(make_store: StoreFactory, clock: FakeClock) -> None:
    quotas, _ = enforcer(
        make_store, clock, {"subject": "user", "window": 60, "limits": {"requests": 0}}
    )
    breach = await quotas.admit(principal())
    assert breach is not None
    assert (breach.limit, breach.used) == (0, 0)


async def test_the_window_rolls_over_on_its_epoch_boundary(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    quotas, (rule,) = enforcer(
        make_store,
        clock,
        {"subject": "user", "window": "1h", "limits": {"requests": 2, "output_tokens": 10}},
    )
    clock.advance(3599)
    assert await admitted(quotas, principal(), 3) == 2
    await quotas.record_usage(principal(), 0, 10, 0)
    breach = await quotas.admit(principal())
    assert breach is not None
    assert breach.retry_after_ms == 1000

    clock.advance(1)

    assert await quotas.usage(principal(), rule) == Usage()
    assert await admitted(quotas, principal(), 3) == 2


async def test_retry_after_is_the_time_to_the_window_reset(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    quotas, _ = enforcer(
        make_store, clock, {"subject": "user", "window": "1d", "limits": {"requests": 1}}
    )
    clock.advance(13 * 3600 + 0.25)
    await quotas.admit(principal())
    breach = await quotas.admit(principal())
    assert breach is not None
    assert breach.retry_after_ms == 11 * 3600 * 1000 - 250
    assert "resets in 39600 s" in breach.reason


async def test_users_are_counted_separately(make_store: StoreFactory, clock: FakeClock) -> None:
    quotas, _ = enforcer(
        make_store, clock, {"subject": "user", "window": "1h", "limits": {"requests": 2}}
    )
    assert await admitted(quotas, principal("usr_1"), 3) == 2
    assert await admitted(quotas, principal("usr_2"), 3) == 2


async def test_a_tenant_quota_is_shared_by_its_users(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    quotas, _ = enforcer(
        make_store, clock, {"subject": "tenant", "window": "1h", "limits": {"requests": 3}}
    )
    assert await admitted(quotas, principal("usr_1", "acme"), 2) == 2
    assert await admitted(quotas, principal("usr_2", "acme"), 2) == 1
    assert await admitted(quotas, principal("usr_3", "globex"), 2) == 2
    assert await admitted(quotas, principal("usr_4", tenant=None), 5) == 5


async def test_an_api_key_quota_counts_per_key(make_store: StoreFactory, clock: FakeClock) -> None:
    quotas, _ = enforcer(
        make_store,
        clock,
        {"subject": "api_key", "window": "1h", "limits": {"output_tokens": 100}},
    )
    await quotas.record_usage(principal(api_key="key_a"), 0, 100, 0)
    breach = await quotas.admit(principal(api_key="key_a"))
    assert breach is not None
    assert breach.rule_id == "quota.api_key.output_tokens"
    assert breach.subject_id == "key_a"
    assert await quotas.admit(principal(api_key="key_b")) is None
    assert await quotas.admit(principal()) is None


async def test_subject_quotas_are_isolated_from_each_other(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    quotas, (user_rule, tenant_rule, key_rule) = enforcer(
        make_store,
        clock,
        {"subject": "user", "window": "1h", "limits": {"requests": 100}},
        {"subject": "tenant", "window": "1h", "limits": {"requests": 100}},
        {"subject": "api_key", "window": "1h", "limits": {"requests": 100}},
    )
    await quotas.admit(principal("usr_1", "acme", "key_a"))
    await quotas.admit(principal("usr_1", "acme"))
    await quotas.admit(principal("usr_2", "acme", "key_b"))
    await quotas.record_usage(principal("usr_2", "acme", "key_b"), 1, 2, 3)

    assert await quotas.usage(principal("usr_1"), user_rule) == Usage(requests=2)
    assert await quotas.usage(principal("usr_2"), user_rule) == Usage(1, 1, 2, 3)
    assert await quotas.usage(principal(tenant="acme"), tenant_rule) == Usage(3, 1, 2, 3)
    assert await quotas.usage(principal(api_key="key_a"), key_rule) == Usage(requests=1)
    assert await quotas.usage(principal(api_key="key_b"), key_rule) == Usage(1, 1, 2, 3)
    assert await quotas.usage(principal(), key_rule) == Usage()


async def test_a_named_subject_rule_applies_only_to_that_subject(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    quotas, _ = enforcer(
        make_store,
        clock,
        {"subject": "tenant", "subject_id": "acme", "window": "1h", "limits": {"requests": 1}},
    )
    assert await admitted(quotas, principal(tenant="acme"), 3) == 1
    assert await admitted(quotas, principal(tenant="globex"), 3) == 3


async def test_rules_on_one_window_share_counters_without_double_counting(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    quotas, (everyone, _) = enforcer(
        make_store,
        clock,
        {"subject": "user", "window": "1h", "limits": {"requests": 5}},
        {"subject": "user", "subject_id": "usr_trial", "window": "1h", "limits": {"requests": 2}},
    )
    assert await admitted(quotas, principal("usr_trial"), 5) == 2
    assert await quotas.usage(principal("usr_trial"), everyone) == Usage(requests=2)
    assert await admitted(quotas, principal("usr_paid"), 7) == 5


async def test_the_first_exhausted_rule_is_reported(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    quotas, _ = enforcer(
        make_store,
        clock,
        {"name": "burst", "subject": "user", "window": "1m", "limits": {"requests": 2}},
        {"name": "daily", "subject": "user", "window": "1d", "limits": {"requests": 3}},
    )
    assert await admitted(quotas, principal(), 3) == 2
    minute = await quotas.admit(principal())
    assert minute is not None
    assert (minute.rule.name, minute.retry_after_ms) == ("burst", 60_000)

    clock.advance(60)
    assert await admitted(quotas, principal(), 3) == 1
    day = await quotas.admit(principal())
    assert day is not None
    assert day.rule.name == "daily"
    assert "per 1d window" in day.reason
    assert day.retry_after_ms == (86400 - 60) * 1000


async def test_negative_usage_is_refused(make_store: StoreFactory, clock: FakeClock) -> None:
    quotas, _ = enforcer(
        make_store, clock, {"subject": "user", "window": "1h", "limits": {"input_tokens": 10}}
    )
    with pytest.raises(ValueError, match="negative"):
        await quotas.record_usage(principal(), -5, 0, 0)


async def test_disabled_quotas_admit_and_record_nothing(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    settings = QuotaSettings.model_validate(
        {"enabled": False, "rules": [{"subject": "user", "window": 60, "limits": {"requests": 0}}]}
    )
    quotas = QuotaEnforcer(settings, make_store(), clock=clock)
    assert not quotas.enabled
    assert await quotas.admit(principal()) is None
    await quotas.record_usage(principal(), 1, 1, 1)
    assert await quotas.usage(principal(), settings.rules[0]) == Usage()


async def test_concurrent_admissions_never_exceed_the_limit(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    settings = QuotaSettings.model_validate(
        {"rules": [{"subject": "user", "window": "1h", "limits": {"requests": 50}}]}
    )
    replicas = [QuotaEnforcer(settings, make_store(), clock=clock) for _ in range(2)]
    results = await asyncio.gather(*(replicas[i % 2].admit(principal()) for i in range(200)))
    assert sum(result is None for result in results) == 50
    assert await replicas[0].usage(principal(), settings.rules[0]) == Usage(requests=50)


async def test_standing_reads_each_rule_window_for_one_subject(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    quotas, (hourly, keyed, other) = enforcer(
        make_store,
        clock,
        {"name": "hourly", "subject": "user", "window": "1h", "limits": {"requests": 5}},
        {"subject": "api_key", "window": "1d", "limits": {"output_tokens": 100}},
        {"subject": "user", "subject_id": "usr_2", "window": "1h", "limits": {"requests": 1}},
    )
    clock.advance(600)
    who = principal(api_key="key_1")
    assert await admitted(quotas, who, 2) == 2
    await quotas.record_usage(who, 10, 7, 3)

    [mine] = await quotas.standing(SubjectType.USER, "usr_1")
    assert (mine.rule, mine.subject_id, mine.used) == (hourly, "usr_1", Usage(2, 10, 7, 3))
    assert mine.resets_at.timestamp() == (clock() // 3600 + 1) * 3600
    assert mine.as_dict()["limits"] == {"requests": {"limit": 5, "used": 2, "remaining": 3}}
    [key] = await quotas.standing(SubjectType.API_KEY, "key_1")
    assert key.rule == keyed
    assert key.as_dict()["limits"] == {"output_tokens": {"limit": 100, "used": 7, "remaining": 93}}
    # A rule on every user counts usr_2 too, in its own counters.
    everyone, theirs = await quotas.standing(SubjectType.USER, "usr_2")
    assert (everyone.rule, everyone.used) == (hourly, Usage())
    assert (theirs.rule, theirs.used) == (other, Usage())
    assert await quotas.standing(SubjectType.TENANT, "acme") == []
    assert quotas.rules == (hourly, keyed, other)
