"""The ``blocklist`` stage: tool globs (``tool`` and ``server/tool``), literal and RE2
content rules per target type, exempt tiers, and linear-time evaluation of
ReDoS-shaped admin regexes."""

from __future__ import annotations

import time
from typing import Any

import pytest
import re2

from bastion.domains.governance import (
    BlocklistSettings,
    GovernanceConfigError,
    GovernanceSettings,
    build_governance,
)
from bastion.domains.governance._blocklist import BlocklistStage
from bastion.infra.ratelimit import RateLimitSettings
from bastion.kernel.context import RequestContext
from bastion.kernel.policy import PolicyContext, PolicyTarget, StageVerdict, TargetType, Verdict
from bastion.kernel.tiers import Tier
from tests.support.principals import jwt_principal

PROMPT = PolicyTarget(TargetType.PROMPT)


def principal(tier: Tier = Tier.USER) -> RequestContext:
    return jwt_principal(tier, trace="trace-blocklist")


def stage(**settings: Any) -> BlocklistStage:
    return BlocklistStage(BlocklistSettings.model_validate(settings))


def tool(name: str, server: str | None = None) -> PolicyTarget:
    return PolicyTarget(TargetType.TOOL, server=server, tool=name)


async def check(
    s: BlocklistStage,
    target: PolicyTarget,
    data: object = None,
    tier: Tier = Tier.USER,
) -> StageVerdict:
    return s.evaluate(PolicyContext(principal(tier), target, data))


def denied(verdict: StageVerdict) -> tuple[str | None, str | None]:
    assert verdict.verdict is Verdict.DENY, verdict
    return verdict.rule, verdict.reason


# Tool globs


async def test_tool_glob_on_the_tool_name() -> None:
    s = stage(tools=[{"id": "no-shell", "pattern": "Bash*", "reason": "shell is off"}])
    assert denied(await check(s, tool("Bash"))) == ("blocklist.no-shell", "shell is off")
    assert denied(await check(s, tool("BashOutput"))) == ("blocklist.no-shell", "shell is off")
    # The tool name alone also matches a tool on a server.
    assert denied(await check(s, tool("Bash", server="remote")))[0] == "blocklist.no-shell"
    assert (await check(s, tool("Read"))).verdict is Verdict.ALLOW
    # Globs match the whole name, not a substring.
    assert (await check(s, tool("RunBash"))).verdict is Verdict.ALLOW


async def test_tool_glob_on_server_slash_tool() -> None:
    s = stage(tools=[{"id": "fs-writes", "pattern": "filesystem/write_*"}])
    assert denied(await check(s, tool("write_file", server="filesystem"))) == (
        "blocklist.fs-writes",
        "tool is blocklisted",
    )
    assert (await check(s, tool("read_file", server="filesystem"))).verdict is Verdict.ALLOW
    assert (await check(s, tool("write_file", server="notes"))).verdict is Verdict.ALLOW
    assert (await check(s, tool("write_file"))).verdict is Verdict.ALLOW


async def test_first_matching_tool_rule_is_reported() -> None:
    s = stage(
        tools=[
            {"id": "deletes", "pattern": "*/delete_*", "reason": "no deletes"},
            {"id": "github", "pattern": "github/*", "reason": "no github"},
        ]
    )
    assert denied(await check(s, tool("delete_repo", server="github"))) == (
        "blocklist.deletes",
        "no deletes",
    )
    assert denied(await check(s, tool("create_issue", server="github"))) == (
        "blocklist.github",
        "no github",
    )


async def test_configuration_order_decides_between_the_two_names_of_a_tool() -> None:
    # The later rule matches the bare tool name, the earlier one only server/tool: the
    # earlier rule is still the one reported, whichever name is tried first.
    s = stage(
        tools=[
            {"id": "on-github", "pattern": "github/*"},
            {"id": "any-create", "pattern": "create_*"},
            {"id": "everything", "pattern": "*"},
        ]
    )
    assert denied(await check(s, tool("create_issue", server="github")))[0] == (
        "blocklist.on-github"
    )
    assert denied(await check(s, tool("create_issue")))[0] == "blocklist.any-create"
    assert denied(await check(s, tool("list", server="gitlab")))[0] == "blocklist.everything"


