"""What each report counts: its table, its dimensions as SQL expressions, its figures.

``usage`` reads ``ai_requests``, ``denials`` the ``governance_decisions`` that denied,
``tools`` ``mcp_tool_executions``. A dimension a table does not record is refused with a
hint at the report that has it, never silently grouped as null.

``agent`` is the A2A agent whose task made the call (``agent_id``) in ``usage`` and
``tools``. In ``denials`` it is that agent too, for any target, and for a decision made
outside a task, the agent a refused invocation named: a decision whose target is the
agent itself has ``target_name == agent_id`` anyway, and a refused call from one agent's
task to another agent counts under the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Float, Table, case, cast, func, literal, literal_column
from sqlalchemy.sql.elements import ColumnElement

from bastion.domains.analytics._histogram import LATENCY_BOUNDS, OVERHEAD_BOUNDS
from bastion.domains.analytics._tables import ai_requests, mcp_tool_executions
from bastion.infra.audit import governance_decisions
from bastion.kernel.analytics import TIME_DIMENSIONS, Report

_ZERO: ColumnElement[Any] = literal(0, BigInteger)


@dataclass(frozen=True, slots=True)
class Source:
    report: Report
    table: Table
    dimensions: Mapping[str, ColumnElement[Any]]
    # Each a per-row 0/1 (or a count) summed per group.
    allowed: ColumnElement[Any]
    denied: ColumnElement[Any]
    errors: ColumnElement[Any]
    tokens: tuple[ColumnElement[Any], ...]  # input, output, cache read, cache write, cost
    latency_ms: ColumnElement[Any]
    overhead_ms: ColumnElement[Any]
    where: ColumnElement[bool] | None = None

    @property
    def created_at(self) -> ColumnElement[Any]:
        return self.table.c.created_at

    def dimension(self, name: str) -> ColumnElement[Any]:
        return self.dimensions[name]

    def knows(self, name: str) -> bool:
        return name in self.dimensions or name in TIME_DIMENSIONS


def _flag(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return case((condition, 1), else_=0)


def _usage() -> Source:
    t = ai_requests
    outcome = t.c.outcome
    return Source(
        Report.USAGE,
        t,
        {
            "model": t.c.requested_model,
            "provider": t.c.provider,
            "route": t.c.route,
            "user": t.c.user_id,
            "tenant": t.c.tenant_id,
            "api_key": t.c.api_key_id,
            "client": t.c.client_id,
            "agent": t.c.agent_id,
        },
        allowed=_flag(outcome == "success"),
        denied=_flag(outcome == "denied"),
        errors=_flag(outcome.not_in(("success", "denied"))),
        tokens=(
            t.c.input_tokens,
            t.c.output_tokens,
            t.c.cache_read_tokens,
            t.c.cache_write_tokens,
            t.c.cost_microdollars,
        ),
        latency_ms=t.c.latency_ms,
        overhead_ms=t.c.overhead_ms,
    )


def _denials() -> Source:
    t = governance_decisions
    duration_ms = cast(t.c.duration_us, Float) / 1000.0
    return Source(
        Report.DENIALS,
        t,
        {
            "rule": t.c.rule,
            "stage": t.c.stage,
            "user": t.c.user_id,
            "tenant": t.c.tenant_id,
            "api_key": t.c.api_key_id,
            "client": t.c.client_id,
            "target": t.c.target_type,
            "mcp_server": t.c.target_server,
            "tool": case((t.c.target_type == "tool", t.c.target_name), else_=None),
            "agent": func.coalesce(
                t.c.agent_id, case((t.c.target_type == "agent", t.c.target_name), else_=None)
            ),
            "route": case((t.c.target_type == "route", t.c.target_name), else_=None),
        },
        allowed=_ZERO,
        denied=literal(1, BigInteger),
        errors=_ZERO,
        tokens=(_ZERO,) * 5,
        # A decision is all Bastion's own time.
        latency_ms=duration_ms,
        overhead_ms=duration_ms,
        where=t.c.decision == "deny",
    )


def _tools() -> Source:
    t = mcp_tool_executions
    status = t.c.status
    return Source(
        Report.TOOLS,
        t,
        {
            "mcp_server": t.c.server,
            "tool": t.c.tool,
            "method": t.c.method,
            "rule": t.c.rule,
            "stage": t.c.stage,
            "user": t.c.user_id,
            "tenant": t.c.tenant_id,
            "api_key": t.c.api_key_id,
            "client": t.c.client_id,
            "agent": t.c.agent_id,
        },
        allowed=_flag(status == "success"),
        denied=_flag(status == "denied"),
        errors=_flag(status.not_in(("success", "denied"))),
        tokens=(_ZERO,) * 5,
        latency_ms=t.c.duration_ms,
        # What the upstream server did not spend; all of it for a call never sent.
        overhead_ms=t.c.duration_ms - func.coalesce(t.c.upstream_ms, 0.0),
    )


SOURCES: Mapping[Report, Source] = {
    Report.USAGE: _usage(),
    Report.DENIALS: _denials(),
    Report.TOOLS: _tools(),
}


def epoch_hour(column: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """Whole hours since the epoch (UTC) of a timestamp column, as an integer."""
    if dialect == "sqlite":
        # Stored as 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC; '%s' needs no fraction.
        seconds = cast(func.strftime("%s", func.substr(column, 1, 19)), BigInteger)
        return seconds // 3600
    return cast(func.floor(func.extract("epoch", column) / 3600), BigInteger)


def histogram_sums(
    value: ColumnElement[Any], bounds: tuple[float, ...]
) -> list[ColumnElement[Any]]:
    """Per bound, how many rows of the group have ``value <= bound`` (a cumulative
    histogram). The bounds are the module's constants, inlined as SQL literals."""
    return [func.sum(case((value <= literal_column(repr(b)), 1), else_=0)) for b in bounds]


def figures(source: Source) -> list[ColumnElement[Any]]:
    """The aggregate columns of a raw query, in the rollup table's column order."""
    return [
        func.count(),
        func.sum(source.allowed),
        func.sum(source.denied),
        func.sum(source.errors),
        *(func.coalesce(func.sum(token), 0) for token in source.tokens),
        *histogram_sums(source.latency_ms, LATENCY_BOUNDS),
        *histogram_sums(source.overhead_ms, OVERHEAD_BOUNDS),
    ]
