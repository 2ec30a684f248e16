"""The five points of a trace: who called (identity), in which agent context, what
governance decided (permissions), which tools ran, and what came of it (result). One
reading of a trace's rows, shared by the console's trace view and ``bastion audit
trace``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

IDENTITY_FIELDS = ("user_id", "tenant_id", "tier", "role", "api_key_id")
AGENT_FIELDS = (
    "agent_id",
    "task_id",
    "context_id",
    "session_id",
    "client_id",
    "agent",
    "mcp_session_id",
)

POINTS = ("identity", "agent", "permissions", "tools", "result")
# The point each audit table's rows stand for; an A2A task's row is its agent context.
POINT_OF_TABLE: Mapping[str, str] = {
    "agent_tasks": "agent",
    "governance_decisions": "permissions",
    "mcp_tool_executions": "tools",
    "ai_requests": "result",
    "audit_events": "result",
}

Row = Mapping[str, Any]


def _first(rows: Sequence[Row], names: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for row in rows:
        for name in names:
            if row.get(name) is not None and name not in found:
                found[name] = row[name]
    return found


def trace_points(rows: Sequence[Row]) -> dict[str, Any]:
    """A trace's rows (each with its ``table``) as the five points: ``identity`` and
    ``agent`` the first value of each of their fields, the other three the rows of
    their tables in time order, ``other`` any row of a table not named here."""
    by_point: dict[str, list[Row]] = {point: [] for point in POINTS}
    other: list[Row] = []
    for row in rows:
        point = POINT_OF_TABLE.get(str(row.get("table")))
        (other if point is None else by_point[point]).append(row)
    agent = _first(rows, AGENT_FIELDS)
    if "agent_id" not in agent and by_point["agent"]:
        task = by_point["agent"][0]
        agent.update(agent_id=task.get("agent"), task_id=task.get("id"))
    return {
        "identity": _first(rows, IDENTITY_FIELDS),
        "agent": agent,
        "tasks": by_point["agent"],
        "permissions": by_point["permissions"],
        "tools": by_point["tools"],
        "result": by_point["result"],
        "other": other,
    }


__all__ = ["AGENT_FIELDS", "IDENTITY_FIELDS", "POINTS", "POINT_OF_TABLE", "trace_points"]