async def test_remembered_tool_answers_stay_per_server_and_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bastion.domains.governance._blocklist._MEMO_SIZE", 8)
    s = stage(tools=[{"id": "on-github", "pattern": "github/delete_*"}])
    for round_ in range(3):
        # The same tool name on another server, or on none, is its own answer.
        assert denied(await check(s, tool("delete_repo", server="github")))[0] == (
            "blocklist.on-github"
        )
        assert (await check(s, tool("delete_repo", server="gitlab"))).verdict is Verdict.ALLOW
        assert (await check(s, tool("delete_repo"))).verdict is Verdict.ALLOW
        # Many distinct tools overflow the memo, which starts over: answers do not change.
        for n in range(20):
            assert (await check(s, tool(f"t{round_}_{n}", server="x"))).verdict is Verdict.ALLOW
            assert denied(await check(s, tool(f"delete_{n}", server="github")))[0] == (
                "blocklist.on-github"
            )
    rules = s._tools[Tier.USER]
    assert rules is not None and len(rules._memo) <= 8


async def test_tool_rules_do_not_apply_to_other_targets() -> None:
    s = stage(tools=[{"id": "all", "pattern": "*"}])
    assert (await check(s, PROMPT, "Bash")).verdict is Verdict.ALLOW
    assert (await check(s, PolicyTarget(TargetType.ROUTE, name="Bash"))).verdict is Verdict.ALLOW
    assert denied(await check(s, tool("Read")))[0] == "blocklist.all"


async def test_tool_rule_exempt_tiers() -> None:
    s = stage(tools=[{"id": "ops", "pattern": "kubectl_*", "exempt_tiers": ["admin", "service"]}])
    assert denied(await check(s, tool("kubectl_apply")))[0] == "blocklist.ops"
    assert denied(await check(s, tool("kubectl_apply"), tier=Tier.MCP))[0] == "blocklist.ops"
    for tier in (Tier.ADMIN, Tier.SERVICE):
        assert (await check(s, tool("kubectl_apply"), tier=tier)).verdict is Verdict.ALLOW


# Content rules


async def test_literal_rule_is_case_insensitive_and_per_target() -> None:
    s = stage(
        content=[
            {
                "id": "codename",
                "literal": "Project Nightjar",
                "targets": ["prompt"],
                "reason": "internal codename",
            }
        ]
    )
    assert denied(await check(s, PROMPT, "tell me about PROJECT nightjar please")) == (
        "blocklist.codename",
        "internal codename",
    )
    assert (await check(s, PROMPT, "tell me about project nightingale")).verdict is Verdict.ALLOW
    # Not a rule for tool arguments.
    args = {"query": "project nightjar"}
    assert (await check(s, tool("search"), args)).verdict is Verdict.ALLOW


async def test_content_rules_see_every_string_leaf_of_tool_arguments() -> None:
    s = stage(content=[{"id": "etc-shadow", "literal": "/etc/shadow", "targets": ["tool"]}])
    nested = {"paths": ["/tmp/a", {"source": "/ETC/shadow"}], "n": 3, "flag": True}
    assert denied(await check(s, tool("read_files"), nested)) == (
        "blocklist.etc-shadow",
        "content is blocklisted",
    )
    # Object keys are strings too.
    assert denied(await check(s, tool("x"), {"/etc/shadow": 1}))[0] == "blocklist.etc-shadow"
    assert (await check(s, tool("read_files"), {"paths": ["/etc/hosts"]})).verdict is (
        Verdict.ALLOW
    )
    assert (await check(s, tool("read_files"))).verdict is Verdict.ALLOW


async def test_regex_rule_per_target() -> None:
    s = stage(
        content=[
            {
                "id": "drop-table",
                "regex": r"(?i)\bdrop\s+table\b",
                "targets": ["tool"],
                "reason": "destructive SQL",
            },
            {"id": "ssn", "regex": r"\b\d{3}-\d{2}-\d{4}\b", "targets": ["prompt", "route"]},
        ]
    )
    sql = {"sql": "SELECT 1; DROP   TABLE users;"}
    assert denied(await check(s, tool("query", server="db"), sql)) == (
        "blocklist.drop-table",
        "destructive SQL",
    )
    assert (await check(s, PROMPT, "DROP TABLE users")).verdict is Verdict.ALLOW
    assert (await check(s, tool("query"), {"sql": "SELECT * FROM droptables"})).verdict is (
        Verdict.ALLOW
    )
    assert denied(await check(s, PROMPT, "my ssn is 078-05-1120"))[0] == "blocklist.ssn"
    route = PolicyTarget(TargetType.ROUTE, name="claude")
    assert denied(await check(s, route, {"messages": [{"content": "078-05-1120"}]}))[0] == (
        "blocklist.ssn"
    )
    assert (await check(s, tool("x"), "078-05-1120")).verdict is Verdict.ALLOW


