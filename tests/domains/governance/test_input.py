"""One walk over a governed input's strings per evaluation, shared by the secret scan and
the blocklist, and never remembered beyond it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from bastion.domains.governance import (
    BlocklistSettings,
    GovernanceSettings,
    PolicyEngine,
    _input,
    build_governance,
)
from bastion.domains.governance._blocklist import BlocklistStage
from bastion.infra.ratelimit import RateLimitSettings
from bastion.infra.scanner import collect_strings
from bastion.kernel.context import RequestContext
from bastion.kernel.policy import PolicyContext, PolicyTarget, StageVerdict, TargetType
from tests.support.principals import jwt_principal

BLOCK_DROP = {"content": [{"id": "drop", "literal": "drop table", "targets": ["tool"]}]}
CALL = PolicyTarget(TargetType.TOOL, server="db", tool="query")


def principal() -> RequestContext:
    return jwt_principal(trace="trace-input")


def engine(**extra: Any) -> PolicyEngine:
    settings = GovernanceSettings.model_validate(
        {"policies": ["secret_scan", "blocklist"], "blocklist": BLOCK_DROP, **extra}
    )
    return build_governance(settings, RateLimitSettings()).engine


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every input ``input_strings`` walks."""
    walked: list[object] = []
    collect: Callable[[object], Any] = collect_strings

    def counting(value: object) -> Any:
        walked.append(value)
        return collect(value)

    monkeypatch.setattr(_input, "collect_strings", counting)
    return walked


async def test_the_secret_scan_and_the_blocklist_share_one_walk(walks: list[object]) -> None:
    arguments = {"sql": "select 1", "note": "nightly"}
    decision = await engine().evaluate(PolicyContext(principal(), CALL, arguments))
    assert decision.allowed
    assert walks == [arguments]


async def test_a_context_evaluated_again_is_walked_again(walks: list[object]) -> None:
    arguments: dict[str, object] = {"sql": "select 1"}
    context = PolicyContext(principal(), CALL, arguments)
    chain = engine()
    assert (await chain.evaluate(context)).allowed
    arguments["sql"] = "DROP TABLE invoices"
    denied = await chain.evaluate(context)
    assert (denied.stage, denied.rule) == ("blocklist", "blocklist.drop")
    assert len(walks) == 2


async def test_a_stage_used_on_its_own_never_remembers(walks: list[object]) -> None:
    stage = BlocklistStage(BlocklistSettings.model_validate(BLOCK_DROP))
    arguments: dict[str, object] = {"sql": "select 1"}
    context = PolicyContext(principal(), CALL, arguments)
    assert stage.evaluate(context).verdict.value == "allow"
    arguments["sql"] = "drop table invoices"
    assert stage.evaluate(context).rule == "blocklist.drop"
    assert len(walks) == 2


class Pause:
    """An awaiting stage between the two: each evaluation waits there for its release."""

    name = "pause"

    def __init__(self) -> None:
        self.arrived: dict[str, asyncio.Event] = {"a": asyncio.Event(), "b": asyncio.Event()}
        self.release: dict[str, asyncio.Event] = {"a": asyncio.Event(), "b": asyncio.Event()}

    async def evaluate(self, context: PolicyContext) -> StageVerdict:
        assert isinstance(context.input, dict)
        who = context.input["who"]
        self.arrived[who].set()
        await self.release[who].wait()
        return StageVerdict.allow()


async def test_an_evaluation_interleaved_at_an_await_keeps_its_own_strings() -> None:
    # a is walked by the secret scan and waits; b starts, is walked and waits too. When a
    # goes on to the blocklist, what is remembered belongs to b: a must be walked again.
    pause = Pause()
    settings = GovernanceSettings.model_validate(
        {"policies": ["secret_scan", "pause", "blocklist"], "blocklist": BLOCK_DROP}
    )
    chain = build_governance(settings, RateLimitSettings(), {"ext": [pause]}).engine
    a = asyncio.create_task(
        chain.evaluate(PolicyContext(principal(), CALL, {"who": "a", "sql": "drop table x"}))
    )
    await pause.arrived["a"].wait()
    b = asyncio.create_task(
        chain.evaluate(PolicyContext(principal(), CALL, {"who": "b", "sql": "select 1"}))
    )
    await pause.arrived["b"].wait()
    pause.release["a"].set()
    assert (await a).rule == "blocklist.drop"
    pause.release["b"].set()
    assert (await b).allowed
