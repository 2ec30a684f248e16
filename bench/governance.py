"""The governance chain in process: ``python -m bench.governance``.

The full default chain (scope_check with an ACL, secret_scan, blocklist with tool globs, a
literal and two RE2 rules, rate_limit on the in-process GCRA limiter, quota with one rule)
evaluated on realistic inputs built by ``bench.scanner`` from a seeded random source.
Each figure is the median of single ``await engine.evaluate(...)`` calls timed with
``perf_counter_ns`` on one event loop, after a warm-up; no decision sink is attached, so
this is the chain alone (the audit sink only enqueues; see ``bench.audit``). Then the
scanner alone on 100 KB (``bench.scanner``'s rows), and the targets.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from typing import Any

from bastion.domains.gateway._material import prompt_material
from bastion.domains.governance import GovernanceSettings, build_governance
from bastion.infra.ratelimit import RateLimitSettings
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.governance import Decision
from bastion.kernel.ids import RoleName, SessionId, TenantId, TraceId, UserId
from bastion.kernel.policy import PolicyContext, PolicyTarget, TargetType
from bastion.kernel.tiers import Tier
from bench._support import cli
from bench._support.launch import BLOCKLIST, QUOTA
from bench._support.measure import amedian_us
from bench.scanner import cases, prompt, request_json
from bench.scanner import rows as scan_rows

WARM_UP = 200
TARGET_CHAIN_US = 100.0
TARGET_SCAN_100K_US = 2000.0

SETTINGS = GovernanceSettings.model_validate(
    {
        "scope_check": {
            "acl": [
                {
                    "type": "tool",
                    "name": "github/*",
                    "rules": [{"effect": "allow", "role": "user"}],
                },
                {
                    "type": "route",
                    "name": "claude-*",
                    "rules": [
                        {"effect": "deny", "tenant": "contractors"},
                        {"effect": "allow", "role": "user"},
                    ],
                },
            ]
        },
        "blocklist": BLOCKLIST,
        "quota": QUOTA,
    }
)
# High enough that the benchmark never hits the limit: every call does the full GCRA work.
RATE_LIMITS = RateLimitSettings(requests_per_second=1e9)

PRINCIPAL = RequestContext(
    trace_id=TraceId("bench-trace"),
    tier=Tier.USER,
    auth_method=AuthMethod.JWT,
    user_id=UserId("usr_bench"),
    tenant_id=TenantId("acme"),
    role=RoleName("user"),
    scopes=frozenset({"llm:invoke", "mcp:call", "agents:read", "agents:invoke"}),
    session_id=SessionId("sess-bench"),
)


def _agent_request() -> dict[str, object]:
    """What a coding agent sends: a short turn, a system prompt of two text blocks and a
    dozen tool definitions with prose descriptions and JSON schemas, through the
    gateway's ``prompt_material`` (tools, metadata, the joined adjacent text blocks)."""
    text = prompt(12 * 1024, with_secrets=False)
    tools = [
        {
            "name": f"tool_{i}",
            "description": text[i * 700 : i * 700 + 600],
            "input_schema": {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Absolute path of the file."},
                    "pattern": {"type": "string", "description": "A glob such as **/*.py"},
                    "limit": {"type": "integer", "minimum": 1},
                },
                "required": ["path"],
                "additionalProperties": False,
            },
        }
        for i in range(12)
    ]
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "system": [
            {"type": "text", "text": text[9000:10000]},
            {"type": "text", "text": text[10000:10500]},
        ],
        "messages": [{"role": "user", "content": text[11000:11600]}],
        "tools": tools,
        "metadata": {"user_id": "user_3f2a_account_session_9c1d"},
    }
    return prompt_material(body)


def _inputs() -> dict[str, PolicyContext]:
    prompt_2k = prompt(2 * 1024, with_secrets=False)
    prompt_100k = prompt(100 * 1024, with_secrets=False)
    tool_args = {
        "repo": "acme/billing",
        "title": "Nightly export fails on the first of the month",
        "body": prompt(1800, with_secrets=False),
        "labels": ["bug", "billing", "p2"],
    }
    github = PolicyTarget(TargetType.TOOL, server="github", tool="create_issue")
    route = PolicyTarget(TargetType.ROUTE, name="claude-sonnet")
    return {
        "2 KB prompt, no secret": PolicyContext(
            PRINCIPAL, PolicyTarget(TargetType.PROMPT), prompt_2k
        ),
        "2 KB tool arguments (JSON), no secret": PolicyContext(PRINCIPAL, github, tool_args),
        "2 KB Messages request body (JSON)": PolicyContext(
            PRINCIPAL, route, request_json(prompt(1600, with_secrets=False))
        ),
        "Messages request with 12 tools and 2 adjacent text blocks, as the gateway "
        "governs it (JSON)": PolicyContext(PRINCIPAL, route, _agent_request()),
        "100 KB prompt, no secret": PolicyContext(
            PRINCIPAL, PolicyTarget(TargetType.PROMPT), prompt_100k
        ),
        "2 KB prompt with secrets (deny)": PolicyContext(
            PRINCIPAL, PolicyTarget(TargetType.PROMPT), prompt(2 * 1024)
        ),
    }


async def chain() -> tuple[list[list[Any]], float]:
    """A row per input: chars, decision, median µs and each stage's median; the 2 KB µs."""
    governance = build_governance(SETTINGS, RATE_LIMITS)
    rows: list[list[Any]] = []
    for label, context in _inputs().items():
        iterations = 300 if "100 KB" in label else 20_000
        decisions: list[Decision] = []

        async def op(context: PolicyContext = context, out: list[Decision] = decisions) -> None:
            out.append(await governance.engine.evaluate(context))

        us = await amedian_us(op, iterations, WARM_UP)
        per_stage: dict[str, list[float]] = {}
        for decision in decisions[-iterations:]:
            for entry in decision.trace:
                per_stage.setdefault(entry.stage, []).append(entry.duration_us)
        stages = ", ".join(f"{k} {statistics.median(v):.1f}" for k, v in per_stage.items())
        value = context.input
        chars = len(value) if isinstance(value, str) else len(json.dumps(value))
        rows.append([label, chars, decisions[-1].decision, f"{us:.1f}", stages])
    await governance.aclose()
    return rows, float(rows[0][3])


def main(argv: list[str] | None = None) -> int:
    cli.parser("bench.governance", __doc__).parse_args(argv)
    rows, chain_2k = asyncio.run(chain())
    big = [c for c in cases() if c[0] == "scan_text" and c[1].startswith("100 KB prompt")][:2]
    scans = scan_rows([(m, label, value, 500) for m, label, value, _ in big], WARM_UP // 4)
    scan_us = max(float(r[4]) for r in scans)
    checks = [
        ("full chain, 2 KB prompt", chain_2k, TARGET_CHAIN_US),
        ("scanner, 100 KB prompt", scan_us, TARGET_SCAN_100K_US),
    ]
    lines = [
        *cli.table(
            ["chain input", "chars", "decision", "median µs", "per stage median µs"], rows, "lrlrl"
        ),
        "",
        *cli.table(["scanner", "input", "chars", "findings", "median µs"], scans, "llr"),
        "",
        *cli.table(
            ["target", "measured", "limit", "met"],
            [
                (name, f"{us:.1f} µs", f"{limit:.0f} µs", "yes" if us < limit else "NO")
                for name, us, limit in checks
            ],
            "lrrl",
        ),
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
