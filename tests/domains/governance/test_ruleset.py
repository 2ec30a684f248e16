"""The blocklist's RE2 set: the lowest matching rule, the same answer whether a text is
matched whole or in windows (anchors and word boundaries keep their meaning at window
edges, a short match across a window boundary is found)."""

from __future__ import annotations

import pytest

from bastion.domains.governance._ruleset import CHUNK, OVERLAP, RuleSet

STEP = CHUNK - OVERLAP


def test_the_lowest_matching_index_wins_and_groups_cost_nothing() -> None:
    rules = RuleSet([r"zeta", r"(?P<n>beta|gamma)-(\d+)", r"alpha\d+"])
    assert rules.first(b"alpha1 beta-2 zeta") == 0
    assert rules.first(b"alpha1 beta-2") == 1
    assert rules.first(b"alpha1") == 2
    assert rules.first(b"nothing") is None


@pytest.mark.parametrize("at", [STEP - 3, STEP, STEP + OVERLAP - 5, 2 * STEP - 1])
def test_a_short_match_across_a_window_boundary_is_found(at: int) -> None:
    data = b"x" * at + b"forbidden phrase" + b"x" * (3 * CHUNK)
    assert RuleSet([r"forbidden\s+phrase"]).first(data) == 0


@pytest.mark.parametrize(
    "rule",
    [r"\Ax", r"^x", r"x\z", r"x$", r"\bx", r"x\b", r"(?m)^x", r"(?m)x$"],
)
def test_anchors_hold_only_at_the_real_edges_of_a_long_text(rule: str) -> None:
    data = b"y" + b"x" * (3 * CHUNK) + b"y"
    assert RuleSet([rule]).first(data) is None
    assert RuleSet([rule]).first(b"x" * (3 * CHUNK)) == 0
