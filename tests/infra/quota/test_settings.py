from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from bastion.infra.quota import QuotaLimits, QuotaRule, QuotaSettings, SubjectType


def test_parses_a_profile_block() -> None:
    settings = QuotaSettings.model_validate(
        {
            "backend": "redis",
            "redis_url": "redis://cache:6379/1",
            "rules": [
                {"subject": "user", "window": "1d", "limits": {"requests": 1000}},
                {
                    "name": "acme-monthly-spend",
                    "subject": "tenant",
                    "subject_id": "acme",
                    "window": "30d",
                    "limits": {"cost_microdollars": 500_000_000, "output_tokens": 10_000_000},
                },
            ],
        }
    )
    user, tenant = settings.rules
    assert (user.subject, user.subject_id, user.window) == (SubjectType.USER, "*", 86400)
    assert user.limits.as_tuple() == (1000, -1, -1, -1)
    assert (tenant.name, tenant.subject_id, tenant.window) == (
        "acme-monthly-spend",
        "acme",
        2_592_000,
    )
    assert tenant.limits.as_tuple() == (-1, -1, 10_000_000, 500_000_000)


def test_defaults_enforce_nothing() -> None:
    settings = QuotaSettings()
    assert settings.enabled
    assert settings.backend == "memory"
    assert settings.rules == ()


@pytest.mark.parametrize(
    "raw",
    [
        {"backend": "redis"},
        {"rules": [{"subject": "user", "window": "1h", "limits": {}}]},
        {"rules": [{"subject": "user", "window": "1h", "limits": {"requests": -1}}]},
        {"rules": [{"subject": "user", "window": "1h", "limits": {"tokens": 5}}]},
        {"rules": [{"subject": "team", "window": "1h", "limits": {"requests": 5}}]},
        {"rules": [{"subject": "user", "limits": {"requests": 5}}]},
        {"rules": [{"subject": "user", "subject_id": "", "window": 60, "limits": {"requests": 1}}]},
        {"quota": []},
    ],
)
def test_rejects_invalid_profiles(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        QuotaSettings.model_validate(raw)


def test_a_zero_limit_is_allowed() -> None:
    assert QuotaLimits(requests=0).as_tuple() == (0, -1, -1, -1)


@pytest.mark.parametrize("model", [QuotaSettings, QuotaRule, QuotaLimits])
def test_every_field_is_documented(model: type[BaseModel]) -> None:
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"
