"""Pathological admin regexes on large prompts: ``python -m bench.governance_cost``.

Each row runs the default chain (secret scan, then a blocklist holding the one rule) with
``governance.time_budget_ms: 250`` once on a large prompt, against the baseline of what
the blocklist did before issue 14: one capturing RE2 search of the rule (its named-group
alternation) over the same text. Single runs of calls costing tens to hundreds of
milliseconds; the inputs come from a seeded random source.
"""

from __future__ import annotations

import asyncio
import random
import time

import re2

from bastion.domains.governance import GovernanceSettings, build_governance
from bastion.infra.ratelimit import RateLimitSettings
from bastion.kernel.policy import PolicyContext, PolicyTarget, TargetType
from bench._support import cli
from bench.governance import PRINCIPAL

BUDGET_MS = 250


def _cases() -> list[tuple[str, str, str]]:
    rng = random.Random(5)
    ab = "".join(rng.choice("ab") for _ in range(4 << 20))
    letters = "".join(rng.choice("abcdefghij klmnop") for _ in range(1 << 20))
    return [
        (r"a[ab]{20}c", "4 MB of a/b (the DFA thrashes)", ab),
        (r"(.*a){20}", "1 MB of letters (matches)", letters),
        (r"(.*a){20}", "1 MB without an a", "x" * (1 << 20)),
    ]


async def run() -> list[list[str]]:
    rows = []
    for rule, label, text in _cases():
        settings = GovernanceSettings.model_validate(
            {"time_budget_ms": BUDGET_MS, "blocklist": {"content": [{"id": "r", "regex": rule}]}}
        )
        governance = build_governance(settings, RateLimitSettings())
        context = PolicyContext(PRINCIPAL, PolicyTarget(TargetType.PROMPT), text)
        started = time.perf_counter()
        decision = await governance.engine.evaluate(context, record=False)
        chain_ms = (time.perf_counter() - started) * 1000
        await governance.aclose()
        blocklist = next(t.duration_us for t in decision.trace if t.stage == "blocklist") / 1000
        options = re2.Options()
        options.log_errors = False
        baseline = re2.compile(f"(?P<bastion_rule_0>{rule})", options)
        started = time.perf_counter()
        baseline.search(text)
        baseline_ms = (time.perf_counter() - started) * 1000
        outcome = "allow" if decision.allowed else f"deny {decision.rule}"
        rows.append(
            [
                f"`{rule}`",
                label,
                f"{chain_ms:.0f}",
                outcome,
                f"{blocklist:.1f}",
                f"{baseline_ms:.0f}",
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    cli.parser("bench.governance_cost", __doc__).parse_args(argv)
    head = ["rule", "input", "chain ms", "decision", "blocklist stage ms"]
    print(
        "\n".join(cli.table([*head, "baseline: capturing search ms"], asyncio.run(run()), "llrlr"))
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
