"""Profile settings: extra patterns, allowlists, disabled patterns, validation."""

from __future__ import annotations

import time

import pydantic
import pytest

from bastion.infra.scanner import (
    Confidence,
    FindingSource,
    PatternError,
    ScannerSettings,
    SecretScanner,
)

GITHUB_TOKEN = "gh" + "p_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"


def build(**settings: object) -> SecretScanner:
    return SecretScanner(ScannerSettings.model_validate(settings))


def test_extra_pattern_is_reported_as_custom() -> None:
    scanner = build(
        extra_patterns=[
            {"id": "acme-token", "regex": r"acme_[a-z0-9]{24}", "keep": 5, "confidence": "medium"}
        ]
    )
    text = "use acme_" + "k3j5h7g9f1d2s4a6q8w0e2r4 now"
    [finding] = scanner.scan_text(text)
    assert (finding.pattern_id, finding.source, finding.confidence) == (
        "acme-token",
        FindingSource.CUSTOM,
        Confidence.MEDIUM,
    )
    assert finding.redacted == "acme_[REDACTED:acme-token]"
    assert "acme-token" in scanner.pattern_ids()


def test_extra_pattern_secret_group_marks_the_credential() -> None:
    scanner = build(extra_patterns=[{"id": "acme-pin", "regex": r"PIN: (?P<secret>\d{6})"}])
    text = "Your PIN: 482915 expires soon"
    [finding] = scanner.scan_text(text)
    assert text[finding.start : finding.end] == "482915"


def test_extra_patterns_apply_to_json_leaves_and_keys() -> None:
    scanner = build(extra_patterns=[{"id": "acme-pin", "regex": r"PIN-\d{6}"}])
    findings = scanner.scan_json({"a": ["x", "PIN-482915"], "PIN-730291": 1, "b": "PIN-12"})
    assert [(f.path, f.in_key) for f in findings] == [
        ("$.a[1]", False),
        ('$["[REDACTED:acme-pin]"]', True),
    ]


def test_extra_pattern_does_not_match_across_json_leaves() -> None:
    scanner = build(extra_patterns=[{"id": "acme-pair", "regex": r"left.right"}])
    assert scanner.scan_json(["left", "right"]) == []
    assert len(scanner.scan_json(["left right"])) == 1


def test_redos_shaped_extra_pattern_runs_in_linear_time() -> None:
    scanner = build(extra_patterns=[{"id": "redos", "regex": r"(a+)+$"}])
    text = "a" * 50_000 + "b"
    started = time.perf_counter()
    findings = scanner.scan_text(text)
    elapsed = time.perf_counter() - started
    # A backtracking engine needs on the order of 2**50000 steps here.
    assert elapsed < 0.5
    assert [f.pattern_id for f in findings] == []


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"acme_(", "does not compile under RE2"),
        (r"(\w+)\1", "does not compile under RE2"),
        (r"(?<=x)acme", "does not compile under RE2"),
        (r"(?P<key>acme)_(?P<secret>\d+)", "only a group named 'secret'"),
        (r"a*", "matches the empty string"),
    ],
)
def test_unusable_extra_pattern_fails_validation_naming_the_key(pattern: str, reason: str) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        ScannerSettings.model_validate({"extra_patterns": [{"id": "acme", "regex": pattern}]})
    error = caught.value.errors()[0]
    assert error["loc"] == ("extra_patterns", 0, "regex")
    assert reason in error["msg"]


def test_pattern_error_is_a_scanner_error_and_a_value_error() -> None:
    from bastion.infra.scanner import ScannerError
    from bastion.infra.scanner._regex import Regex

    with pytest.raises(PatternError) as caught:
        Regex("(")
    assert isinstance(caught.value, ScannerError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.pattern == "("


@pytest.mark.parametrize(
    "settings",
    [
        {"extra_patterns": [{"id": "github-pat", "regex": "x+y"}]},
        {"extra_patterns": [{"id": "a1", "regex": "x+y"}, {"id": "a1", "regex": "z+"}]},
        {"extra_patterns": [{"id": "Bad Id", "regex": "x+y"}]},
        {"disabled_patterns": ["no-such-pattern"]},
        {"allowlist_regexes": ["("]},
        {"entropy": {"min_length": 64, "max_length": 32}},
        {"unknown_key": True},
    ],
)
def test_invalid_settings_are_rejected(settings: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        ScannerSettings.model_validate(settings)


def test_disabled_patterns_are_not_reported() -> None:
    text = "password='Hunter2!x' and value Zq8XbP2mR7tY4wK9vN3sL6hJ1gF5dC0aQw2Ex9Y"
    assert len(build().scan_text(text)) == 2
    scanner = build(disabled_patterns=["generic-password", "high-entropy-string"])
    assert scanner.scan_text(text) == []
    assert "generic-password" not in scanner.pattern_ids()
    assert "high-entropy-string" not in scanner.pattern_ids()


def test_allowlisted_literal_is_dropped() -> None:
    scanner = build(allowlist=[GITHUB_TOKEN])
    assert scanner.scan_text(f"token {GITHUB_TOKEN}") == []
    other = "gh" + "p_" + "Zq8XbP2mR7tY4wK9vN3sL6hJ1gF5dC0aQw2E"
    assert len(scanner.scan_text(f"token {other}")) == 1


def test_allowlist_regex_sees_the_secret_and_its_context() -> None:
    scanner = build(allowlist_regexes=[r"^sk_test_", r"@localhost\b"])
    test_key = "sk" + "_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
    live_key = "sk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    assert scanner.scan_text(test_key) == []
    assert len(scanner.scan_text(live_key)) == 1
    credentials = "postgres://app:" + "Zx81kqP0w"
    assert scanner.scan_text(credentials + "@localhost/app") == []
    assert len(scanner.scan_text(credentials + "@db.internal/app")) == 1


def test_allowlist_applies_to_json_member_context() -> None:
    scanner = build(allowlist=["Hunter2!x"])
    assert scanner.scan_json({"password": "Hunter2!x"}) == []


def test_settings_are_frozen_and_embeddable() -> None:
    settings = ScannerSettings.model_validate(
        {"extra_patterns": [{"id": "acme", "regex": "acme_[0-9]+"}], "allowlist": ["x"]}
    )
    with pytest.raises(pydantic.ValidationError):
        settings.allowlist = frozenset()  # type: ignore[misc]
    assert ScannerSettings.model_validate(settings.model_dump()) == settings
    assert SecretScanner(settings).settings is settings