async def test_the_matching_regex_rule_is_the_one_reported() -> None:
    rules = [
        {"id": f"r{i}", "regex": regex, "reason": f"reason {i}"}
        for i, regex in enumerate([r"alpha\d+", r"(beta|gamma)-(?P<n>\d+)", r"delta$"])
    ]
    s = stage(content=rules)
    assert denied(await check(s, PROMPT, "x gamma-42 y")) == ("blocklist.r1", "reason 1")
    assert denied(await check(s, PROMPT, "ends with delta")) == ("blocklist.r2", "reason 2")
    assert denied(await check(s, PROMPT, "alpha7")) == ("blocklist.r0", "reason 0")
    assert (await check(s, PROMPT, "delta is not last")).verdict is Verdict.ALLOW


async def test_literals_and_regexes_together() -> None:
    s = stage(
        content=[
            {"id": "lit", "literal": "forbidden"},
            {"id": "re", "regex": r"rm\s+-rf\s+/"},
        ]
    )
    assert denied(await check(s, PROMPT, "run rm -rf / now"))[0] == "blocklist.re"
    assert denied(await check(s, PROMPT, "FORBIDDEN"))[0] == "blocklist.lit"
    assert (await check(s, PROMPT, "rm -rf ./build")).verdict is Verdict.ALLOW


async def test_content_rule_exempt_tiers() -> None:
    s = stage(
        content=[
            {"id": "lit", "literal": "sudo", "exempt_tiers": ["admin"]},
            {"id": "re", "regex": r"chmod\s+777", "exempt_tiers": ["admin", "service"]},
        ]
    )
    assert denied(await check(s, PROMPT, "sudo ls"))[0] == "blocklist.lit"
    assert (await check(s, PROMPT, "sudo ls", tier=Tier.ADMIN)).verdict is Verdict.ALLOW
    assert denied(await check(s, PROMPT, "sudo ls", tier=Tier.SERVICE))[0] == "blocklist.lit"
    assert denied(await check(s, PROMPT, "chmod 777 x"))[0] == "blocklist.re"
    assert (await check(s, PROMPT, "chmod 777 x", tier=Tier.SERVICE)).verdict is Verdict.ALLOW


async def test_no_rules_allows_everything() -> None:
    s = stage()
    assert (await check(s, PROMPT, "anything at all")).verdict is Verdict.ALLOW
    assert (await check(s, tool("Bash"), {"command": "rm -rf /"})).verdict is Verdict.ALLOW


def test_content_rule_needs_exactly_one_matcher() -> None:
    with pytest.raises(ValueError, match="exactly one of literal or regex"):
        BlocklistSettings.model_validate({"content": [{"id": "x"}]})
    with pytest.raises(ValueError, match="exactly one of literal or regex"):
        BlocklistSettings.model_validate({"content": [{"id": "x", "literal": "a", "regex": "a"}]})


# RE2: linear time, no backreferences

REDOS = [r"(a+)+$", r"(a|aa)+$", r"(x+x+)+y"]


def _worst_case(regex: str, size: int) -> str:
    # A long run of the repeated character with a tail that makes the match fail:
    # exponential for a backtracking engine, one pass for RE2.
    char = "x" if regex.startswith("(x") else "a"
    return char * size + "!"


@pytest.mark.parametrize("regex", REDOS)
async def test_redos_shaped_rule_runs_in_linear_time(regex: str) -> None:
    s = stage(content=[{"id": "redos", "regex": regex, "targets": ["prompt"]}])
    timings = {}
    for size in (50_000, 100_000):
        text = _worst_case(regex, size)
        context = PolicyContext(principal(), PROMPT, text)
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            verdict = s.evaluate(context)
            best = min(best, time.perf_counter() - started)
            assert verdict.verdict is Verdict.ALLOW
        timings[size] = best
    assert timings[50_000] < 0.05, timings
    assert timings[100_000] < 0.05, timings
    # Linear: twice the input, about twice the time (quadratic would be 4x). Tiny times
    # are noisy, so the ratio is taken with a 1 ms floor on the smaller one.
    assert timings[100_000] / max(timings[50_000], 0.001) < 3.0, timings
    # And the rule still matches what it should.
    matching = "a" * 50_000 if "y" not in regex else "x" * 50_000 + "y"
    assert s.evaluate(PolicyContext(principal(), PROMPT, matching)).rule == ("blocklist.redos")


