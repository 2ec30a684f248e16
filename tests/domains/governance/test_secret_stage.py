"""The ``secret_scan`` stage: a credential in a prompt or anywhere in tool arguments
denies, with the pattern id, the JSON path and a redacted preview; never the secret.

Every secret is a look-alike generated at test time from a seeded random source."""

from __future__ import annotations

import random
import string
from typing import Any

import pytest

from bastion.domains.governance import SecretScanSettings
from bastion.domains.governance._secret_stage import SecretScanStage
from bastion.infra.scanner import ScannerSettings, SecretScanner
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.ids import TraceId, UserId
from bastion.kernel.policy import PolicyContext, PolicyTarget, StageVerdict, TargetType, Verdict
from bastion.kernel.tiers import Tier

RNG = random.Random(20240603)
ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits


def _chars(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


AWS_KEY = "AK" + "IA" + _chars(UPPER, 16)
GITHUB_TOKEN = "gh" + "p_" + _chars(ALNUM, 36)
RANDOM_TOKEN = _chars(ALNUM, 40)  # no vendor prefix: only the entropy check sees it
PASSWORD = "Tr0ub4dor&" + _chars(ALNUM, 6)

PROMPT = PolicyTarget(TargetType.PROMPT)
TOOL = PolicyTarget(TargetType.TOOL, server="github", tool="create_issue")
SCANNER = SecretScanner()


def stage(min_confidence: str = "low", scanner: SecretScanner = SCANNER) -> SecretScanStage:
    return SecretScanStage(
        SecretScanSettings.model_validate({"min_confidence": min_confidence}), scanner
    )


async def check(s: SecretScanStage, target: PolicyTarget, data: object) -> StageVerdict:
    who = RequestContext(
        trace_id=TraceId("trace-secret"),
        tier=Tier.USER,
        auth_method=AuthMethod.JWT,
        user_id=UserId("usr_alice"),
    )
    return s.evaluate(PolicyContext(who, target, data))


def findings(verdict: StageVerdict) -> list[dict[str, Any]]:
    reported = verdict.details["findings"]
    assert isinstance(reported, list)
    return reported


def assert_no_raw_secret(verdict: StageVerdict, *secrets: str) -> None:
    dumped = repr(verdict)
    for secret in secrets:
        assert secret not in dumped
        # Not even a recognisable tail of it.
        assert secret[-12:] not in dumped


async def test_aws_key_in_a_prompt_is_denied_with_a_redacted_preview() -> None:
    verdict = await check(stage(), PROMPT, f"deploy with {AWS_KEY} to eu-west-1 please")
    assert verdict.verdict is Verdict.DENY
    assert verdict.rule == "secret.aws-access-key-id"
    assert verdict.reason == "input contains a secret (aws-access-key-id)"
    assert dict(verdict.details) == {
        "findings": [
            {
                "pattern_id": "aws-access-key-id",
                "path": None,
                "redacted": "AKIA[REDACTED:aws-access-key-id]",
            }
        ],
        "finding_count": 1,
    }
    assert_no_raw_secret(verdict, AWS_KEY)


async def test_github_token_nested_in_tool_arguments_reports_its_json_path() -> None:
    args = {
        "repo": "acme/web",
        "title": "Fix login",
        "config": {"headers": [{"accept": "json"}, {"authorization": f"token {GITHUB_TOKEN}"}]},
    }
    verdict = await check(stage(), TOOL, args)
    assert verdict.verdict is Verdict.DENY
    assert verdict.rule == "secret.github-pat"
    assert verdict.reason == (
        "input contains a secret (github-pat) at $.config.headers[1].authorization"
    )
    assert findings(verdict) == [
        {
            "pattern_id": "github-pat",
            "path": "$.config.headers[1].authorization",
            "redacted": "ghp_[REDACTED:github-pat]",
        }
    ]
    assert_no_raw_secret(verdict, GITHUB_TOKEN)


async def test_every_finding_is_reported_and_the_first_names_the_rule() -> None:
    args = {"aws": AWS_KEY, "list": ["x", {"gh": GITHUB_TOKEN}]}
    verdict = await check(stage(), TOOL, args)
    assert verdict.rule == "secret.aws-access-key-id"
    assert verdict.reason == "input contains a secret (aws-access-key-id) at $.aws"
    assert [(f["pattern_id"], f["path"]) for f in findings(verdict)] == [
        ("aws-access-key-id", "$.aws"),
        ("github-pat", "$.list[1].gh"),
    ]
    assert verdict.details["finding_count"] == 2
    assert_no_raw_secret(verdict, AWS_KEY, GITHUB_TOKEN)


async def test_a_secret_used_as_an_object_key_is_found() -> None:
    verdict = await check(stage(), TOOL, {"tokens": {GITHUB_TOKEN: "primary"}})
    assert verdict.rule == "secret.github-pat"
    finding = findings(verdict)[0]
    assert finding["redacted"] == "ghp_[REDACTED:github-pat]"
    assert finding["path"].startswith("$.tokens")
    assert_no_raw_secret(verdict, GITHUB_TOKEN)


async def test_reported_findings_are_capped_but_counted() -> None:
    keys = ["AK" + "IA" + _chars(UPPER, 16) for _ in range(15)]
    verdict = await check(stage(), TOOL, {"keys": keys})
    assert verdict.details["finding_count"] == 15
    assert len(findings(verdict)) == 10
    assert [f["path"] for f in findings(verdict)] == [f"$.keys[{i}]" for i in range(10)]
    assert_no_raw_secret(verdict, *keys)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "please summarise the attached design document",
        {"query": "select 1", "limit": 10, "ids": ["3f2b8c1e-9a4d-4e2b-8f7a-1c2d3e4f5a6b"]},
        "the key is sk-... and YOUR_API_KEY goes here",
        [1, 2.5, True, None],
    ],
)
async def test_clean_input_is_allowed(data: object) -> None:
    assert (await check(stage(), TOOL, data)).verdict is Verdict.ALLOW


