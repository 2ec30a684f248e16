from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from bastion.infra.ratelimit import RateLimitSettings, TargetRateLimit, TierMultipliers
from bastion.kernel.policy import TargetType
from bastion.kernel.tiers import Tier


def test_defaults_apply_the_tier_table() -> None:
    settings = RateLimitSettings()
    assert settings.enabled
    assert settings.backend == "memory"
    assert {tier.label: settings.limit_for(tier) for tier in Tier} == {
        "admin": (100.0, 300),
        "user": (10.0, 30),
        "service": (50.0, 150),
        "a2a": (50.0, 150),
        "mcp": (50.0, 150),
        "anonymous": (5.0, 15),
    }


def test_a_partial_tier_override_keeps_the_other_defaults() -> None:
    settings = RateLimitSettings.model_validate(
        {"requests_per_second": 2, "tier_multipliers": {"user": 3}}
    )
    assert settings.limit_for(Tier.USER) == (6.0, 18)
    assert settings.limit_for(Tier.ADMIN) == (20.0, 60)


def test_burst_rounds_to_nearest_and_is_at_least_one() -> None:
    assert RateLimitSettings(requests_per_second=0.1, burst_multiplier=1).limit_for(Tier.USER) == (
        0.1,
        1,
    )
    assert RateLimitSettings(requests_per_second=1, burst_multiplier=2.5).limit_for(
        Tier.ANONYMOUS
    ) == (0.5, 1)
    assert RateLimitSettings(requests_per_second=0.3, burst_multiplier=10).limit_for(Tier.USER) == (
        0.3,
        3,
    )


def test_target_overrides_replace_only_what_they_name() -> None:
    settings = RateLimitSettings.model_validate(
        {"targets": {"tool": {"requests_per_second": 1}, "prompt": {"burst_multiplier": 1}}}
    )
    assert settings.limit_for(Tier.USER, TargetType.TOOL) == (1.0, 3)
    assert settings.limit_for(Tier.ADMIN, TargetType.TOOL) == (10.0, 30)
    assert settings.limit_for(Tier.USER, TargetType.PROMPT) == (10.0, 10)
    assert settings.limit_for(Tier.USER, TargetType.ROUTE) == (10.0, 30)


@pytest.mark.parametrize(
    "raw",
    [
        {"tier_multipliers": {"superuser": 2}},
        {"tier_multipliers": {"user": 0}},
        {"requests_per_second": 0},
        {"burst_multiplier": -1},
        {"rate": 5},
        {"backend": "memcached"},
        {"backend": "redis"},
        {"targets": {"websocket": {}}},
    ],
)
def test_rejects_invalid_profiles(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RateLimitSettings.model_validate(raw)


def test_redis_backend_with_url_is_accepted() -> None:
    settings = RateLimitSettings.model_validate(
        {"backend": "redis", "redis_url": "redis://cache:6379/0"}
    )
    assert settings.redis_url == "redis://cache:6379/0"


@pytest.mark.parametrize("model", [RateLimitSettings, TierMultipliers, TargetRateLimit])
def test_every_field_is_documented(model: type[BaseModel]) -> None:
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"
