"""Rows for the analytics tests, inserted into the real audit tables, and the expected
figures computed from the same rows in Python."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.analytics import AnalyticsExtension
from bastion.domains.core import CoreExtension
from bastion.domains.gateway import GatewayExtension
from bastion.domains.gateway._records import ai_requests
from bastion.domains.mcp import McpExtension
from bastion.domains.mcp._records import mcp_tool_executions
from bastion.infra.audit import governance_decisions
from bastion.kernel.ledger import MigrationLedger, PlannedMigration

TENANTS = {"acme": ["usr_ann", "usr_bob"], "globex": ["usr_cyd"], "initech": ["usr_dee"]}
MODELS = {
    "claude-sonnet-4-5": ("anthropic", "claude"),
    "gpt-4o": ("openai", "gpt"),
    "gemini-2.5-pro": ("gemini", "gemini"),
}
CLIENTS = ("claude-code", "sdk", None)
# The A2A agent whose task made the call, or none (most rows: a person's own requests).
AGENTS = ("triage", "coder", None, None)
OUTCOMES = ("success",) * 6 + ("denied", "error", "cancelled")


async def migrate(engine: AsyncEngine) -> None:
    plan = [
        PlannedMigration(ext.meta.id, m)
        for ext in (CoreExtension(), GatewayExtension(), McpExtension(), AnalyticsExtension())
        for m in ext.migrations()
    ]
    await MigrationLedger(engine).migrate(plan)


def _user_of(rng: random.Random) -> tuple[str, str]:
    tenant = rng.choice(sorted(TENANTS))
    return tenant, rng.choice(TENANTS[tenant])


def _task(agent: str | None) -> dict[str, str | None]:
    """The task columns of a row ``agent``'s task made (all null for no agent)."""
    if agent is None:
        return {"agent_id": None, "task_id": None, "context_id": None}
    return {"agent_id": agent, "task_id": uuid.uuid4().hex, "context_id": uuid.uuid4().hex}


def usage_row(rng: random.Random, at: dt.datetime) -> dict[str, Any]:
    tenant, user = _user_of(rng)
    model = rng.choice(sorted(MODELS))
    provider, route = MODELS[model]
    outcome = rng.choice(OUTCOMES)
    served = outcome == "success"
    latency = rng.lognormvariate(5.5, 1.0)  # ms, median ~250
    overhead = rng.lognormvariate(-0.5, 0.6)
    return {
        "id": uuid.uuid4().hex,
        "trace_id": uuid.uuid4().hex,
        "user_id": user,
        "tenant_id": tenant,
        "session_id": None,
        "client_id": rng.choice(CLIENTS),
        "api_key_id": f"key_{user[4:]}",
        **_task(rng.choice(AGENTS)),
        "ingress": "anthropic",
        "requested_model": model,
        "route": route,
        "provider": provider,
        "upstream_model": model,
        "streaming": False,
        "status": 200 if served else 403,
        "outcome": outcome,
        "input_tokens": rng.randint(10, 5000) if served else 0,
        "output_tokens": rng.randint(1, 2000) if served else 0,
        "cache_read_tokens": rng.randint(0, 300) if served else 0,
        "cache_write_tokens": rng.randint(0, 100) if served else 0,
        "cost_microdollars": rng.randint(0, 50_000) if served else 0,
        "latency_ms": round(latency, 3),
        "ttfb_ms": None,
        "overhead_ms": round(overhead, 3),
        "attempts": 1,
        "error": None,
        "response_findings": None,
        "request_sha256": None,
        "prompt": None,
        "created_at": at,
    }


def decision_row(rng: random.Random, at: dt.datetime) -> dict[str, Any]:
    tenant, user = _user_of(rng)
    kind = rng.choice(("tool", "agent", "route", "prompt"))
    denied = rng.random() < 0.6
    # An agent invocation is refused to a person (no task), to the agent's own task, or
    # to another agent's task; any other decision is made in a task or not.
    agent = rng.choice((None, "triage", "coder")) if kind == "agent" else rng.choice(AGENTS)
    return {
        "id": uuid.uuid4().hex,
        "trace_id": uuid.uuid4().hex,
        "session_id": None,
        "user_id": user,
        "tenant_id": tenant,
        "api_key_id": f"key_{user[4:]}",
        "client_id": rng.choice(CLIENTS),
        **_task(agent),
        "tier": "user",
        "target_type": kind,
        "target_server": "files" if kind == "tool" else None,
        "target_name": {
            "tool": rng.choice(("read", "write")),
            "agent": "triage",
            "route": "claude",
            "prompt": None,
        }[kind],
        "decision": "deny" if denied else "allow",
        "stage": rng.choice(("blocklist", "secret_scan", "scope")) if denied else None,
        "rule": rng.choice(("no-rm", "aws-key", "acl")) if denied else None,
        "reason": "denied" if denied else None,
        "trace": [],
        "duration_us": rng.randint(20, 5000),
        "created_at": at,
    }