@pytest.mark.parametrize(
    ("min_confidence", "denied"),
    [
        ("low", {"entropy", "password", "aws"}),
        ("medium", {"password", "aws"}),
        ("high", {"aws"}),
    ],
)
async def test_min_confidence_filters_weaker_findings(
    min_confidence: str, denied: set[str]
) -> None:
    s = stage(min_confidence)
    cases = {
        "entropy": ("high-entropy-string", f"session blob {RANDOM_TOKEN} attached"),
        "password": ("generic-password", f'db_password = "{PASSWORD}"'),
        "aws": ("aws-access-key-id", f"key {AWS_KEY}"),
    }
    for name, (pattern_id, text) in cases.items():
        verdict = await check(s, PROMPT, text)
        if name in denied:
            assert verdict.verdict is Verdict.DENY, (name, verdict)
            assert verdict.rule == f"secret.{pattern_id}"
        else:
            assert verdict.verdict is Verdict.ALLOW, (name, verdict)


async def test_weaker_findings_are_dropped_from_the_report_not_just_the_decision() -> None:
    verdict = await check(stage("high"), PROMPT, f"{RANDOM_TOKEN} and {AWS_KEY}")
    assert verdict.rule == "secret.aws-access-key-id"
    assert [f["pattern_id"] for f in findings(verdict)] == ["aws-access-key-id"]
    assert verdict.details["finding_count"] == 1


async def test_scanner_settings_apply_allowlist_and_extra_patterns() -> None:
    scanner = SecretScanner(
        ScannerSettings.model_validate(
            {
                "allowlist": [AWS_KEY],
                "extra_patterns": [{"id": "acme-token", "regex": r"acme_[a-z0-9]{24}"}],
            }
        )
    )
    s = stage(scanner=scanner)
    assert (await check(s, PROMPT, f"documented example key {AWS_KEY}")).verdict is (Verdict.ALLOW)
    internal = "acme_" + _chars(string.ascii_lowercase + string.digits, 24)
    verdict = await check(s, TOOL, {"env": {"ACME": internal}})
    assert verdict.rule == "secret.acme-token"
    assert findings(verdict)[0]["path"] == "$.env.ACME"
    assert_no_raw_secret(verdict, internal)
