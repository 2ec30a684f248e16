"""The RE2 plumbing: compiled patterns and the set prefilter."""

from __future__ import annotations

import pytest

from bastion.infra.scanner import PatternError
from bastion.infra.scanner._regex import PatternSet, Regex


def test_spans_report_the_secret_group_or_the_whole_match() -> None:
    assert list(Regex(r"pin=(?P<secret>\d+)").spans("a pin=42 b pin=7")) == [
        (2, 8, 6, 8),
        (11, 16, 15, 16),
    ]
    assert list(Regex(r"x(?P<secret>y)?z").spans(b"xz")) == [(0, 2, 0, 2)]
    assert list(Regex(r"\d+").spans(b"ab 12")) == [(3, 5, 3, 5)]


def test_str_offsets_are_characters_even_after_non_ascii() -> None:
    assert list(Regex(r"\d+").spans("héllo wörld 42")) == [(12, 14, 12, 14)]


def test_set_reports_only_patterns_that_occur() -> None:
    patterns = PatternSet([r"ghp_\w+", r"(?i:password)", r"AKIA[A-Z0-9]+"])
    assert patterns.hits(b"my PASSWORD and ghp_x") == [0, 1]
    assert patterns.hits(b"nothing here") == []
    assert patterns.hits("") == []


def test_set_falls_back_to_every_pattern_when_re2_gives_up() -> None:
    patterns = PatternSet([r"ghp_\w+", r"AKIA[A-Z0-9]+"])

    class GaveUp:
        """RE2::Set reports no match at all when its DFA runs out of memory."""

        def Match(self, text: bytes) -> list[int]:
            return []

    patterns._set = GaveUp()
    assert list(patterns.hits(b"ghp_x")) == [0, 1]


def test_set_rejects_a_pattern_re2_cannot_compile() -> None:
    with pytest.raises(PatternError):
        PatternSet([r"(\w)\1"])