def tool_row(rng: random.Random, at: dt.datetime) -> dict[str, Any]:
    tenant, user = _user_of(rng)
    status = rng.choice(("success", "success", "success", "denied", "error", "timeout"))
    duration = rng.lognormvariate(3, 1)
    sent = status in ("success", "error", "timeout")
    return {
        "id": uuid.uuid4().hex,
        "trace_id": uuid.uuid4().hex,
        "user_id": user,
        "tenant_id": tenant,
        "api_key_id": f"key_{user[4:]}",
        "client_id": rng.choice(CLIENTS),
        **_task(rng.choice(AGENTS)),
        "session_id": None,
        "mcp_session_id": None,
        "server": rng.choice(("files", "search")),
        "method": "tools/call",
        "tool": rng.choice(("read", "write", "grep")),
        "arguments_sha256": "0" * 64,
        "status": status,
        "stage": "blocklist" if status == "denied" else None,
        "rule": "no-rm" if status == "denied" else None,
        "reason": None,
        "protocol_version": "2025-06-18",
        "duration_ms": round(duration, 3),
        "upstream_ms": round(duration * 0.8, 3) if sent else None,
        "result_findings": None,
        "created_at": at,
    }


@dataclass
class Seeded:
    usage: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    tools: list[dict[str, Any]]


def moments(rng: random.Random, start: dt.datetime, end: dt.datetime, n: int) -> list[dt.datetime]:
    span = (end - start).total_seconds()
    return [start + dt.timedelta(seconds=rng.random() * span) for _ in range(n)]


async def insert(engine: AsyncEngine, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        async with engine.begin() as conn:
            await conn.execute(table.insert(), list(rows))


async def seed(engine: AsyncEngine, start: dt.datetime, end: dt.datetime, n: int = 600) -> Seeded:
    rng = random.Random(15)
    seeded = Seeded(
        [usage_row(rng, at) for at in moments(rng, start, end, n)],
        [decision_row(rng, at) for at in moments(rng, start, end, n // 2)],
        [tool_row(rng, at) for at in moments(rng, start, end, n // 2)],
    )
    await insert(engine, ai_requests, seeded.usage)
    await insert(engine, governance_decisions, seeded.decisions)
    await insert(engine, mcp_tool_executions, seeded.tools)
    return seeded


# -- the expected figures -----------------------------------------------------------------


def _hour(at: dt.datetime) -> str:
    return at.replace(minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(at: dt.datetime) -> str:
    return at.replace(hour=0, minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


USAGE_KEYS: Mapping[str, Callable[[dict[str, Any]], str | None]] = {
    "model": lambda r: r["requested_model"],
    "provider": lambda r: r["provider"],
    "route": lambda r: r["route"],
    "user": lambda r: r["user_id"],
    "tenant": lambda r: r["tenant_id"],
    "api_key": lambda r: r["api_key_id"],
    "client": lambda r: r["client_id"],
    "agent": lambda r: r["agent_id"],
    "hour": lambda r: _hour(r["created_at"]),
    "day": lambda r: _day(r["created_at"]),
}


def denial_agent(r: dict[str, Any]) -> str | None:
    """The agent a denial counts under: its task's, else the refused invocation's."""
    if r["agent_id"] is not None:
        return str(r["agent_id"])
    return r["target_name"] if r["target_type"] == "agent" else None


DENIAL_KEYS: Mapping[str, Callable[[dict[str, Any]], str | None]] = {
    "rule": lambda r: r["rule"],
    "stage": lambda r: r["stage"],
    "user": lambda r: r["user_id"],
    "tenant": lambda r: r["tenant_id"],
    "api_key": lambda r: r["api_key_id"],
    "client": lambda r: r["client_id"],
    "target": lambda r: r["target_type"],
    "mcp_server": lambda r: r["target_server"],
    "tool": lambda r: r["target_name"] if r["target_type"] == "tool" else None,
    "agent": denial_agent,
    "route": lambda r: r["target_name"] if r["target_type"] == "route" else None,
    "hour": lambda r: _hour(r["created_at"]),
    "day": lambda r: _day(r["created_at"]),
}

TOOL_KEYS: Mapping[str, Callable[[dict[str, Any]], str | None]] = {
    "mcp_server": lambda r: r["server"],
    "tool": lambda r: r["tool"],
    "method": lambda r: r["method"],
    "rule": lambda r: r["rule"],
    "stage": lambda r: r["stage"],
    "user": lambda r: r["user_id"],
    "tenant": lambda r: r["tenant_id"],
    "api_key": lambda r: r["api_key_id"],
    "client": lambda r: r["client_id"],
    "agent": lambda r: r["agent_id"],
    "hour": lambda r: _hour(r["created_at"]),
    "day": lambda r: _day(r["created_at"]),
}


def expected_usage(
    rows: Iterable[dict[str, Any]], group_by: Sequence[str]
) -> dict[tuple[str | None, ...], dict[str, int]]:
    out: dict[tuple[str | None, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        key = tuple(USAGE_KEYS[g](r) for g in group_by)
        figures = out[key]
        figures["requests"] += 1
        figures["allowed"] += r["outcome"] == "success"
        figures["denied"] += r["outcome"] == "denied"
        figures["errors"] += r["outcome"] not in ("success", "denied")
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "cost_microdollars",
        ):
            figures[name] += r[name]
    return {k: dict(v) for k, v in out.items()}


def expected_counts(
    rows: Iterable[dict[str, Any]],
    keys: Mapping[str, Callable[[dict[str, Any]], str | None]],
    group_by: Sequence[str],
    status: Callable[[dict[str, Any]], str],
) -> dict[tuple[str | None, ...], dict[str, int]]:
    out: dict[tuple[str | None, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        figures = out[tuple(keys[g](r) for g in group_by)]
        figures["requests"] += 1
        kind = status(r)
        figures["allowed"] += kind == "allowed"
        figures["denied"] += kind == "denied"
        figures["errors"] += kind == "error"
    return {k: dict(v) for k, v in out.items()}
