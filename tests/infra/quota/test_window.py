from __future__ import annotations

import pytest
from pydantic import ValidationError

from bastion.infra.quota import QuotaRule, format_window


def rule(window: object) -> QuotaRule:
    return QuotaRule.model_validate(
        {"subject": "user", "window": window, "limits": {"requests": 1}}
    )


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("1h", 3600),
        ("1d", 86400),
        ("30d", 2_592_000),
        ("90s", 90),
        ("15m", 900),
        (" 2 h ", 7200),
        ("3600", 3600),
        (60, 60),
    ],
)
def test_windows_parse_to_seconds(raw: object, seconds: int) -> None:
    assert rule(raw).window == seconds


@pytest.mark.parametrize("raw", ["1w", "h", "1.5h", "-1h", "1 hour", "", 0, -60, "0s"])
def test_malformed_windows_are_rejected(raw: object) -> None:
    with pytest.raises(ValidationError, match="window"):
        rule(raw)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(3600, "1h"), (86400, "1d"), (2_592_000, "30d"), (90, "90s"), (120, "2m"), (5400, "90m")],
)
def test_format_uses_the_largest_whole_unit(seconds: int, text: str) -> None:
    assert format_window(seconds) == text
