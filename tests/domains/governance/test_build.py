"""Building the chain: a broken governance config fails the boot with one line and never
silently disables a stage; extension stages run exactly where ``governance.policies``
puts them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from bastion.domains.governance import GovernanceConfigError, GovernanceSettings, build_governance
from bastion.extension import (
    Extension,
    ExtensionMeta,
    PolicyContext,
    PolicyStage,
    PolicyTarget,
    StageVerdict,
    TargetType,
)
from bastion.infra.audit import governance_decisions
from bastion.infra.config import load_profile
from bastion.infra.ratelimit import RateLimitSettings
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.errors import ExtensionConfigError
from bastion.kernel.governance import GOVERNANCE
from bastion.kernel.ids import RoleName, TenantId, TraceId, UserId
from bastion.kernel.tiers import Tier
from bastion.runtime import namespaces
from bastion.runtime.boot import boot
from bastion.runtime.discovery import discover
from bastion.runtime.errors import BootError
from tests.support import write_profile

BASTION = str(Path(sys.executable).with_name("bastion"))
AVAILABLE = "blocklist, quota, rate_limit, scope_check, secret_scan"


class FenceStage:
    """Denies prompts that mention another tenant."""

    name = "tenant_fence"

    async def evaluate(self, context: PolicyContext) -> StageVerdict:
        if isinstance(context.input, str) and "globex" in context.input:
            return StageVerdict.deny("fence.cross_tenant", "mentions another tenant")
        return StageVerdict.allow()


class AuditStage:
    name = "dlp"

    async def evaluate(self, context: PolicyContext) -> StageVerdict:
        return StageVerdict.allow()


class Fence(Extension):
    meta = ExtensionMeta(id="fence", version="1.0.0")

    def policies(self) -> Sequence[PolicyStage]:
        return [FenceStage()]


class DlpA(Extension):
    meta = ExtensionMeta(id="dlp-a", version="1.0.0")

    def policies(self) -> Sequence[PolicyStage]:
        return [AuditStage()]


class DlpB(Extension):
    meta = ExtensionMeta(id="dlp-b", version="1.0.0")

    def policies(self) -> Sequence[PolicyStage]:
        return [AuditStage()]


class Shadow(Extension):
    """Tries to replace a built-in stage."""

    meta = ExtensionMeta(id="shadow", version="1.0.0")

    def policies(self) -> Sequence[PolicyStage]:
        stage = AuditStage()
        stage.name = "blocklist"
        return [stage]


def principal(trace: str = "trace-build") -> RequestContext:
    return RequestContext(
        trace_id=TraceId(trace),
        tier=Tier.USER,
        auth_method=AuthMethod.JWT,
        user_id=UserId("usr_alice"),
        tenant_id=TenantId("acme"),
        role=RoleName("user"),
        scopes=frozenset({"llm:invoke", "mcp:call"}),
    )


def settings(**values: Any) -> GovernanceSettings:
    return GovernanceSettings.model_validate(values)


# build_governance


def test_unknown_stage_in_policies_fails_the_build() -> None:
    with pytest.raises(GovernanceConfigError) as caught:
        build_governance(
            settings(policies=["scope_check", "secret_scna", "blocklist"]), RateLimitSettings()
        )
    assert str(caught.value) == (
        f"governance.policies: unknown stage 'secret_scna' (available: {AVAILABLE})"
    )


def test_contributed_stage_left_out_of_policies_fails_the_build() -> None:
    with pytest.raises(GovernanceConfigError) as caught:
        build_governance(settings(), RateLimitSettings(), {"fence": [FenceStage()]})
    assert str(caught.value) == (
        "governance.policies: stage 'tenant_fence' contributed by extension 'fence' is not "
        "placed; add it to governance.policies (and to governance.disabled to trace it as "
        "disabled)"
    )


def test_stage_contributed_twice_fails_the_build() -> None:
    policies = ["scope_check", "dlp"]
    with pytest.raises(GovernanceConfigError) as caught:
        build_governance(
            settings(policies=policies),
            RateLimitSettings(),
            {"dlp-a": [AuditStage()], "dlp-b": [AuditStage()]},
        )
    assert str(caught.value) == (
        "extension 'dlp-b' contributes governance stage 'dlp', which is already defined"
    )
    shadow = AuditStage()
    shadow.name = "blocklist"
    with pytest.raises(GovernanceConfigError, match="stage 'blocklist', which is already"):
        build_governance(settings(), RateLimitSettings(), {"shadow": [shadow]})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"policies": []}, "policies"),
        ({"policies": ["scope_check", "scope_check"]}, "stages listed twice: ['scope_check']"),
        ({"disabled": ["nonexistent"]}, "disabled stages not in policies: ['nonexistent']"),
        ({"blocklst": {}}, "blocklst"),
        ({"scope_check": {"acl": [{"type": "tool", "name": "x", "rules": []}]}}, "rules"),
        (
            {
                "scope_check": {
                    "acl": [{"type": "tool", "name": "x", "rules": [{"effect": "allow"}]}]
                }
            },
            "exactly one of user, role or tenant",
        ),
        ({"secret_scan": {"min_confidence": "paranoid"}}, "min_confidence"),
        ({"scope_check": {"requirements": {"prompt": {"min_tier": "root"}}}}, "min_tier"),
    ],
)
def test_invalid_governance_settings_are_rejected(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        GovernanceSettings.model_validate(values)


async def test_disabled_stage_is_traced_disabled_not_dropped() -> None:
    governance = build_governance(
        settings(disabled=["secret_scan"]), RateLimitSettings(requests_per_second=100)
    )
    decision = await governance.engine.evaluate(
        PolicyContext(principal(), PolicyTarget(TargetType.PROMPT), "hello")
    )
    await governance.aclose()
    assert [(t.stage, t.result.value) for t in decision.trace] == [
        ("scope_check", "allow"),
        ("secret_scan", "disabled"),
        ("blocklist", "allow"),
        ("rate_limit", "allow"),
        ("quota", "allow"),
    ]


# Through boot


def _profile(tmp_path: Path, governance: dict[str, Any], db_url: str | None = None) -> Path:
    url = db_url or f"sqlite+aiosqlite:///{tmp_path / 'bastion.db'}"
    return write_profile(tmp_path / "profile", url, {"governance": governance})


async def _boot_error(profile: Path, extra: Sequence[type[Extension]] = ()) -> str:
    with pytest.raises(BootError) as caught:
        platform = await boot(load_profile(profile), extra=extra, migrate=False)
        await platform.close()
    message = str(caught.value)
    assert "\n" not in message
    return message


async def test_boot_fails_on_an_unknown_stage(tmp_path: Path) -> None:
    profile = _profile(tmp_path, {"policies": ["scope_check", "dlp"]})
    assert await _boot_error(profile) == (
        "boot failed at configure: governance.policies: unknown stage 'dlp' "
        f"(available: {AVAILABLE})"
    )


async def test_boot_fails_on_an_unplaced_extension_stage(tmp_path: Path) -> None:
    profile = _profile(tmp_path, {})
    assert await _boot_error(profile, [Fence]) == (
        "boot failed at configure: governance.policies: stage 'tenant_fence' contributed by "
        "extension 'fence' is not placed; add it to governance.policies (and to "
        "governance.disabled to trace it as disabled)"
    )


async def test_boot_fails_on_a_stage_contributed_twice(tmp_path: Path) -> None:
    profile = _profile(tmp_path, {"policies": ["scope_check", "dlp"]})
    assert await _boot_error(profile, [DlpA, DlpB]) == (
        "boot failed at configure: extension 'dlp-b' contributes governance stage 'dlp', "
        "which is already defined"
    )
    assert "already defined" in await _boot_error(_profile(tmp_path / "shadow", {}), [Shadow])


async def test_boot_fails_on_an_invalid_re2_rule(tmp_path: Path) -> None:
    rules = [{"id": "repeat-word", "regex": r"(\w+) \1"}]
    profile = _profile(tmp_path, {"blocklist": {"content": rules}})
    message = await _boot_error(profile)
    assert message == (
        "boot failed at configure: governance.blocklist.content rule 'repeat-word': "
        "invalid RE2 regex: invalid escape sequence: \\1"
    )


def test_invalid_governance_block_fails_loading_with_the_key_path(tmp_path: Path) -> None:
    profile = _profile(tmp_path, {"disabled": ["rate_limt"]})
    loaded = load_profile(profile)  # the governance domain validates its namespace at boot
    with pytest.raises(ExtensionConfigError) as caught:
        namespaces.resolve(discover(loaded.profile), loaded.profile)
    assert "governance" in str(caught.value)
    assert "disabled stages not in policies: ['rate_limt']" in str(caught.value)


async def test_placed_extension_stage_runs_in_its_configured_position(
    tmp_path: Path, db_url: str
) -> None:
    order = ["scope_check", "tenant_fence", "secret_scan", "blocklist", "rate_limit", "quota"]
    profile = _profile(tmp_path, {"policies": order}, db_url)
    platform = await boot(load_profile(profile), extra=[Fence])
    await platform.start(jobs=False)
    try:
        engine = platform.service(GOVERNANCE).engine
        assert engine.stage_names == order
        target = PolicyTarget(TargetType.PROMPT)
        allowed = await engine.evaluate(PolicyContext(principal("t-allow"), target, "hi acme"))
        denied = await engine.evaluate(
            PolicyContext(principal("t-deny"), target, "compare with globex")
        )
    finally:
        await platform.close()
    assert [t.stage for t in allowed.trace] == order
    assert allowed.allowed
    assert (denied.stage, denied.rule, denied.reason) == (
        "tenant_fence",
        "fence.cross_tenant",
        "mentions another tenant",
    )
    assert [(t.stage, t.result.value) for t in denied.trace] == [
        ("scope_check", "allow"),
        ("tenant_fence", "deny"),
        ("secret_scan", "skip"),
        ("blocklist", "skip"),
        ("rate_limit", "skip"),
        ("quota", "skip"),
    ]
    # The recorded trace keeps the configured order too.
    from bastion.infra.db import create_engine

    db = create_engine(db_url)
    try:
        async with db.connect() as conn:
            rows = (
                await conn.execute(
                    select(governance_decisions.c.trace_id, governance_decisions.c.trace).order_by(
                        governance_decisions.c.trace_id
                    )
                )
            ).all()
    finally:
        await db.dispose()
    by_trace = {trace_id: trace for trace_id, trace in rows}
    assert set(by_trace) == {"t-allow", "t-deny"}
    assert [e["stage"] for e in by_trace["t-deny"]] == order
    assert by_trace["t-deny"][1] == {
        "stage": "tenant_fence",
        "result": "deny",
        "duration_us": by_trace["t-deny"][1]["duration_us"],
        "rule": "fence.cross_tenant",
    }


async def test_placed_and_disabled_extension_stage_is_traced_disabled(tmp_path: Path) -> None:
    profile = _profile(
        tmp_path,
        {"policies": ["tenant_fence", "scope_check"], "disabled": ["tenant_fence"]},
    )
    platform = await boot(load_profile(profile), extra=[Fence], migrate=False)
    try:
        decision = await platform.service(GOVERNANCE).engine.evaluate(
            PolicyContext(principal(), PolicyTarget(TargetType.PROMPT), "globex"), record=False
        )
    finally:
        await platform.close()
    assert decision.allowed
    assert [(t.stage, t.result.value) for t in decision.trace] == [
        ("tenant_fence", "disabled"),
        ("scope_check", "allow"),
    ]


# Through the real command


def _validate(profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BASTION, "--profile", str(profile), "config", "validate"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_config_validate_reports_a_broken_chain_in_one_line(tmp_path: Path) -> None:
    profile = _profile(tmp_path, {"policies": ["scope_check", "rate_limits"]})
    result = _validate(profile)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "error: boot failed at configure: governance.policies: unknown stage 'rate_limits' "
        f"(available: {AVAILABLE})"
    ]
    assert "Traceback" not in result.stderr


def test_config_validate_reports_a_bad_regex_in_services_governance_yaml(tmp_path: Path) -> None:
    profile = _profile(tmp_path, {})
    services = profile / "services"
    services.mkdir()
    rules = {"blocklist": {"content": [{"id": "lookahead", "regex": "secret(?=:)"}]}}
    (services / "governance.yaml").write_text(yaml.safe_dump(rules))
    result = _validate(profile)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines == [
        "error: boot failed at configure: governance.blocklist.content rule 'lookahead': "
        "invalid RE2 regex: invalid perl operator: (?="
    ]
    assert "Traceback" not in result.stderr


def test_config_validate_accepts_a_full_governance_block(tmp_path: Path) -> None:
    governance = {
        "policies": ["scope_check", "secret_scan", "blocklist", "rate_limit", "quota"],
        "disabled": ["quota"],
        "scope_check": {
            "admin_tool_prefixes": ["admin_"],
            "acl": [
                {"type": "tool", "name": "github/*", "rules": [{"effect": "allow", "role": "user"}]}
            ],
        },
        "secret_scan": {"min_confidence": "medium"},
        "blocklist": {
            "tools": [{"id": "no-shell", "pattern": "Bash", "exempt_tiers": ["admin"]}],
            "content": [{"id": "drop", "regex": r"(?i)drop\s+table", "targets": ["tool"]}],
        },
        "quota": {"rules": [{"subject": "user", "window": "1d", "limits": {"requests": 1000}}]},
    }
    result = _validate(_profile(tmp_path, governance))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("profile OK")