async def test_redos_shaped_rule_over_json_leaves_runs_in_linear_time() -> None:
    s = stage(content=[{"id": "redos", "regex": r"(a|aa)+$", "targets": ["tool"]}])
    timings = {}
    for size in (50_000, 100_000):
        args = {"chunks": ["a" * (size // 10) + "!" for _ in range(10)]}
        context = PolicyContext(principal(), tool("write"), args)
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            assert s.evaluate(context).verdict is Verdict.ALLOW
            best = min(best, time.perf_counter() - started)
        timings[size] = best
    assert max(timings.values()) < 0.05, timings
    assert timings[100_000] / max(timings[50_000], 0.001) < 3.0, timings


@pytest.mark.parametrize(
    "regex", [r"(a)\1", r"(?P<word>\w+) (?P=word)", r"foo(?=bar)", r"(?<!x)y", r"[unclosed"]
)
def test_regex_outside_re2_fails_the_build_naming_the_rule(regex: str) -> None:
    settings = GovernanceSettings.model_validate(
        {
            "blocklist": {
                "content": [
                    {"id": "fine", "regex": r"ok\d+"},
                    {"id": "bad-rule", "regex": regex},
                ]
            }
        }
    )
    with pytest.raises(GovernanceConfigError) as caught:
        build_governance(settings, RateLimitSettings())
    message = str(caught.value)
    assert message.startswith("governance.blocklist.content rule 'bad-rule': invalid RE2 regex")
    assert "\n" not in message


def test_invalid_regex_fails_even_when_the_rule_binds_no_tier() -> None:
    every_tier = ["admin", "user", "service", "a2a", "mcp", "anonymous"]
    settings = BlocklistSettings.model_validate(
        {"content": [{"id": "dormant", "regex": r"(a)\1", "exempt_tiers": every_tier}]}
    )
    with pytest.raises(GovernanceConfigError, match="rule 'dormant'"):
        BlocklistStage(settings)


def test_a_content_rule_needs_a_target() -> None:
    with pytest.raises(ValueError, match="at least 1 item"):
        BlocklistSettings.model_validate(
            {"content": [{"id": "inert", "literal": "x", "targets": []}]}
        )


# The one-pass check over all strings joined must decide exactly like string by string.

JOINED_CASES = [
    # (regex, tool arguments, rule that must fire or None)
    (r"^DROP TABLE", {"sql": "select 1", "next": "DROP TABLE users"}, "anchored"),
    (r"users;$", {"sql": "DROP TABLE users;", "then": "x"}, "anchored"),
    (r"\bsecret\b", {"a": "x", "b": "secret"}, "anchored"),
    (r"foo\s+bar", {"a": "foo", "b": "bar"}, None),  # only across two strings
    (r"end.start", {"a": "the end", "b": "start here"}, None),
    (r"\Aexact\z", {"a": "not it", "b": "exact"}, "anchored"),  # checked string by string
    (r"(?-m:^only$)", {"a": "x", "b": "only"}, "anchored"),
    (r"(?-m:^only$)", {"a": "x\nonly"}, None),
]


@pytest.mark.parametrize(("regex", "args", "fires"), JOINED_CASES)
async def test_joined_pass_decides_like_each_string(
    regex: str, args: dict[str, str], fires: str | None
) -> None:
    s = stage(content=[{"id": "anchored", "regex": regex, "targets": ["tool"]}])
    verdict = await check(s, tool("query"), args)
    if fires is None:
        assert verdict.verdict is Verdict.ALLOW
    else:
        assert denied(verdict)[0] == f"blocklist.{fires}"
    for text in args.values():
        alone = await check(s, tool("query"), text)
        assert (alone.verdict is Verdict.DENY) == (re2.search(regex, text) is not None)


async def test_literal_split_across_two_strings_is_not_a_match() -> None:
    s = stage(content=[{"id": "codename", "literal": "project\nnightjar", "targets": ["tool"]}])
    allowed = await check(s, tool("note"), {"a": "project", "b": "nightjar"})
    assert allowed.verdict is Verdict.ALLOW
    assert denied(await check(s, tool("note"), {"a": "x", "b": "Project\nNightjar"}))[0] == (
        "blocklist.codename"
    )
