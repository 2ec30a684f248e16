"""Bounded governance cost: admin regexes over the RE2 program-size limit stop the boot,
and a chain that runs past ``governance.time_budget_ms`` denies (fail closed) with rule
``governance.time_budget``, inside a long blocklist scan too, and the decision is
recorded."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bastion.domains.governance import PolicyEngine
from bastion.infra.audit import governance_decisions
from bastion.infra.config import load_profile
from bastion.infra.db import create_engine
from bastion.infra.scanner import MAX_PROGRAM_SIZE
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.errors import ExtensionConfigError
from bastion.kernel.governance import GOVERNANCE
from bastion.kernel.ids import RoleName, TenantId, TraceId, UserId
from bastion.kernel.policy import PolicyContext, PolicyTarget, StageVerdict, TargetType, Verdict
from bastion.kernel.tiers import Tier
from bastion.runtime import namespaces
from bastion.runtime.boot import boot
from bastion.runtime.discovery import discover
from bastion.runtime.errors import BootError
from tests.support import write_profile

PROMPT = PolicyTarget(TargetType.PROMPT)
# Small program, but its DFA needs ~2^20 states over "ab" text: RE2 thrashes its state
# cache at about 1 µs per byte, so one pass over 4 MB took ~0.7 s before.
THRASHING_RULE = r"a[ab]{20}c"


def principal(trace: str = "trace-budget") -> RequestContext:
    return RequestContext(
        trace_id=TraceId(trace),
        tier=Tier.USER,
        auth_method=AuthMethod.JWT,
        user_id=UserId("usr_alice"),
        tenant_id=TenantId("acme"),
        role=RoleName("user"),
        scopes=frozenset({"llm:invoke", "mcp:call"}),
    )


class Slow:
    def __init__(self, name: str, seconds: float) -> None:
        self.name = name
        self.seconds = seconds
        self.calls = 0

    def evaluate(self, context: PolicyContext) -> StageVerdict:
        self.calls += 1
        time.sleep(self.seconds)
        return StageVerdict.allow()


async def test_a_chain_past_its_budget_denies_and_skips_the_rest() -> None:
    slow, after = Slow("slow", 0.03), Slow("after", 0)
    engine = PolicyEngine([Slow("fast", 0), slow, after], budget_ms=10)
    decision = await engine.evaluate(PolicyContext(principal(), PROMPT, "hi"))
    assert not decision.allowed
    assert (decision.stage, decision.rule) == ("slow", "governance.time_budget")
    assert decision.reason is not None
    assert decision.reason.startswith("governance time budget of 10 ms exceeded (")
    assert "when stage 'slow' finished); see governance.time_budget_ms" in decision.reason
    assert [(t.stage, t.result) for t in decision.trace] == [
        ("fast", Verdict.ALLOW),
        ("slow", Verdict.ALLOW),
        ("after", Verdict.SKIP),
    ]
    assert after.calls == 0


async def test_within_the_budget_or_without_one_the_chain_allows() -> None:
    stages = [Slow("a", 0.005), Slow("b", 0)]
    context = PolicyContext(principal(), PROMPT, "hi")
    assert (await PolicyEngine(stages, budget_ms=1000).evaluate(context)).allowed
    assert (await PolicyEngine(stages).evaluate(context)).allowed


def _profile(tmp_path: Path, governance: dict[str, Any], db_url: str | None = None) -> Path:
    url = db_url or f"sqlite+aiosqlite:///{tmp_path / 'bastion.db'}"
    return write_profile(tmp_path / "profile", url, {"governance": governance})


async def test_the_pathological_rule_on_a_large_prompt_is_denied_within_the_budget(
    tmp_path: Path, db_url: str
) -> None:
    budget_ms = 100
    governance = {
        "time_budget_ms": budget_ms,
        "blocklist": {"content": [{"id": "thrash", "regex": THRASHING_RULE}]},
    }
    rng = random.Random(5)
    prompt = "".join(rng.choice("ab") for _ in range(4 << 20))
    platform = await boot(load_profile(_profile(tmp_path, governance, db_url)))
    await platform.start(jobs=False)
    try:
        engine = platform.service(GOVERNANCE).engine
        started = time.perf_counter()
        decision = await engine.evaluate(PolicyContext(principal("t-budget"), PROMPT, prompt))
        elapsed = time.perf_counter() - started
        # A small prompt with the same rule is judged as before.
        small = await engine.evaluate(PolicyContext(principal("t-small"), PROMPT, "ab" * 500))
        hit = await engine.evaluate(PolicyContext(principal("t-hit"), PROMPT, "a" + "b" * 20 + "c"))
    finally:
        await platform.close()
    assert (decision.stage, decision.rule) == ("blocklist", "governance.time_budget")
    # The budget, plus at most one 64 KB window of the thrashing DFA (~65 ms), plus the
    # secret scan's own pass over the 4 MB before it (~15 ms), with room for a loaded box.
    assert elapsed < budget_ms / 1000 + 0.25, elapsed
    assert small.allowed
    assert hit.rule == "blocklist.thrash"

    db = create_engine(db_url)
    try:
        async with db.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        governance_decisions.c.trace_id,
                        governance_decisions.c.decision,
                        governance_decisions.c.stage,
                        governance_decisions.c.rule,
                    ).where(governance_decisions.c.trace_id == "t-budget")
                )
            ).all()
    finally:
        await db.dispose()
    assert [tuple(row) for row in rows] == [
        ("t-budget", "deny", "blocklist", "governance.time_budget")
    ]


async def test_a_blocklist_rule_over_the_program_size_limit_stops_the_boot(
    tmp_path: Path,
) -> None:
    rules = [{"id": "greedy", "regex": r"(.*a){50}"}]
    with pytest.raises(BootError) as caught:
        platform = await boot(load_profile(_profile(tmp_path, {"blocklist": {"content": rules}})))
        await platform.close()
    assert str(caught.value) == (
        "boot failed at configure: governance.blocklist.content rule 'greedy': the regex "
        f"compiles to an RE2 program of 554 instructions, over the limit of {MAX_PROGRAM_SIZE}; "
        "use smaller counted repetitions (`x{20}` is 20 copies of `x`) or split the rule"
    )


@pytest.mark.parametrize(
    ("scanner", "path"),
    [
        ({"extra_patterns": [{"id": "greedy", "regex": r"(.*a){50}"}]}, "extra_patterns[0].regex"),
        ({"allowlist_regexes": [r"(.*a){50}"]}, "allowlist_regexes"),
    ],
)
def test_a_scanner_regex_over_the_program_size_limit_fails_loading(
    tmp_path: Path, scanner: dict[str, Any], path: str
) -> None:
    profile = _profile(tmp_path, {"secret_scan": {"scanner": scanner}})
    loaded = load_profile(profile)  # the governance domain validates its namespace at boot
    with pytest.raises(ExtensionConfigError) as caught:
        namespaces.resolve(discover(loaded.profile), loaded.profile)
    message = str(caught.value)
    assert f"governance.secret_scan.scanner.{path}" in message
    assert f"RE2 program of 554 instructions, over the limit of {MAX_PROGRAM_SIZE}" in message
